package main

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

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
	return runDemoTo(t, io.Discard, args...)
}

// runDemoTo is runDemo with the demo's stderr (its log) sent to stderr,
// which must be safe for concurrent writes.
func runDemoTo(t *testing.T, stderr io.Writer, args ...string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard, stderr, ready)
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
	ua   string // the User-Agent header, if set
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
	if b.ua != "" {
		req.Header.Set("User-Agent", b.ua)
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
	User            string    `json:"user"`
	Counter         int       `json:"counter"`
	AuthenticatedAt time.Time `json:"authenticated_at"`
	Device          string    `json:"device"`
}

// User-Agents of two browsers, and the labels package device gives them.
const (
	chromeLinux    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	firefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)

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
	if u.AuthenticatedAt.IsZero() || time.Since(u.AuthenticatedAt) > time.Minute || u.Device != "Go-http-client" {
		t.Errorf("me = %+v, want authenticated_at at the login and device \"Go-http-client\" (package device's label)", u)
	}
	time.Sleep(10 * time.Millisecond) // stores keep milliseconds
	var re whoami
	if code := alice.call("POST", "/api/reauth", `{"user":"alice"}`, &re); code != 200 || re.User != "alice" || !re.AuthenticatedAt.After(u.AuthenticatedAt) {
		t.Errorf("reauth: %d %+v, want 200 with authenticated_at after %v", code, re, u.AuthenticatedAt)
	}
	if code := alice.call("POST", "/api/reauth", `{"user":"bob"}`, nil); code != 403 {
		t.Errorf("reauth as bob: %d, want 403", code)
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
	phone.ua, laptop.ua = firefoxWindows, chromeLinux
	phone.call("POST", "/api/login", `{"user":"alice"}`, nil)
	laptop.call("POST", "/api/login", `{"user":"alice"}`, nil)
	var list []demo.Device
	alice.call("GET", "/api/sessions", "", &list)
	if !listing {
		// Without server-side listing, only the current session is shown,
		// and revoke-all below must log out both other devices.
		if len(list) != 1 || !list[0].Current || list[0].Label != "Go-http-client" || list[0].IP != "127.0.0.1" {
			t.Fatalf("alice's sessions = %+v, want only the current one, Go-http-client at 127.0.0.1", list)
		}
	} else {
		if len(list) != 3 {
			t.Fatalf("alice has %d sessions, want 3: %+v", len(list), list)
		}
		labels := make(map[string]bool)
		for _, d := range list {
			labels[d.Label] = d.Current
			if d.IP != "127.0.0.1" {
				t.Errorf("device %+v: ip %q, want 127.0.0.1", d, d.IP)
			}
		}
		if want := map[string]bool{"Go-http-client": true, "Firefox 128 on Windows": false, "Chrome 156 on Linux": false}; !maps.Equal(labels, want) {
			t.Errorf("alice's devices (label: current) = %v, want %v", labels, want)
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
