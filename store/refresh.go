package store

import "time"

// RefreshToken is one rotating refresh token (RFC 6749 §6, RFC 9700
// §4.14.2). Only the SHA-256 hash of the token is stored. Each code
// exchange starts a family; each rotation revokes the presented token and
// inserts its child in the same family.
type RefreshToken struct {
	ID        string // UUIDv7
	Hash      []byte // SHA-256 of the token
	GrantID   string
	FamilyID  string
	ParentID  string // "" for the first token of a family
	CreatedAt time.Time
	// ExpiresAt is the idle expiry of this token; zero means none.
	ExpiresAt time.Time
	// FamilyExpiresAt is the absolute expiry of the whole family, copied to
	// every token of it; zero means none.
	FamilyExpiresAt time.Time
	RevokedAt       time.Time // zero while active
	RevokeReason    string
	// ReuseReportedAt is when a presentation of the token after its
	// revocation was first audited and reported
	// (Ops.MarkRefreshTokenReuseReported); zero until then.
	ReuseReportedAt time.Time
}

// Active reports whether the token has not been revoked. Expiry is a
// separate check.
func (t RefreshToken) Active() bool { return t.RevokedAt.IsZero() }

// Expired reports whether the token is past its idle or absolute expiry at now.
func (t RefreshToken) Expired(now time.Time) bool {
	return (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) ||
		(!t.FamilyExpiresAt.IsZero() && !now.Before(t.FamilyExpiresAt))
}
