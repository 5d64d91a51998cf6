package cimd

import "errors"

// Errors of Resolver.Client, checked with errors.Is. Each but ErrBusy
// means the client cannot be identified (grantkit.ErrorCode:
// invalid_client); no client is stored when one is returned.
var (
	// ErrNotClientIDURL reports a client id that is not a client
	// identifier URL (see IsClientIDURL).
	ErrNotClientIDURL = errors.New("cimd: the client id is not an https URL with a path (client identifier URL)")
	// ErrFetch reports a document that could not be fetched: a network
	// or TLS failure, a status other than 200, a redirect (never
	// followed), or the time limit (Config.Timeout) reached.
	ErrFetch = errors.New("cimd: fetching the client metadata document failed")
	// ErrForbiddenAddress reports a client id whose host resolves to no
	// address, or to an address Config.AllowAddr refuses (by default any
	// address but a public unicast one): the document is not fetched.
	ErrForbiddenAddress = errors.New("cimd: the client id's host resolves to a forbidden address")
	// ErrTooLarge reports a document larger than Config.MaxBytes.
	ErrTooLarge = errors.New("cimd: the client metadata document is too large")
	// ErrInvalidDocument reports a document that is not a JSON object
	// served as JSON, whose client_id is not the URL it was fetched
	// from, that lacks client_name or redirect_uris, that holds a client
	// secret or an unsupported token_endpoint_auth_method, or whose
	// metadata grantkit refuses (redirect URIs, grant or response types,
	// scopes).
	ErrInvalidDocument = errors.New("cimd: invalid client metadata document")
	// ErrBusy reports that Config.MaxFetches documents are being fetched
	// already, so this one is not: the server is overloaded, not the
	// client wrong (grantkit.ErrorCode: temporarily_unavailable, 503).
	ErrBusy = errors.New("cimd: too many client metadata documents are being fetched")
)
