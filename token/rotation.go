package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
)

// Refresh token revoke reasons.
const (
	reasonRotated = "rotated"
	// reasonRetried marks a successor revoked because its parent was
	// presented again within the reuse leeway.
	reasonRetried = "retried"
	reasonReused  = "reused"
)

// RefreshRequest is a refresh token request (RFC 6749 §6).
type RefreshRequest struct {
	ClientID     string
	ClientSecret string
	RefreshToken string
	// Scopes, when not empty, narrow the new access token; each must be
	// one of the grant's scopes.
	Scopes []string
	// Resource, when set, must be the grant's resource (RFC 8707 §2.2);
	// otherwise ErrInvalidTarget.
	Resource string
}

// Refresh implements RFC 6749 §6 with rotation (RFC 9700 §4.14.2). In one
// transaction holding a lock on the grant's row it finds the token,
// requires the grant active and the token unexpired (idle and absolute
// lifetimes), asks the host's liveness check, and rotates conditionally:
// the presented token is revoked only if it is still active, and its
// successor is inserted in the same family. A token that is revoked —
// presented again, or rotated by a concurrent request a moment earlier —
// is reuse: the family and, under RevokeGrant, the whole grant are
// revoked, refresh.reused is audited, and ErrReused returned. Of any number
// of concurrent refreshes with one token exactly one succeeds — with a
// ReuseLeeway, one more may succeed as the retry the leeway allows,
// whether or not it overlapped the first, and the family still keeps a
// single active token.
//
// The lock is shared (store.Tx.GetGrantForShare): a revocation of the grant
// waits for the refresh or is seen by it, while refreshes of the grant's
// other token families — one user's several client instances — rotate side
// by side instead of queueing. A transaction under the shared lock only
// ever rotates; a presentation that turns out to be reuse, which writes
// the grant, is rolled back and decided again under the exclusive lock.
func (s *Server) Refresh(ctx context.Context, r RefreshRequest) (Response, error) {
	client, err := s.authenticate(ctx, r.ClientID, r.ClientSecret, grant.GrantTypeRefreshToken)
	if err != nil {
		return Response{}, err
	}
	if r.RefreshToken == "" {
		return Response{}, fmt.Errorf("%w: refresh_token is required", grant.ErrInvalidRequest)
	}
	resp, reused, err := s.refresh(ctx, client, r, false)
	if errors.Is(err, errExclusive) {
		resp, reused, err = s.refresh(ctx, client, r, true)
	}
	if err != nil {
		if errors.Is(err, ErrNotLive) {
			s.grants.Observer().Observe(ctx, grant.Event{Type: grant.EventLivenessRefused, Reason: "not_live", Count: 1,
				ClientID: client.ID})
		}
		return Response{}, err
	}
	if reused {
		return Response{}, fmt.Errorf("%w: refresh token", ErrReused)
	}
	return resp, nil
}

// errExclusive rolls back a refresh under the grant's shared lock that
// must write more than the token family; Refresh runs it again under the
// exclusive lock.
var errExclusive = errors.New("token: refresh needs the grant's exclusive lock")

// refresh runs one refresh transaction for Refresh, under the grant's
// shared lock or, when exclusive, its exclusive lock. Under the shared lock
// it returns errExclusive, having written nothing, instead of answering
// reuse.
func (s *Server) refresh(ctx context.Context, client store.Client, r RefreshRequest, exclusive bool) (Response, bool, error) {
	hash := secret.Hash(r.RefreshToken)
	var (
		resp   Response
		reused bool
	)
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		resp, reused = Response{}, false
		now := s.grants.Now()
		t, err := tx.GetRefreshToken(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: unknown refresh token", ErrInvalidGrant)
		}
		if err != nil {
			return fmt.Errorf("token: reading refresh token: %w", err)
		}
		lock := tx.GetGrantForShare
		if exclusive {
			lock = tx.GetGrantForUpdate
		}
		g, err := lock(ctx, t.GrantID)
		if err != nil {
			return fmt.Errorf("token: locking grant: %w", err)
		}
		if g.ClientID != client.ID {
			return fmt.Errorf("%w: refresh token issued to another client", ErrInvalidGrant)
		}
		if r.Resource != "" && r.Resource != g.Resource {
			return fmt.Errorf("%w: resource differs from the grant's", ErrInvalidTarget)
		}
		if g.Status != store.GrantActive {
			if t.RevokeReason != reasonRotated || s.inLeeway(t, now) ||
				g.RevokeReason == grant.ReasonRefreshReused || g.RevokeReason == grant.ReasonCodeReused {
				// The family's head, revoked with its grant: its client
				// simply does not know yet; or a retry within the leeway,
				// which would have been accepted had the grant been alive;
				// or the incident that revoked the grant, already audited
				// and reported once (e.g. the losers of a burst of
				// concurrent replays).
				return fmt.Errorf("%w: grant is %s", ErrInvalidGrant, g.Status)
			}
			if !exclusive {
				return errExclusive
			}
			// A token rotated away and presented again is reuse even once
			// its grant is gone (RFC 9700 §4.14.2): audited and reported —
			// once per token, however often a leaked value is replayed —
			// with nothing left to revoke.
			reused = true
			_, err := s.recordReuse(ctx, tx, g, t, now)
			return err
		}
		var rotated bool
		resp, rotated, err = s.rotate(ctx, tx, g, t, r.Scopes, now)
		if err == nil && !rotated && t.Active() {
			// t was read before this request took the grant's lock, and a
			// concurrent refresh rotated it meanwhile: read it again, so a
			// retry within the leeway is told from reuse exactly as it is
			// when the two requests do not overlap.
			if t, err = tx.GetRefreshToken(ctx, hash); err != nil {
				return fmt.Errorf("token: reading refresh token: %w", err)
			}
			resp, rotated, err = s.rotate(ctx, tx, g, t, r.Scopes, now)
		}
		if err != nil {
			return err
		}
		if !rotated {
			if !exclusive {
				return errExclusive
			}
			reused = true
			return s.revokeForReuse(ctx, tx, g, t, now)
		}
		return nil
	})
	return resp, reused, err
}

// rotate rotates t — or, when t is revoked but may be presented again
// within the reuse leeway, the successor issued the first time — and
// returns the new token response. It returns false, having written
// nothing, when the presentation is reuse: t is revoked and not
// retryable, or the conditional rotation found the token already rotated
// by a concurrent request.
func (s *Server) rotate(ctx context.Context, tx store.Tx, g store.Grant, t store.RefreshToken, requested []string, now time.Time) (Response, bool, error) {
	old, reason := t, reasonRotated
	if !t.Active() {
		head, retry, err := s.retryable(ctx, tx, t, now)
		if err != nil || !retry {
			return Response{}, false, err
		}
		old, reason = head, reasonRetried
	}
	if old.Expired(now) {
		return Response{}, false, fmt.Errorf("%w: refresh token", ErrGrantExpired)
	}
	if err := s.checkLive(ctx, g); err != nil {
		return Response{}, false, err
	}
	scopes, err := narrow(g.Scopes, requested)
	if err != nil {
		return Response{}, false, err
	}
	next, raw := s.newRefresh(g, old, now)
	ok, err := tx.RotateRefreshToken(ctx, old.ID, reason, next)
	if err != nil {
		return Response{}, false, fmt.Errorf("token: rotating refresh token: %w", err)
	}
	if !ok {
		return Response{}, false, nil
	}
	resp, err := s.response(g, scopes, raw, now)
	if err != nil {
		return Response{}, false, err
	}
	return resp, true, nil
}

// retryable reports whether the revoked token t may be presented once more
// within the reuse leeway: it was rotated less than the leeway ago and its
// successor is still the family's only active token. It returns that
// successor, which the retry rotates, so the family never forks.
func (s *Server) retryable(ctx context.Context, tx store.Tx, t store.RefreshToken, now time.Time) (store.RefreshToken, bool, error) {
	if !s.inLeeway(t, now) {
		return store.RefreshToken{}, false, nil
	}
	head, err := tx.GetRefreshFamilyHead(ctx, t.FamilyID)
	if errors.Is(err, store.ErrNotFound) {
		return store.RefreshToken{}, false, nil
	}
	if err != nil {
		return store.RefreshToken{}, false, fmt.Errorf("token: reading refresh family: %w", err)
	}
	return head, head.ParentID == t.ID, nil
}

// inLeeway reports whether t was rotated less than ReuseLeeway ago, so
// presenting it again may be a network retry rather than reuse.
func (s *Server) inLeeway(t store.RefreshToken, now time.Time) bool {
	return s.cfg.ReuseLeeway > 0 && t.RevokeReason == reasonRotated && now.Sub(t.RevokedAt) < s.cfg.ReuseLeeway
}

// revokeForReuse answers reuse of token t: the family, and under
// RevokeGrant the grant through the cascade, are revoked, and
// refresh.reused (and family.revoked) audited, in tx; the events reach the
// observer after the commit.
func (s *Server) revokeForReuse(ctx context.Context, tx store.Tx, g store.Grant, t store.RefreshToken, now time.Time) error {
	first, err := s.recordReuse(ctx, tx, g, t, now)
	if err != nil {
		return err
	}
	revokedTokens, err := tx.RevokeRefreshFamily(ctx, t.FamilyID, reasonReused, now)
	if err != nil {
		return fmt.Errorf("token: revoking refresh family: %w", err)
	}
	if s.cfg.ReusePolicy == RevokeGrant {
		_, err := s.grants.RevokeTx(ctx, tx, []string{g.ID}, grant.ReasonRefreshReused, g.ClientID)
		return err
	}
	if !first && revokedTokens == 0 {
		return nil // this token's reuse revoked the family already, and was reported
	}
	return s.grants.RecordTx(ctx, tx, grant.Event{Type: grant.EventFamilyRevoked, Reason: grant.ReasonRefreshReused,
		ClientID: g.ClientID, Subject: g.Subject, GrantID: g.ID}, g.ClientID, nil)
}

// recordReuse audits and reports refresh.reused for token t of grant g,
// unless a presentation of t was reported before: it marks t in tx, so a
// leaked token replayed for the whole retention period is one audit row
// and one observer event, not one per presentation. It reports whether
// this was the first.
func (s *Server) recordReuse(ctx context.Context, tx store.Tx, g store.Grant, t store.RefreshToken, now time.Time) (bool, error) {
	if !t.ReuseReportedAt.IsZero() {
		return false, nil // read in this transaction: the mark is already set
	}
	first, err := tx.MarkRefreshTokenReuseReported(ctx, t.ID, now)
	if err != nil {
		return false, fmt.Errorf("token: marking refresh token reuse: %w", err)
	}
	if !first {
		return false, nil
	}
	return true, s.grants.RecordTx(ctx, tx, reuseEvent(g), g.ClientID, nil)
}

// reuseEvent is the refresh.reused event of a replayed token of g.
func reuseEvent(g store.Grant) grant.Event {
	return grant.Event{Type: grant.EventRefreshReused, Reason: grant.ReasonRefreshReused, ClientID: g.ClientID,
		Subject: g.Subject, GrantID: g.ID}
}

// narrow returns the scopes of a refreshed access token: the grant's, or
// the requested subset of them (RFC 6749 §6).
func narrow(granted, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return granted, nil
	}
	for _, sc := range requested {
		if !slices.Contains(granted, sc) {
			return nil, fmt.Errorf("%w: %q was not granted", grant.ErrInvalidScope, sc)
		}
	}
	return requested, nil
}
