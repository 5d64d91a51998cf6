package session_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// The session tests run on testenv's fixture; this file adds what only
// they need.

// env is one test's testenv.Env (its store has a statement counter; its
// verifier is never started) and the resources put has numbered.
type env struct {
	*testenv.Env
	// resources numbers the resources of the grants put creates, so each
	// sits on its own binding.
	resources int
}

// newEnv opens a fresh store on db and the lifecycle over it.
func newEnv(t *testing.T, db testdb.DB) *env {
	t.Helper()
	return &env{Env: testenv.New(t, db)}
}

// service returns a session service over the env's manager with cfg's
// host callbacks.
func (e *env) service(cfg session.Config) *session.Service {
	e.T.Helper()
	svc, err := session.New(e.Manager, cfg)
	if err != nil {
		e.T.Fatal(err)
	}
	return svc
}

// client registers a public client named name for testenv.RedirectURI
// with scopes read and write; dynamic marks it registered through RFC 7591.
func (e *env) client(name string, dynamic bool) store.Client {
	e.T.Helper()
	mut := []func(*grant.ClientMetadata){testenv.Named(name)}
	if dynamic {
		mut = append(mut, testenv.Dynamic)
	}
	return e.Client(mut...).Client
}

// put stores a grant of c for subject created now, active, with scopes
// read and write and a resource of its own; mut adjusts it before it is
// stored. It returns the grant as stored.
func (e *env) put(c store.Client, subject string, mut ...func(*store.Grant)) store.Grant {
	e.T.Helper()
	e.resources++
	now := e.Manager.Now()
	g := store.Grant{ID: testdb.NewID(), ClientID: c.ID, Subject: subject, SubjectKind: "user",
		Resource: testenv.Resource + "/" + strconv.Itoa(e.resources), RedirectURI: testenv.RedirectURI,
		Scopes: []string{"read", "write"}, Status: store.GrantActive, CreatedAt: now, ActivatedAt: now}
	for _, f := range mut {
		f(&g)
	}
	if err := e.Store.CreateGrant(context.Background(), g); err != nil {
		e.T.Fatalf("CreateGrant: %v", err)
	}
	return e.Grant(g.ID)
}

// start begins an authorization of subject for c (testenv.Request),
// leaving its grant pending.
func (e *env) start(c store.Client, subject string) grant.Authorization {
	e.T.Helper()
	return e.Start(testenv.Request(c.ID, subject))
}

// login runs the whole code flow for subject with c — start, approve,
// exchange the code — and returns the active grant with the token
// response.
func (e *env) login(c store.Client, subject string) (store.Grant, token.Response) {
	e.T.Helper()
	sess := e.Login(testenv.Client{Client: c}, subject)
	return sess.Grant, sess.Resp
}

// refresh presents refresh token rt as c.
func (e *env) refresh(c store.Client, rt string) (token.Response, error) {
	return e.Refresh(testenv.Client{Client: c}, rt)
}

// resolver is a DisplayNames callback that records its calls.
type resolver struct {
	mu    sync.Mutex
	names map[string]string
	calls [][]string
}

func newResolver(names map[string]string) *resolver { return &resolver{names: names} }

func (r *resolver) DisplayNames(_ context.Context, subjects []string) (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, slices.Clone(subjects))
	out := map[string]string{}
	for _, s := range subjects {
		if n, ok := r.names[s]; ok {
			out[s] = n
		}
	}
	return out, nil
}

// take returns the calls recorded since the last take, each call's
// subjects sorted, and forgets them.
func (r *resolver) take() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	for _, c := range out {
		slices.Sort(c)
	}
	return out
}

// admins is an IsAdmin callback naming the admins.
func admins(names ...string) func(context.Context, session.Caller) (bool, error) {
	return func(_ context.Context, c session.Caller) (bool, error) { return slices.Contains(names, c.Subject), nil }
}

// members is an IsMember callback from caller to their tenants.
func members(m map[string][]string) func(context.Context, session.Caller, string) (bool, error) {
	return func(_ context.Context, c session.Caller, tenant string) (bool, error) {
		return slices.Contains(m[c.Subject], tenant), nil
	}
}

// user is the caller who is user subject, the kind the tests' grants have.
func user(subject string) session.Caller { return session.Caller{Subject: subject, Kind: "user"} }

// sessionOf is the session a listing shows for grant g of client c whose
// subject the host names subjectName.
func sessionOf(g store.Grant, c store.Client, subjectName string) session.Session {
	return session.Session{GrantID: g.ID, ClientID: c.ID, ClientName: c.Name, ClientVerified: !c.Dynamic,
		Subject: g.Subject, SubjectName: subjectName, Tenant: g.Tenant, Resource: g.Resource,
		RedirectURI: g.RedirectURI, Scopes: g.Scopes, CreatedAt: g.CreatedAt, LastUsedAt: g.LastUsedAt}
}

// ids returns the grant ids of sessions, in order.
func ids(sessions []session.Session) []string {
	out := make([]string, len(sessions))
	for i, s := range sessions {
		out[i] = s.GrantID
	}
	return out
}

// grantIDs returns the ids of grants, in order.
func grantIDs(grants ...store.Grant) []string {
	out := make([]string, len(grants))
	for i, g := range grants {
		out[i] = g.ID
	}
	return out
}

// newestFirst sorts grants by created_at DESC, id DESC: the order the
// listing promises (SPEC §6).
func newestFirst(grants []store.Grant) []store.Grant {
	out := slices.Clone(grants)
	slices.SortFunc(out, func(a, b store.Grant) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
	return out
}

// walk lists every page of caller's listing with opt, calling between
// (if not nil) with each page that has a next one before fetching it, and
// returns the pages.
func walk(t *testing.T, svc *session.Service, caller string, opt session.ListOptions, between func(session.Page)) []session.Page {
	t.Helper()
	var pages []session.Page
	for {
		p, err := svc.List(context.Background(), user(caller), opt)
		if err != nil {
			t.Fatalf("List page %d: %v", len(pages)+1, err)
		}
		pages = append(pages, p)
		if p.Next == "" {
			return pages
		}
		if len(pages) > 1000 {
			t.Fatal("the listing does not end")
		}
		opt.Cursor = p.Next
		if between != nil {
			between(p)
		}
	}
}
