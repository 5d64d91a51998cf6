package httpapi

import (
	"errors"
	"fmt"
	"net/http"
)

// errPanic is what a recovered panic is answered as: server_error 500.
var errPanic = errors.New("httpapi: handler panicked")

// recorder remembers whether the handler wrote its header.
type recorder struct {
	http.ResponseWriter
	wrote bool
}

func (r *recorder) WriteHeader(status int) {
	r.wrote = true
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// noStore wraps an endpoint whose responses carry credentials or their
// status (token, revocation, introspection, registration): it sets
// Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1, RFC 7591
// §3.2.1) before the handler runs, so they are on every response, error
// or success, and turns a panic into a server_error 500 — logged, and with
// those headers too — unless the handler had already begun answering.
// http.ErrAbortHandler is re-raised, as net/http expects.
func (h *Handler) noStore(endpoint string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		rec := &recorder{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler || rec.wrote {
				panic(v)
			}
			hdr := w.Header()
			for k := range hdr { // drop whatever the handler had set
				delete(hdr, k)
			}
			hdr.Set("Cache-Control", "no-store")
			hdr.Set("Pragma", "no-cache")
			h.writeError(w, r, endpoint, fmt.Errorf("%w: %v", errPanic, v))
		}()
		next(rec, r)
	})
}
