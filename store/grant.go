package store

import (
	"encoding/json"
	"time"
)

// GrantStatus is the state of a grant.
type GrantStatus string

// The grant states. Allowed transitions are pending→active, pending→revoked
// and active→revoked; the grant package enforces them.
const (
	GrantPending GrantStatus = "pending"
	GrantActive  GrantStatus = "active"
	GrantRevoked GrantStatus = "revoked"
)

// Grant is a user's (or principal's) authorization of one client for one
// resource (RFC 8707) through one redirect URI. It is the unit every other
// artifact hangs from and the unit the cascade revokes: revoking a grant
// revokes its open requests, unused codes and refresh tokens in the same
// transaction.
//
// At most one grant is active per Binding, enforced by a unique index in
// the database, not only in Go.
type Grant struct {
	ID          string // UUIDv7
	ClientID    string
	Subject     string
	SubjectKind string // host-defined, e.g. "user" or "api_key"
	Tenant      string // owner scope; may be empty
	Resource    string // RFC 8707 resource indicator / audience
	RedirectURI string
	Scopes      []string
	// Context is opaque JSON the host binds to the grant; nil means none.
	Context json.RawMessage
	// ConfigVersion is a host counter bumped when the resource's
	// configuration changes materially.
	ConfigVersion int64
	Status        GrantStatus
	CreatedAt     time.Time
	ActivatedAt   time.Time // zero until activated
	RevokedAt     time.Time // zero until revoked
	RevokeReason  string
	LastUsedAt    time.Time // zero until first use
}

// Binding is the tuple on which at most one grant may be active. It
// includes the subject's kind, so a user and an API key with the same id
// are bound separately.
type Binding struct {
	ClientID    string
	Subject     string
	SubjectKind string
	Tenant      string
	Resource    string
	RedirectURI string
}

// Binding returns the grant's binding.
func (g Grant) Binding() Binding {
	return Binding{ClientID: g.ClientID, Subject: g.Subject, SubjectKind: g.SubjectKind, Tenant: g.Tenant,
		Resource: g.Resource, RedirectURI: g.RedirectURI}
}

// GrantFilter selects the active grants a session listing shows.
type GrantFilter struct {
	// Subject restricts the listing to one subject. It is required unless
	// AllSubjects is set (an admin listing the host has authorized).
	Subject string
	// SubjectKind is the kind of Subject (Grant.SubjectKind). With Subject,
	// the listing shows only grants of that subject and that kind, so a
	// user and an API key that share an id never see each other's grants.
	// The kinds are compared exactly: an empty SubjectKind matches only
	// grants with an empty kind, never every kind, so a caller that forgets
	// the kind sees too little rather than another principal's grants.
	// Hosts that do not use kinds leave it empty everywhere. It is ignored
	// with AllSubjects, like Subject.
	SubjectKind string
	AllSubjects bool
	// Tenant, when non-nil, restricts the listing to one tenant ("" is the
	// personal tenant).
	Tenant *string
}

// GrantListing is one row of a session listing: an active grant joined with
// its client's display data in the same query.
type GrantListing struct {
	Grant
	ClientName    string
	ClientDynamic bool // the name is self-reported and unverified
}
