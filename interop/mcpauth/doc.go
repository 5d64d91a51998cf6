// Package mcpauth connects grantkit's resource side to the Model Context
// Protocol Go SDK (github.com/modelcontextprotocol/go-sdk): TokenVerifier
// turns a *token.Verifier into the SDK's auth.TokenVerifier, which the
// SDK's auth.RequireBearerToken middleware calls for every request to an
// MCP endpoint.
//
// The MCP authorization specification (basic/authorization, "Token
// Handling") asks an MCP server to validate that an access token was
// issued for it — its audience — and to answer an invalid or expired one
// with 401; grantkit's Verifier checks the audience (RFC 8707, RFC 9068 §4)
// and, beyond the JWT, that the token's grant is still active, so a token
// stops working the moment the user revokes its client.
//
// It lives in the interop module, not in the library, because it imports
// the SDK: the library's go.mod keeps its five dependencies.
package mcpauth
