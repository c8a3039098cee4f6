package demo

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
)

// The API across stores is tested through the command, in
// cmd/sesame-demo's TestDemoAPI; these tests cover the handlers' own rules
// on the memory store.

// serve runs New on a memory store until the test ends.
func serve(t *testing.T) string {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(New(sesame.New(sesame.Config{Store: st, Insecure: true})))
	t.Cleanup(srv.Close)
	return srv.URL
}

// client is an HTTP client with a cookie jar.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, c: &http.Client{Jar: jar}}
}

// call sends a request and returns the response, its body read.
func (c *client) call(method, path, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(b)
}

func (c *client) status(method, path, body string) int {
	c.t.Helper()
	resp, _ := c.call(method, path, body)
	return resp.StatusCode
}

func TestPage(t *testing.T) {
	resp, body := newClient(t, serve(t)).call("GET", "/", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<title>Sesame demo</title>") {
		t.Errorf("GET /: %d %q, %d bytes; want the demo's page", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
}

func TestLogin(t *testing.T) {
	base := serve(t)
	for _, tc := range []struct {
		body       string
		status     int
		persistent bool
	}{
		{`{"user":"alice"}`, 200, false},
		{`{"user":"alice","remember":false}`, 200, false},
		{`{"user":"alice","remember":true}`, 200, true},
		{`{"user":""}`, 400, false},
		{`{"user":"` + strings.Repeat("a", 65) + `"}`, 400, false},
		{`{"user":`, 400, false},
	} {
		c := newClient(t, base)
		resp, body := c.call("POST", "/api/login", tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("login %s: %d %s, want %d", tc.body, resp.StatusCode, body, tc.status)
			continue
		}
		if tc.status != 200 {
			if !strings.HasPrefix(body, `{"error":`) {
				t.Errorf("login %s: body %s, want an error", tc.body, body)
			}
			continue
		}
		if body != `{"user":"alice"}`+"\n" {
			t.Errorf("login %s: body %q", tc.body, body)
		}
		lines := resp.Header.Values("Set-Cookie")
		if len(lines) != 1 || strings.Contains(lines[0], "Max-Age=") != tc.persistent {
			t.Errorf("login %s: Set-Cookie %q, want one line, persistent (with Max-Age): %t", tc.body, lines, tc.persistent)
		}
		var me struct{ User string }
		if _, body := c.call("GET", "/api/me", ""); json.Unmarshal([]byte(body), &me) != nil || me.User != "alice" {
			t.Errorf("login %s: then /api/me = %s, want alice", tc.body, body)
		}
	}
}

func TestAnonymousVisitorsStoreLittle(t *testing.T) {
	c := newClient(t, serve(t))
	big := `{"value":"` + strings.Repeat("x", maxAnonValue-1) + `"}` // a JSON string of maxAnonValue+1 bytes
	if code := c.status("PUT", "/api/values/big", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("anonymous PUT of a %d-byte value: %d, want 413", maxAnonValue+1, code)
	}
	for i := range maxAnonKeys {
		if code := c.status("PUT", "/api/values/k"+strconv.Itoa(i), `{"value":1}`); code != 200 {
			t.Fatalf("anonymous PUT of value %d: %d, want 200", i+1, code)
		}
	}
	if code := c.status("PUT", "/api/values/more", `{"value":1}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("anonymous PUT of value %d: %d, want 413", maxAnonKeys+1, code)
	}
	if code := c.status("PUT", "/api/values/k0", `{"value":2}`); code != 200 {
		t.Errorf("anonymous overwrite with %d values: %d, want 200", maxAnonKeys, code)
	}
	if code := c.status("PUT", "/api/values/bad", `{"val":1}`); code != 400 {
		t.Errorf("PUT without a value: %d, want 400", code)
	}

	if code := c.status("POST", "/api/login", `{"user":"alice"}`); code != 200 {
		t.Fatalf("login: %d", code)
	}
	for _, body := range []string{`{"value":1}`, big} {
		if code := c.status("PUT", "/api/values/more", body); code != 200 {
			t.Errorf("logged-in PUT of %d bytes: %d, want 200", len(body), code)
		}
	}
	if _, body := c.call("GET", "/api/values/k0", ""); body != `{"value":2}`+"\n" {
		t.Errorf("GET k0 = %q, want the value kept through login", body)
	}
}

func TestRevokeNeedsALoginAndABody(t *testing.T) {
	c := newClient(t, serve(t))
	if code := c.status("POST", "/api/sessions/revoke", `{"all":true}`); code != 401 {
		t.Errorf("anonymous revoke: %d, want 401", code)
	}
	if code := c.status("GET", "/api/sessions", ""); code != 401 {
		t.Errorf("anonymous sessions: %d, want 401", code)
	}
	c.status("POST", "/api/login", `{"user":"alice"}`)
	for body, want := range map[string]int{`{}`: 400, `nope`: 400, `{"id":"x"}`: 404} {
		if code := c.status("POST", "/api/sessions/revoke", body); code != want {
			t.Errorf("revoke %s: %d, want %d", body, code, want)
		}
	}
}
