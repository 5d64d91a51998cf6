package sqlstore

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grantkit/grantkit/store"
)

const clientCols = `id, name, secret_hash, redirect_uris, grant_types, response_types, scopes, dynamic, created_at, updated_at, deleted_at`

func scanClient(r Row) (store.Client, error) {
	var c store.Client
	err := r.Scan(&c.ID, &c.Name, bytesCol{&c.SecretHash}, listCol{&c.RedirectURIs}, listCol{&c.GrantTypes},
		listCol{&c.ResponseTypes}, listCol{&c.Scopes}, boolCol{&c.Dynamic}, timeCol{&c.CreatedAt},
		timeCol{&c.UpdatedAt}, timeCol{&c.DeletedAt})
	return c, err
}

// CreateClient implements store.Ops.
func (o *Ops) CreateClient(ctx context.Context, c store.Client) error {
	_, err := o.exec(ctx, o.d.SQL(`INSERT INTO {t}clients (`+clientCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`),
		c.ID, c.Name, nullBytes(c.SecretHash), list(c.RedirectURIs), list(c.GrantTypes), list(c.ResponseTypes),
		list(c.Scopes), c.Dynamic, o.now(c.CreatedAt), o.now(c.UpdatedAt), o.now(c.DeletedAt))
	return err
}

// GetClient implements store.Ops.
func (o *Ops) GetClient(ctx context.Context, id string) (store.Client, error) {
	return o.getClient(ctx, id, "")
}

// getClient reads client id, with a row-locking suffix inside a transaction.
func (o *Ops) getClient(ctx context.Context, id, suffix string) (store.Client, error) {
	if !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
		// No client has such an id, and PostgreSQL would refuse the
		// parameter rather than match nothing (client_id is caller input).
		return store.Client{}, store.ErrNotFound
	}
	return scanClient(o.q.QueryRow(ctx, o.d.SQL(`SELECT `+clientCols+` FROM {t}clients WHERE id = $1`+suffix), id))
}

// UpdateClient implements store.Ops.
func (o *Ops) UpdateClient(ctx context.Context, c store.Client) error {
	n, err := o.exec(ctx, o.d.SQL(`UPDATE {t}clients SET name = $2, secret_hash = $3, redirect_uris = $4,
		grant_types = $5, response_types = $6, scopes = $7, updated_at = $8
		WHERE id = $1 AND deleted_at IS NULL`),
		c.ID, c.Name, nullBytes(c.SecretHash), list(c.RedirectURIs), list(c.GrantTypes), list(c.ResponseTypes),
		list(c.Scopes), o.now(c.UpdatedAt))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

// DeleteClient implements store.Ops.
func (o *Ops) DeleteClient(ctx context.Context, id string, at time.Time) error {
	n, err := o.exec(ctx, o.d.SQL(`UPDATE {t}clients SET deleted_at = $2, updated_at = $2
		WHERE id = $1 AND deleted_at IS NULL`), id, o.now(at))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

// collect scans every row with scan and closes rows.
func collect[T any](rows Rows, scan func(Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
