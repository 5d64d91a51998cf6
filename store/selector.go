package store

import "fmt"

// Selector picks the non-revoked grants a bulk revocation applies to. Every
// set field narrows the selection (they are ANDed); a selector
// with no field set is refused with ErrInvalidArgument so that a zero value
// can never revoke every grant.
//
// The revocation paths map to fields as follows: client →
// ClientID; user blocked or deleted → Subject; user removed from an
// organization → Subject + Tenant; organization deleted → Tenant; resource
// disabled or deleted → Resource; resource changed → Resource +
// ConfigVersionBelow; API key deleted → Subject + SubjectKind.
type Selector struct {
	ClientID    string
	Subject     string
	SubjectKind string
	// Tenant, when non-nil, selects one tenant ("" is the personal tenant).
	Tenant   *string
	Resource string
	// ConfigVersionBelow, when positive, keeps only grants whose
	// config_version is below it. It requires Resource.
	ConfigVersionBelow int64
}

// Validate reports whether the selector may be used.
func (s Selector) Validate() error {
	if s.ClientID == "" && s.Subject == "" && s.SubjectKind == "" && s.Tenant == nil && s.Resource == "" {
		return fmt.Errorf("%w: empty selector", ErrInvalidArgument)
	}
	if s.ConfigVersionBelow < 0 {
		return fmt.Errorf("%w: negative ConfigVersionBelow", ErrInvalidArgument)
	}
	if s.ConfigVersionBelow > 0 && s.Resource == "" {
		return fmt.Errorf("%w: ConfigVersionBelow requires Resource", ErrInvalidArgument)
	}
	return nil
}

// Tenant returns a pointer to t, for Selector.Tenant and GrantFilter.Tenant.
func Tenant(t string) *string { return &t }
