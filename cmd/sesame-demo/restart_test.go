package main

import (
	"path/filepath"
	"testing"
)

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
