package main

import (
	"encoding/json"
	"net/http"

	"github.com/grantkit/grantkit/httpapi"
)

// serveWhoami is the demo's protected API, GET /api/whoami behind the bearer
// middleware: what the access token says, as JSON.
func serveWhoami(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	claims, ok := httpapi.ClaimsFromContext(r.Context())
	if !ok { // Middleware always sets them; fail closed if it did not run.
		http.Error(w, "no verified token", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		Sub      string `json:"sub"`
		ClientID string `json:"client_id"`
		GrantID  string `json:"grant_id"`
		Scope    string `json:"scope"`
	}{claims.Subject, claims.ClientID, claims.GrantID, claims.Scope})
}

// mountAPI puts the protected API on mux: its RFC 9728 metadata and
// /api/whoami behind bearer.
func mountAPI(mux *http.ServeMux, resource *httpapi.ProtectedResource, bearer *httpapi.Bearer) {
	resource.Mount(mux)
	mux.Handle(whoamiPath, bearer.Middleware(http.HandlerFunc(serveWhoami)))
}
