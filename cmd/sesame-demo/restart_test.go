package main

import (
	"context"
	"io"
	"path/filepath"
	"sync"
	"testing"
)

// runDemo runs the demo with args on a free loopback port, like startDemo,
// and also returns a function that stops it and waits for it to exit. The
// demo is stopped when the test ends if it is still running.
func runDemo(t *testing.T, args ...string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard, io.Discard, ready)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("demo exited with %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case addr := <-ready:
		return "http://" + addr, stop
	case err := <-done:
		once.Do(cancel) // done is drained: stop must not wait for it
		t.Fatalf("demo did not start: %v", err)
		return "", nil
	}
}

// TestLoginSurvivesARestartOnTheDefaultStore runs the demo on its default
// store (no -store flag), logs in, restarts the demo on the same database
// file, and checks that the same browser is still logged in.
func TestLoginSurvivesARestartOnTheDefaultStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	base, stop := runDemo(t, "-sqlite", db)
	alice := newBrowser(t, base)
	if code := alice.call("POST", "/api/login", `{"user":"alice"}`, nil); code != 200 {
		t.Fatalf("login: %d", code)
	}
	if code := alice.call("POST", "/api/counter", "", nil); code != 200 {
		t.Fatalf("counter: %d", code)
	}
	stop()

	// The cookie jar ignores ports, so it sends the cookie to the new
	// demo's port too.
	alice.base, _ = runDemo(t, "-sqlite", db)
	var u whoami
	if code := alice.call("GET", "/api/me", "", &u); code != 200 || u.User != "alice" || u.Counter != 1 {
		t.Errorf("me after a restart: %d %+v, want 200 with alice and counter 1", code, u)
	}
}
