package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-go/sesame/internal/demo"
)

// startDemo runs the demo with args on a free loopback port until the test
// ends, and returns its base URL.
func startDemo(t *testing.T, args ...string) string {
	t.Helper()
	base, _ := runDemo(t, args...)
	return base
}

// runDemo runs the demo with args on a free loopback port, and returns its
// base URL and a function that stops it and waits for it to exit. The
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

// browser is an HTTP client with a cookie jar.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar}}
}

// call sends a request and decodes the JSON answer into out (if non-nil).
func (b *browser) call(method, path, body string, out any) int {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			b.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func (b *browser) cookie() string {
	for _, c := range b.c.Jar.Cookies(mustURL(b.base)) {
		return c.Value
	}
	return ""
}

type whoami struct {
	User    string `json:"user"`
	Counter int    `json:"counter"`
}

// clientSideStores marks the stores that keep sessions in the cookie: they
// cannot list a user's sessions, so GET /api/sessions shows only the
// current one.
var clientSideStores = map[string]bool{}

func TestDemoAPI(t *testing.T) {
	for _, store := range demoStores() {
		t.Run(store, func(t *testing.T) {
			testDemoAPI(t, startDemo(t, testStores[store](t)...), !clientSideStores[store])
		})
	}
}

func testDemoAPI(t *testing.T, base string, listing bool) {
	alice := newBrowser(t, base)
	if code := alice.call("GET", "/healthz", "", nil); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if code := alice.call("GET", "/api/me", "", nil); code != 401 {
		t.Errorf("me before login: %d, want 401", code)
	}
	var n struct{ Counter int }
	for want := 1; want <= 2; want++ {
		alice.call("POST", "/api/counter", "", &n)
		if n.Counter != want {
			t.Errorf("counter = %d, want %d", n.Counter, want)
		}
	}
	before := alice.cookie()
	var u whoami
	if code := alice.call("POST", "/api/login", `{"user":"alice"}`, &u); code != 200 || u.User != "alice" {
		t.Fatalf("login: %d %+v", code, u)
	}
	if alice.cookie() == before {
		t.Error("login did not renew the session cookie")
	}
	if alice.call("GET", "/api/me", "", &u); u.User != "alice" || u.Counter != 2 {
		t.Errorf("me = %+v, want alice with counter 2 (kept through login)", u)
	}
	if code := alice.call("POST", "/api/login", `{"user":""}`, nil); code != 400 {
		t.Errorf("empty login: %d, want 400", code)
	}

	var v struct{ Value json.RawMessage }
	alice.call("PUT", "/api/values/theme", `{"value":{"dark":true,"n":9007199254740993}}`, nil)
	if alice.call("GET", "/api/values/theme", "", &v); string(v.Value) != `{"dark":true,"n":9007199254740993}` {
		t.Errorf("value = %s", v.Value)
	}
	if code := alice.call("GET", "/api/values/none", "", nil); code != 404 {
		t.Errorf("missing value: %d, want 404", code)
	}

	phone, laptop := newBrowser(t, base), newBrowser(t, base)
	phone.call("POST", "/api/login", `{"user":"alice"}`, nil)
	laptop.call("POST", "/api/login", `{"user":"alice"}`, nil)
	var list []demo.Device
	alice.call("GET", "/api/sessions", "", &list)
	if !listing {
		// Without server-side listing, only the current session is shown,
		// and revoke-all below must log out both other devices.
		if len(list) != 1 || !list[0].Current {
			t.Fatalf("alice's sessions = %+v, want only the current one", list)
		}
	} else {
		if len(list) != 3 {
			t.Fatalf("alice has %d sessions, want 3: %+v", len(list), list)
		}
		var phoneID string
		var phoneList []demo.Device
		phone.call("GET", "/api/sessions", "", &phoneList)
		for _, d := range phoneList {
			if d.Current {
				phoneID = d.ID
			}
		}
		if code := alice.call("POST", "/api/sessions/revoke", `{"id":"`+phoneID+`"}`, nil); code != 200 {
			t.Errorf("revoke phone: %d", code)
		}
		if code := phone.call("GET", "/api/me", "", nil); code != 401 {
			t.Errorf("revoked phone: me %d, want 401", code)
		}
	}
	if code := alice.call("POST", "/api/sessions/revoke", `{"all":true}`, nil); code != 200 {
		t.Errorf("revoke all others: %d", code)
	}
	if code := laptop.call("GET", "/api/me", "", nil); code != 401 {
		t.Errorf("laptop after revoke-all: %d, want 401", code)
	}
	if code := phone.call("GET", "/api/me", "", nil); code != 401 {
		t.Errorf("phone after revoke-all: %d, want 401", code)
	}
	if code := alice.call("GET", "/api/me", "", nil); code != 200 {
		t.Errorf("current session after revoke-all: %d, want 200", code)
	}
	if code := alice.call("POST", "/api/logout", "", nil); code != 204 {
		t.Errorf("logout: %d", code)
	}
	if code := alice.call("GET", "/api/me", "", nil); code != 401 {
		t.Errorf("me after logout: %d, want 401", code)
	}
}
