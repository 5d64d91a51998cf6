package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/interop/mcpauth"
	"github.com/grantkit/grantkit/token"
)

// maxMessage bounds the JSON-RPC body stepUp reads, in bytes.
const maxMessage = 1 << 20

// toolScopes are the scopes each tool needs: every scope of the call,
// ScopeTools included, so a step-up challenge lists all of them (a client
// that asked for the challenged scopes alone would lose the others).
var toolScopes = map[string][]string{
	"whoami": {ScopeTools},
	"admin":  {ScopeTools, ScopeAdmin},
}

// mcpEndpoint is the protected MCP endpoint: its RFC 9728 metadata and the
// streamable HTTP handler behind the SDK's bearer middleware and the
// per-tool step-up check.
type mcpEndpoint struct {
	resource *httpapi.ProtectedResource
	handler  http.Handler
}

// newMCPEndpoint builds the endpoint for resource (issuer + mcpPath),
// checking tokens with verifier.
func newMCPEndpoint(verifier *token.Verifier, resource, issuer string, logger *slog.Logger) (*mcpEndpoint, error) {
	pr, err := httpapi.NewProtectedResource(httpapi.ProtectedResourceConfig{Resource: resource,
		AuthorizationServers: []string{issuer}, ScopesSupported: scopes, ResourceName: "grantkit MCP example"})
	if err != nil {
		return nil, err
	}
	// grantkit's Bearer writes the 403 insufficient_scope challenge (the
	// SDK's middleware answers a missing scope with a 403 that has no error
	// code, which the SDK's own client does not treat as step-up).
	bearer, err := httpapi.NewBearer(httpapi.BearerConfig{Verifier: verifier,
		ResourceMetadata: pr.MetadataURL(), Logger: logger})
	if err != nil {
		return nil, err
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "grantkit-mcp-example", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami",
		Description: "The subject, client and grant of the caller's access token (scope mcp:tools)."}, whoami)
	mcp.AddTool(server, &mcp.Tool{Name: "admin",
		Description: "An administrative operation (scopes mcp:tools and mcp:admin)."}, admin)

	streamable := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Logger: logger})
	protect := auth.RequireBearerToken(mcpauth.TokenVerifier(verifier), &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: pr.MetadataURL(),
		Scopes:              []string{ScopeTools},
	})
	return &mcpEndpoint{resource: pr, handler: protect(stepUp(bearer, streamable))}, nil
}

// mount puts the metadata and the endpoint on mux.
func (e *mcpEndpoint) mount(mux *http.ServeMux) {
	e.resource.Mount(mux)
	mux.Handle(mcpPath, e.handler)
}

// rpcMessage is the part of a JSON-RPC message stepUp reads.
type rpcMessage struct {
	Method string `json:"method"`
	Params struct {
		Name string `json:"name"`
	} `json:"params"`
}

// stepUp answers a tools/call whose token lacks a scope of the tool
// (toolScopes) with bearer's 403 insufficient_scope challenge — every scope
// the tool needs and resource_metadata — before next sees it: the MCP
// specification's step-up authorization, which the client meets by
// authorizing again with the scopes of the challenge. It must run behind
// auth.RequireBearerToken, whose TokenInfo it reads; other requests pass
// through with their body intact.
func stepUp(bearer *httpapi.Bearer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMessage))
		if err != nil {
			status := http.StatusBadRequest
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				status = http.StatusRequestEntityTooLarge
			}
			http.Error(w, "the request body could not be read", status)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		info := auth.TokenInfoFromContext(r.Context())
		for _, name := range calledTools(body) {
			need := toolScopes[name]
			if info == nil || !hasAll(info.Scopes, need) {
				bearer.InsufficientScope(w, need...)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// calledTools returns the tool names of the tools/call requests in body,
// one JSON-RPC message or a batch; a body that does not parse is left to
// the MCP handler to refuse.
func calledTools(body []byte) []string {
	var msgs []rpcMessage
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] == '[' {
		if json.Unmarshal(b, &msgs) != nil {
			return nil
		}
	} else {
		var m rpcMessage
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		msgs = []rpcMessage{m}
	}
	var names []string
	for _, m := range msgs {
		if m.Method == "tools/call" {
			names = append(names, m.Params.Name)
		}
	}
	return names
}

func hasAll(have, need []string) bool {
	for _, s := range need {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// whoamiOut is what the whoami tool answers.
type whoamiOut struct {
	Subject     string   `json:"subject"`
	SubjectKind string   `json:"subject_kind"`
	ClientID    string   `json:"client_id"`
	GrantID     string   `json:"grant_id"`
	Scopes      []string `json:"scopes"`
}

// whoami answers what the caller's access token says.
func whoami(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoamiOut, error) {
	info, err := tokenInfo(req, "whoami")
	if err != nil {
		return nil, whoamiOut{}, err
	}
	out := whoamiOut{Subject: info.UserID, Scopes: info.Scopes}
	out.SubjectKind, _ = info.Extra[mcpauth.ExtraSubjectKind].(string)
	out.ClientID, _ = info.Extra[mcpauth.ExtraClientID].(string)
	out.GrantID, _ = info.Extra[mcpauth.ExtraGrantID].(string)
	return nil, out, nil
}

// adminOut is what the admin tool answers.
type adminOut struct {
	Done string `json:"done"`
}

// admin stands for an operation that needs mcp:admin.
func admin(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, adminOut, error) {
	info, err := tokenInfo(req, "admin")
	if err != nil {
		return nil, adminOut{}, err
	}
	return nil, adminOut{Done: "administered as " + info.UserID}, nil
}

// tokenInfo returns the request's verified token info, checking again
// that it carries the tool's scopes: stepUp answers before the tool runs,
// and this keeps a tool safe if it is ever mounted without it (fail
// closed).
func tokenInfo(req *mcp.CallToolRequest, tool string) (*auth.TokenInfo, error) {
	var info *auth.TokenInfo
	if req.Extra != nil {
		info = req.Extra.TokenInfo
	}
	if info == nil || !hasAll(info.Scopes, toolScopes[tool]) {
		return nil, fmt.Errorf("%s needs scopes %v", tool, toolScopes[tool])
	}
	return info, nil
}
