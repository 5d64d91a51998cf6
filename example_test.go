package grantkit_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/grantkit/grantkit"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/sweep"
	"github.com/grantkit/grantkit/token"
)

// Example wires every component a gateway needs: the store, the lifecycle
// manager (configured once with the clock, logger and observer), the token
// server, the resource side's verifier, the connected-clients service and
// the sweep worker — everything is built from the manager.
func Example() {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{}) // or postgres.New(pool, postgres.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	grants, err := grant.New(grant.Config{Store: s, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	minter, err := token.NewMinter(token.MinterConfig{Issuer: "https://auth.example", Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	server, err := token.NewServer(grants, token.ServerConfig{Minter: minter})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(grants, minter.VerifierConfig("https://mcp.example/"))
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(grants, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	sweeper, err := sweep.New(grants, sweep.Config{})
	if err != nil {
		log.Fatal(err)
	}
	_ = verifier.Start(ctx)
	defer verifier.Stop(ctx)
	_ = sweeper.Start(ctx)
	defer sweeper.Stop(ctx)

	// The HTTP layer answers every error through one table.
	_, err = server.Refresh(ctx, token.RefreshRequest{ClientID: "unknown", RefreshToken: "gk_rt_x"})
	code, status := grantkit.ErrorCode(err)
	fmt.Println(code, status)
	_, err = sessions.List(ctx, session.Caller{}, session.ListOptions{})
	code, status = grantkit.ErrorCode(err)
	fmt.Println(code, status)
	// Output:
	// invalid_client 401
	// forbidden 403
}
