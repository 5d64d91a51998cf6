package storetest

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/grantkit/grantkit/store"
)

// base is the suite's fixed "now": a time with sub-microsecond digits and a
// non-UTC location, so round trips prove truncation and UTC conversion.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", 5*3600+30*60))

// micro is base as a store returns it.
var micro = base.UTC().Truncate(time.Microsecond)

func newID(t testing.TB) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// diff compares records, treating nil and empty slices alike.
func diff(want, got any) string {
	return cmp.Diff(want, got, cmpopts.EquateEmpty())
}

func newClient(t testing.TB, s store.Store, mut ...func(*store.Client)) store.Client {
	t.Helper()
	c := store.Client{
		ID:            "client-" + newID(t),
		Name:          "Example",
		SecretHash:    hash("secret"),
		RedirectURIs:  []string{"https://app.example/cb"},
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		Scopes:        []string{"read", "write"},
		CreatedAt:     micro,
		UpdatedAt:     micro,
	}
	for _, m := range mut {
		m(&c)
	}
	if err := s.CreateClient(t.Context(), c); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	return c
}

func newGrant(t testing.TB, s store.Ops, clientID string, mut ...func(*store.Grant)) store.Grant {
	t.Helper()
	g := store.Grant{
		ID:          newID(t),
		ClientID:    clientID,
		Subject:     "alice",
		SubjectKind: "user",
		Tenant:      "",
		Resource:    "https://mcp.example/",
		RedirectURI: "https://app.example/cb",
		Scopes:      []string{"read"},
		Status:      store.GrantActive,
		CreatedAt:   micro,
		ActivatedAt: micro,
	}
	for _, m := range mut {
		m(&g)
	}
	if err := s.CreateGrant(t.Context(), g); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	return g
}

func newRefresh(t testing.TB, s store.Ops, grantID, familyID, parentID string) store.RefreshToken {
	t.Helper()
	id := newID(t)
	rt := store.RefreshToken{
		ID: id, Hash: hash(id), GrantID: grantID, FamilyID: familyID, ParentID: parentID,
		CreatedAt: micro, ExpiresAt: micro.Add(time.Hour),
	}
	if err := s.CreateRefreshToken(t.Context(), rt); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	return rt
}

// Contenders is how many goroutines the compare-and-set tests start at once.
const Contenders = 32

// race runs fn in n goroutines released together and returns how many
// returned true. Any error fails the test.
func race(t *testing.T, n int, fn func(i int) (bool, error)) int {
	t.Helper()
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		wins  atomic.Int64
		errs  = make(chan error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := fn(i)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("contender: %v", err)
	}
	return int(wins.Load())
}
