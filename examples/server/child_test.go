package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Child process settings: envChild makes the test binary run the server
// itself, with the arguments after "--" (TestCrashRestartSQLite starts it
// so, to kill it; TestStress, to measure the server alone); envChildStats
// makes it also serve its own figures (childStats) on a second loopback
// listener, announced on the first line of its output.
const (
	envChild      = "GRANTKIT_EXAMPLE_SERVER_CHILD"
	envChildStats = "GRANTKIT_EXAMPLE_SERVER_STATS"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		if os.Getenv(envChildStats) == "1" {
			if err := serveStats(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := run(ctx, args, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childStats are a server process's figures: its goroutines, its heap in
// use after a garbage collection, and its resident set size.
type childStats struct {
	Goroutines int `json:"goroutines"`
	HeapKiB    int `json:"heap_kib"`
	RSSKiB     int `json:"rss_kib"`
}

func (s childStats) String() string {
	return fmt.Sprintf("%d goroutines, heap %d KiB, RSS %d KiB", s.Goroutines, s.HeapKiB, s.RSSKiB)
}

// serveStats serves childStats as JSON on a loopback port and prints
// "stats on http://ADDR" first.
func serveStats() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("stats on http://%s\n", ln.Addr())
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			_ = json.NewEncoder(w).Encode(childStats{Goroutines: runtime.NumGoroutine(),
				HeapKiB: int(m.HeapInuse >> 10), RSSKiB: rssKiB()})
		}))
	}()
	return nil
}

// rssKiB is this process's resident set size (Linux; 0 elsewhere).
func rssKiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kib)
			return kib
		}
	}
	return 0
}

// child is the server running in another process.
type child struct {
	cmd    *exec.Cmd
	stdout *io.PipeWriter // closed once the process is waited for
	out    *io.PipeReader // the test's end; kill closes it, so Wait never waits on an unread write
	base   string
	stats  string // the stats URL, when started by startChildWithStats

	waitOnce sync.Once
	waitErr  error
}

// wait waits for the process once, then ends the output's reader.
func (c *child) wait() error {
	c.waitOnce.Do(func() {
		c.waitErr = c.cmd.Wait()
		c.stdout.Close()
	})
	return c.waitErr
}

// statsClient reads the child's figures; a stuck child fails the read.
var statsClient = &http.Client{Timeout: 10 * time.Second}

// startChild runs the server in a new process of the test binary with
// args, and returns once it listens.
func startChild(t *testing.T, args ...string) *child { return newChild(t, false, args...) }

// startChildWithStats is startChild, the child serving its figures too.
func startChildWithStats(t *testing.T, args ...string) *child { return newChild(t, true, args...) }

func newChild(t *testing.T, stats bool, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--", "-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), envChild+"=1")
	if stats {
		cmd.Env = append(cmd.Env, envChildStats+"=1")
	}
	cmd.Stderr = os.Stderr
	// Through an io.Pipe, not StdoutPipe: Wait then waits for the copy of
	// the child's output, which the reader below drains, instead of
	// closing a pipe the reader may still be reading.
	out, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdout: pw, out: out}
	t.Cleanup(func() { c.kill() })
	hung := time.AfterFunc(time.Minute, c.kill) // a child that never listens fails the test
	defer hung.Stop()
	lines := bufio.NewScanner(out)
	if stats {
		var ok bool
		if !lines.Scan() {
			t.Fatal("the server process printed nothing")
		}
		if c.stats, ok = strings.CutPrefix(lines.Text(), "stats on "); !ok {
			t.Fatalf("first line %q, want stats on URL", lines.Text())
		}
	}
	if !lines.Scan() {
		t.Fatal("the server process printed nothing")
	}
	base, ok := strings.CutPrefix(lines.Text(), "listening on ")
	if !ok {
		t.Fatalf("first line %q", lines.Text())
	}
	go func() {
		for lines.Scan() {
		}
		_, _ = io.Copy(io.Discard, out) // past a line too long for the scanner
	}()
	c.base = base
	return c
}

// figures reads the child's childStats.
func (c *child) figures() (childStats, error) {
	var s childStats
	resp, err := statsClient.Get(c.stats)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// stop ends the process with SIGTERM, the graceful shutdown, and waits
// up to timeout for it to exit; an exit status other than 0 is an error.
func (c *child) stop(timeout time.Duration) error {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- c.wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		return errors.Join(errors.New("the server did not exit after SIGTERM"), <-done)
	}
}

// kill ends the process with SIGKILL: no shutdown, no flush.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL) // fails harmlessly once it has exited
	c.out.CloseWithError(errKilled)           // the output's copy ends even if nobody reads it
	_ = c.wait()
}

// errKilled is what the child's output reads after kill.
var errKilled = errors.New("the server process was killed")
