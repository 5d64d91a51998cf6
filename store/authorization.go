package store

import "time"

// AuthRequest is a pending authorization request (RFC 6749 §4.1.1) tied to
// a pending grant. It is consumed when the code is issued.
type AuthRequest struct {
	ID                  string // UUIDv7
	GrantID             string
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	CodeChallenge       string // RFC 7636 §4.2
	CodeChallengeMethod string // always "S256"
	Resource            string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	ConsumedAt          time.Time // zero until consumed
	RevokedAt           time.Time // zero unless revoked by the cascade
}

// AuthCode is an authorization code (RFC 6749 §4.1.2), single use and
// bound to its client, redirect URI and PKCE challenge (RFC 7636). Only the
// SHA-256 hash of the code is stored.
type AuthCode struct {
	ID                  string // UUIDv7
	Hash                []byte // SHA-256 of the code
	GrantID             string
	ClientID            string
	RedirectURI         string
	Scopes              []string
	CodeChallenge       string
	CodeChallengeMethod string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              time.Time // zero until redeemed
	RevokedAt           time.Time // zero unless revoked by the cascade
	// ReuseReportedAt is when a replay of the code was first audited and
	// reported (Ops.MarkAuthCodeReuseReported); zero until then.
	ReuseReportedAt time.Time
}
