package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
)

// registrationRequest is the client metadata of a registration request
// (RFC 7591 §2) that grantkit understands; other members are ignored.
type registrationRequest struct {
	RedirectURIs  []string
	ClientName    string
	GrantTypes    []string
	ResponseTypes []string
	Scope         string
	// HasScope tells an absent (or null) scope from an empty one.
	HasScope   bool
	AuthMethod string
}

// registrationResponse is the client information response (RFC 7591
// §3.2.1).
type registrationResponse struct {
	ClientID         string `json:"client_id"`
	ClientSecret     string `json:"client_secret,omitempty"`
	ClientIDIssuedAt int64  `json:"client_id_issued_at"`
	// ClientSecretExpiresAt is required with a secret; 0: it does not
	// expire.
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name,omitempty"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
}

// Registration returns the dynamic client registration endpoint (RFC 7591
// §3). Config.RegistrationLimit runs first, on the request as received and
// with its body unread; its refusal is answered through ErrorCode
// (ErrRateLimited: 429). Then only a POST (405) of application/json (400)
// of at most MaxBodyBytes (413) is read, as one JSON object with no member
// given twice and nothing after it (invalid_request). The metadata
// (redirect_uris, client_name, grant_types, response_types, scope,
// token_endpoint_auth_method: none for a public client, client_secret_basic
// — the default, RFC 7591 §2 — or client_secret_post for a confidential
// one) is registered with grant.Manager.RegisterClient as a dynamic client,
// whose name is self-reported and shown as unverified; other members are
// ignored (§2). A member of the wrong type, an unknown authentication
// method, or a scope outside Config.ScopesSupported is
// invalid_client_metadata; a refused redirect URI (the README's "Redirect
// URIs" rules) invalid_redirect_uri (§3.2.2). Success is 201 with the
// client information response (§3.2.1). Every response carries no-store
// headers (§3.2.1).
func (h *Handler) Registration() http.Handler {
	return h.noStore(endpointRegister, func(w http.ResponseWriter, r *http.Request) {
		if limit := h.cfg.RegistrationLimit; limit != nil {
			if err := limit(r); err != nil {
				h.writeError(w, r, endpointRegister, err)
				return
			}
		}
		resp, err := h.register(w, r)
		if err != nil {
			h.writeError(w, r, endpointRegister, err)
			return
		}
		writeJSON(w, http.StatusCreated, resp)
	})
}

// register reads, checks and registers the client r asks for.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) (registrationResponse, error) {
	if r.Method != http.MethodPost {
		return registrationResponse{}, ErrMethodNotAllowed
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return registrationResponse{}, ErrContentType
	}
	body, err := readBody(w, r)
	if err != nil {
		return registrationResponse{}, err
	}
	req, err := parseRegistration(body)
	if err != nil {
		return registrationResponse{}, err
	}
	md, err := registrationMetadata(req, h.cfg.ScopesSupported)
	if err != nil {
		return registrationResponse{}, err
	}
	c, secret, err := h.grants.RegisterClient(r.Context(), md)
	if err != nil {
		return registrationResponse{}, err
	}
	return registered(c, secret, req.AuthMethod), nil
}

// Errors of registration parsing, answered as their sentinels say.
var (
	// errNotObject: the body is not one JSON object (invalid_request).
	errNotObject = fmt.Errorf("%w: the body must be one JSON object", ErrMalformedBody)
)

// parseRegistration parses a registration request body (RFC 7591 §3.1)
// strictly: valid UTF-8, one JSON object and nothing after it, no member
// given twice (ErrMalformedBody, ErrDuplicateParameter: invalid_request).
// Members are matched by their exact names; unknown ones are ignored (§2).
// A known member of the wrong type, or whose text holds a NUL character,
// is grant.ErrInvalidClientMetadata; null counts as absent.
func parseRegistration(body []byte) (registrationRequest, error) {
	if !utf8.Valid(body) {
		return registrationRequest{}, ErrMalformedBody
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return registrationRequest{}, errNotObject
	}
	var req registrationRequest
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return registrationRequest{}, errNotObject
		}
		name := t.(string) // inside an object, a token before a value is its name
		if seen[name] {
			return registrationRequest{}, &paramError{err: ErrDuplicateParameter, name: name}
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return registrationRequest{}, errNotObject
		}
		if err := req.set(name, raw); err != nil {
			return registrationRequest{}, err
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return registrationRequest{}, errNotObject
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return registrationRequest{}, fmt.Errorf("%w: data after the JSON object", ErrMalformedBody)
	}
	return req, nil
}

// set decodes member name's value raw into req, if req knows it.
func (req *registrationRequest) set(name string, raw json.RawMessage) error {
	var err error
	switch name {
	case "redirect_uris":
		err = decodeMember(raw, &req.RedirectURIs)
	case "client_name":
		err = decodeMember(raw, &req.ClientName)
	case "grant_types":
		err = decodeMember(raw, &req.GrantTypes)
	case "response_types":
		err = decodeMember(raw, &req.ResponseTypes)
	case "scope":
		req.HasScope = string(raw) != "null"
		err = decodeMember(raw, &req.Scope)
	case "token_endpoint_auth_method":
		err = decodeMember(raw, &req.AuthMethod)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", grant.ErrInvalidClientMetadata, name, err)
	}
	return nil
}

// errNotText: a member's text holds a NUL character.
var errNotText = errors.New("text holds a NUL character")

// decodeMember decodes raw into v, a *string or *[]string; null leaves v
// as it is, and so does a null element of a list (which stays "").
func decodeMember(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("want %s, not %s", te.Type, te.Value)
		}
		return errors.New("not a JSON value of the right type")
	}
	switch v := v.(type) {
	case *string:
		if !clean(*v) {
			return errNotText
		}
	case *[]string:
		for _, s := range *v {
			if !clean(s) {
				return errNotText
			}
		}
	}
	return nil
}

// registrationMetadata turns req into what grant registers: a dynamic
// client, confidential unless its authentication method is none, whose
// scopes are scope-tokens within supported when it is set (and all of
// supported when req names none).
func registrationMetadata(req registrationRequest, supported []string) (grant.ClientMetadata, error) {
	md := grant.ClientMetadata{Name: req.ClientName, RedirectURIs: req.RedirectURIs, GrantTypes: req.GrantTypes,
		ResponseTypes: req.ResponseTypes, Dynamic: true}
	switch req.AuthMethod {
	case AuthMethodNone:
	case "", AuthMethodBasic, AuthMethodPost:
		md.Confidential = true
	default:
		return grant.ClientMetadata{}, fmt.Errorf("%w: unsupported token_endpoint_auth_method %q",
			grant.ErrInvalidClientMetadata, req.AuthMethod)
	}
	if !req.HasScope {
		md.Scopes = slices.Clone(supported) // none when the host names none
		return md, nil
	}
	if req.Scope != "" {
		md.Scopes = strings.Split(req.Scope, " ")
	}
	if len(md.Scopes) > grant.MaxScopes {
		return grant.ClientMetadata{}, fmt.Errorf("%w: more than %d scopes", grant.ErrInvalidClientMetadata, grant.MaxScopes)
	}
	for _, sc := range md.Scopes {
		if !scopeToken(sc) {
			return grant.ClientMetadata{}, fmt.Errorf("%w: scope must be scope-tokens separated by single spaces",
				grant.ErrInvalidClientMetadata)
		}
		// Without ScopesSupported a self-registered client may claim no
		// scope at all: an anonymous registration must not put "admin"
		// in front of a user.
		if !slices.Contains(supported, sc) {
			return grant.ClientMetadata{}, fmt.Errorf("%w: scope %q is not supported", grant.ErrInvalidClientMetadata,
				clipped(sc))
		}
	}
	return md, nil
}

// clipped shortens s for an error description.
func clipped(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}

// registered is the client information response for c (RFC 7591 §3.2.1).
func registered(c store.Client, secret, method string) registrationResponse {
	resp := registrationResponse{
		ClientID: c.ID, ClientIDIssuedAt: c.CreatedAt.Unix(), RedirectURIs: c.RedirectURIs, ClientName: c.Name,
		GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes, Scope: strings.Join(c.Scopes, " "),
		TokenEndpointAuthMethod: AuthMethodNone,
	}
	if secret != "" {
		var never int64
		resp.ClientSecret, resp.ClientSecretExpiresAt = secret, &never
		resp.TokenEndpointAuthMethod = method
		if method == "" {
			resp.TokenEndpointAuthMethod = AuthMethodBasic
		}
	}
	return resp
}
