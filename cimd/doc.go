// Package cimd resolves OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document, "CIMD"; the MCP
// authorization specification's preferred way for a client to identify
// itself): a client_id that is an https URL names a JSON document of the
// client's RFC 7591 metadata, which the authorization server fetches.
//
// A Resolver fetches the document (IsClientIDURL decides which ids are
// URLs), validates it and stores the client through grant.Manager as a
// dynamic, public client whose id is the URL, so the rest of grantkit —
// authorization, the token endpoint, the sessions API, revocation — treats
// it like any self-registered client: its name is shown as unverified, and
// when a later fetch changes its redirect URIs or grant types
// grant.Manager.UpdateClient revokes its grants.
//
// The fetch is a server-side request to a URL an anonymous party chose, so
// it is defended against server-side request forgery (the draft's
// security considerations): https only; no redirect followed; the host
// resolved once and every address checked (by default only public unicast
// addresses pass, see PublicAddr) before the connection is dialed to the
// checked address itself; IP-literal hosts checked alike; no proxy, no
// cookies, no credentials; the response bounded in size and the whole
// exchange in time. Documents are cached (bounded, least recently used
// evicted) for the lifetime their Cache-Control or Expires header gives,
// clamped to [Config.MinAge, Config.MaxAge].
//
// Errors are the sentinels of errors.go; grantkit.ErrorCode maps those of
// an unusable document to invalid_client (the client cannot be
// identified), and a store failure stays server_error.
package cimd
