package interop_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// demo is the example server's demo client (issue 12's contract).
const (
	demoClient   = "demo"
	demoCallback = "http://127.0.0.1:8765/callback"
)

// TestBrowserConnectedClients drives headless Chromium through the
// example server (examples/server, built and run as a binary, without
// -dev-login): log in on /login, authorize the demo client and approve
// on the consent page, exchange the code, see "Demo client" on
// /connected-clients, click Revoke and confirm on the page, see it gone,
// and the client's access token refused by /api/whoami. It saves a
// screenshot of the page to the test's artifact directory
// (go test -artifacts keeps it). Without Chromium it skips, except in CI
// (CI=true), where it fails: .ci/run installs Debian's chromium.
func TestBrowserConnectedClients(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	base := startServer(t)
	codes := callbackListener(t)

	alloc, cancel := chromedp.NewExecAllocator(t.Context(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1100, 800))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	verifier := "browser-test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(verifier))
	authURL := base + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {demoClient}, "redirect_uri": {demoCallback},
		"state": {"browser"}, "scope": {"mcp:tools mcp:resources"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}.Encode()

	// Log in, then consent.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.Submit(chromedp.CSS(`input[name=username]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value=approve]`)),
		chromedp.Click(chromedp.CSS(`button[value=approve]`)),
	); err != nil {
		t.Fatalf("login and consent: %v", err)
	}
	var code string
	select {
	case code = <-codes:
	case <-ctx.Done():
		t.Fatal("the browser never reached the client's redirect URI")
	}
	access := exchange(t, base, code, verifier)
	if status := whoami(t, base, access); status != http.StatusOK {
		t.Fatalf("whoami before revocation: %d", status)
	}

	// The page lists the client; revoke it there.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/connected-clients"), chromedp.WaitVisible(chromedp.CSS(`table`))); err != nil {
		t.Fatalf("connected clients: %v", err)
	}
	listed := bodyText(t, ctx)
	if !strings.Contains(listed, "“Demo client”") {
		t.Fatalf("the page does not list the demo client:\n%s", listed)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveArtifact(t, "connected-clients.png", shot)
	if path := os.Getenv("GRANTKIT_SCREENSHOT"); path != "" { // the README's picture
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`td form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=confirm] ~ button[type=submit]`)),
	); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	confirm := bodyText(t, ctx)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	after := bodyText(t, ctx)
	for _, want := range []string{demoClient, demoCallback} {
		if !strings.Contains(confirm, want) {
			t.Errorf("the confirmation does not show %q:\n%s", want, confirm)
		}
	}
	if strings.Contains(after, "Demo client") {
		t.Fatalf("the demo client is still listed after revocation:\n%s", after)
	}
	if status := whoami(t, base, access); status != http.StatusUnauthorized {
		t.Fatalf("whoami after revocation: %d, want 401", status)
	}
}

// startServer builds examples/server and runs it on a free loopback port
// until t ends, returning its base URL (the issuer) once it listens.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	return startCommand(t, "github.com/grantkit/grantkit/examples/server", args...)
}

// startCommand builds the command pkg (examples/server or one of this
// module's examples, which take the same -addr and -issuer flags) and runs
// it on a free loopback port until t ends, returning its base URL (the
// issuer) once it prints that it listens.
func startCommand(t *testing.T, pkg string, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-o", bin, pkg)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr
	cmd := exec.Command(bin, append([]string{"-addr", addr, "-issuer", base}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the server did not shut down cleanly: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the server did not stop within 15 s of SIGINT")
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not print that it listens")
	}
	return base
}

// callbackListener serves the demo client's redirect URI until t ends and
// sends each code it receives.
func callbackListener(t *testing.T) <-chan string {
	t.Helper()
	codes := make(chan string, 4)
	l, err := net.Listen("tcp", "127.0.0.1:8765")
	if err != nil {
		t.Fatalf("the demo client's redirect URI needs 127.0.0.1:8765: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := r.URL.Query().Get("code"); c != "" {
			codes <- c
		}
		_, _ = io.WriteString(w, "signed in")
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return codes
}

// exchange redeems code for the demo client and returns the access token.
func exchange(t *testing.T, base, code, verifier string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {demoCallback}, "client_id": {demoClient}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		t.Fatalf("exchange: status %d, %v", resp.StatusCode, err)
	}
	return tr.AccessToken
}

// whoami calls the example's protected API with access and returns the
// status; a 401 must carry RFC 9728's resource_metadata.
func whoami(t *testing.T, base, access string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
		t.Errorf("401 without resource_metadata: %q", resp.Header.Get("WWW-Authenticate"))
	}
	return resp.StatusCode
}

// bodyText is the text of the browser's current page.
func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		t.Fatalf("page text: %v", err)
	}
	return text
}

// saveArtifact writes data to name in the test's artifact directory.
func saveArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(data))
}
