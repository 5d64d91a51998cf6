package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/grantkit/grantkit/internal/form"
)

// MaxBodyBytes caps the body of every POST endpoint (SPEC §4.4).
const MaxBodyBytes = 64 << 10

// readForm reads the body of a form POST (RFC 6749 §3.2, SPEC §4.4): POST
// only (ErrMethodNotAllowed), application/x-www-form-urlencoded only
// (ErrContentType), at most MaxBodyBytes (ErrBodyTooLarge). Parameters in
// the URL's query are ignored: credentials travel in the body. It refuses a
// parameter given twice (ErrDuplicateParameter) and a body that does not
// parse, or holds a NUL byte or invalid UTF-8 (ErrMalformedBody). Empty
// values are dropped: RFC 6749 §3.1 treats them as omitted.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, ErrMethodNotAllowed
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, ErrContentType
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	return parseForm(string(body))
}

// readBody reads at most MaxBodyBytes of r's body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, ErrBodyTooLarge
	}
	if err != nil {
		return nil, errors.Join(ErrMalformedBody, err)
	}
	return body, nil
}

// parseForm parses an application/x-www-form-urlencoded text strictly
// (internal/form): see readForm.
func parseForm(s string) (url.Values, error) {
	v, err := form.Parse(s)
	switch {
	case errors.Is(err, form.ErrDuplicate):
		return nil, ErrDuplicateParameter
	case err != nil:
		return nil, ErrMalformedBody
	}
	return v, nil
}

// clean reports whether s is valid UTF-8 without a NUL byte (form.Clean).
func clean(s string) bool { return form.Clean(s) }
