package demohost

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/grantkit/grantkit/httpapi"
)

// maxTrackedIPs bounds the addresses one window tracks: beyond it every
// new address is refused until the window ends (fail closed).
const maxTrackedIPs = 10_000

// RateLimit is a fixed-window limit per remote IP: at most limit calls a
// window. It is the demo's Config.RegistrationLimit.
type RateLimit struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	start time.Time      // when the current window began
	count map[string]int // calls per IP in the current window
}

// NewRateLimit allows limit calls per client IP per window.
func NewRateLimit(limit int, window time.Duration) *RateLimit {
	return &RateLimit{limit: limit, window: window, now: time.Now, count: make(map[string]int)}
}

// Allow counts a call from r's remote IP and returns
// httpapi.ErrRateLimited once that IP made limit calls this window.
func (l *RateLimit) Allow(r *http.Request) error {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window || now.Before(l.start) {
		l.start = now
		clear(l.count)
	}
	n, seen := l.count[ip]
	if n >= l.limit || (!seen && len(l.count) >= maxTrackedIPs) {
		return httpapi.ErrRateLimited
	}
	l.count[ip] = n + 1
	return nil
}
