package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts caches prepared statements by query text. Parsing and planning a
// statement is about a quarter of the CPU of a refresh on SQLite, and
// grantkit's queries are a fixed set, so each is prepared once per
// connection: database/sql prepares a cached *sql.Stmt on each connection
// the first time it runs there, in or out of a transaction
// (Tx.StmtContext), and modernc.org/sqlite resets rather than finalises a
// statement after each use.
//
// A statement is prepared in the background on first use, and that use runs
// unprepared: preparing on the *sql.DB needs a free connection, which a
// caller holding one in a transaction must not wait for (with MaxOpenConns
// 1 it would wait forever).
type stmts struct {
	db     *sql.DB
	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	m      sync.Map // query → *sql.Stmt, or preparing while in flight
}

// preparing marks a query whose statement is being prepared.
type preparing struct{}

func newStmts(db *sql.DB) *stmts {
	ctx, cancel := context.WithCancel(context.Background())
	return &stmts{db: db, ctx: ctx, cancel: cancel}
}

// get returns query's prepared statement, or nil (and starts preparing
// it) when there is none yet.
func (c *stmts) get(query string) *sql.Stmt {
	v, loaded := c.m.LoadOrStore(query, preparing{})
	if loaded {
		st, _ := v.(*sql.Stmt)
		return st
	}
	c.wg.Go(func() {
		st, err := c.db.PrepareContext(c.ctx, query)
		if err != nil {
			// The next use tries again: a query can fail to prepare
			// before Migrate has created its tables.
			c.m.Delete(query)
			return
		}
		c.m.Store(query, st)
	})
	return nil
}

// close stops preparing and closes every cached statement; call it before
// closing the database.
func (c *stmts) close() {
	c.cancel()
	c.wg.Wait()
	c.m.Range(func(_, v any) bool {
		if st, ok := v.(*sql.Stmt); ok {
			st.Close()
		}
		return true
	})
}
