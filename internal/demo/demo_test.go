package demo

import (
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/memstore"
)

// The API across stores is tested through the command, in
// cmd/sesame-demo's TestDemoAPI; these tests cover the handlers' own rules
// on the memory store.

// serve runs New on a memory store until the test ends.
func serve(t *testing.T) string {
	t.Helper()
	return serveWith(t, sesame.Config{}, Options{})
}

// serveWith runs o.New with cfg until the test ends, on a memory store
// unless cfg has a store or a sealer. cfg.Insecure is always set.
func serveWith(t *testing.T, cfg sesame.Config, o Options) string {
	t.Helper()
	if cfg.Store == nil && cfg.Sealer == nil {
		st := memstore.New(memstore.Options{})
		t.Cleanup(func() { st.Close() })
		cfg.Store = st
	}
	cfg.Insecure = true
	srv := httptest.NewServer(o.New(sesame.New(cfg)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// client is an HTTP client with a cookie jar.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
	ua   string // the User-Agent header, if set
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
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
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

// cookie returns the value of the session cookie in c's jar, or "".
func (c *client) cookie() string {
	u, _ := url.Parse(c.base)
	for _, k := range c.c.Jar.Cookies(u) {
		return k.Value
	}
	return ""
}

// getJSON sends a request and decodes its JSON answer into out, failing
// the test unless the status is want.
func (c *client) getJSON(method, path, body string, want int, out any) {
	c.t.Helper()
	resp, b := c.call(method, path, body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if err := json.Unmarshal([]byte(b), out); err != nil {
		c.t.Fatalf("%s %s: %q: %v", method, path, b, err)
	}
}

// login logs c in as user, failing the test otherwise.
func (c *client) login(user string) {
	c.t.Helper()
	if resp, body := c.call("POST", "/api/login", `{"user":"`+user+`"}`); resp.StatusCode != 200 {
		c.t.Fatalf("login %s: %d %s", user, resp.StatusCode, body)
	}
}

// meBody is the answer of GET /api/me and POST /api/reauth.
type meBody struct {
	User            string    `json:"user"`
	Counter         int       `json:"counter"`
	Created         time.Time `json:"created"`
	LastSeen        time.Time `json:"last_seen"`
	Expires         time.Time `json:"expires"`
	AuthenticatedAt time.Time `json:"authenticated_at"`
	Device          string    `json:"device"`
}

// fields returns the keys of a JSON object.
func fields(t *testing.T, body string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	return slices.Sorted(maps.Keys(m))
}

// label is the tests' Config.DeviceLabel.
func label(ua string) string { return "Browser " + strings.ToUpper(ua) }

func TestMeShowsWhenTheUserAuthenticatedAndTheDevice(t *testing.T) {
	c := newClient(t, serveWith(t, sesame.Config{DeviceLabel: label}, Options{}))
	c.ua = "phone"
	before := time.Now()
	c.login("alice")
	resp, body := c.call("GET", "/api/me", "")
	if resp.StatusCode != 200 {
		t.Fatalf("me: %d %s", resp.StatusCode, body)
	}
	want := []string{"authenticated_at", "counter", "created", "device", "expires", "last_seen", "user"}
	if got := fields(t, body); !slices.Equal(got, want) {
		t.Errorf("me fields = %v, want %v", got, want)
	}
	var raw struct {
		AuthenticatedAt string `json:"authenticated_at"`
	}
	json.Unmarshal([]byte(body), &raw)
	at, err := time.Parse(time.RFC3339, raw.AuthenticatedAt)
	if err != nil {
		t.Errorf("authenticated_at %q is not RFC 3339: %v", raw.AuthenticatedAt, err)
	}
	if at.Before(before.Truncate(time.Second)) || at.After(time.Now()) {
		t.Errorf("authenticated_at = %v, want the login's time (after %v)", at, before)
	}
	var me meBody
	json.Unmarshal([]byte(body), &me)
	if me.Device != "Browser PHONE" {
		t.Errorf("device = %q, want the Config.DeviceLabel of the login's User-Agent, \"Browser PHONE\"", me.Device)
	}

	// Without Config.DeviceLabel, the label is the User-Agent.
	c2 := newClient(t, serve(t))
	c2.ua = "Agent/1.0"
	c2.login("bob")
	if c2.getJSON("GET", "/api/me", "", 200, &me); me.Device != "Agent/1.0" {
		t.Errorf("device without DeviceLabel = %q, want the User-Agent", me.Device)
	}
}

func TestReauthRefreshesTheLoginAndRenewsTheCookie(t *testing.T) {
	base := serve(t)
	anon := newClient(t, base)
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"user":"alice"}`, 401, `{"error":"not logged in"}`},
		{`nope`, 400, `{"error":"invalid JSON body"}`},
	} {
		resp, body := anon.call("POST", "/api/reauth", tc.body)
		if resp.StatusCode != tc.status || body != tc.want+"\n" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("anonymous reauth %s: %d %q (%s), want %d %s", tc.body, resp.StatusCode, body, resp.Header.Get("Content-Type"), tc.status, tc.want)
		}
	}

	c := newClient(t, base)
	c.login("alice")
	var before meBody
	c.getJSON("GET", "/api/me", "", 200, &before)
	if resp, body := c.call("POST", "/api/reauth", `{"user":"bob"}`); resp.StatusCode != 403 || !strings.HasPrefix(body, `{"error":`) {
		t.Errorf("reauth as another user: %d %q, want 403 with an error", resp.StatusCode, body)
	}
	if resp, _ := c.call("POST", "/api/reauth", `{"user":""}`); resp.StatusCode != 403 {
		t.Errorf("reauth with an empty name: %d, want 403", resp.StatusCode)
	}

	time.Sleep(5 * time.Millisecond) // so that the new authenticated_at is later
	old := c.cookie()
	resp, body := c.call("POST", "/api/reauth", `{"user":"alice"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("reauth: %d %s", resp.StatusCode, body)
	}
	if got, want := fields(t, body), fields(t, `{"user":0,"counter":0,"created":0,"last_seen":0,"expires":0,"authenticated_at":0,"device":0}`); !slices.Equal(got, want) {
		t.Errorf("reauth fields = %v, want those of /api/me, %v", got, want)
	}
	var after meBody
	json.Unmarshal([]byte(body), &after)
	if after.User != "alice" || !after.AuthenticatedAt.After(before.AuthenticatedAt) {
		t.Errorf("reauth: %+v, want alice with authenticated_at after %v", after, before.AuthenticatedAt)
	}
	if c.cookie() == old || len(resp.Header.Values("Set-Cookie")) != 1 {
		t.Errorf("reauth did not renew the cookie: Set-Cookie %q", resp.Header.Values("Set-Cookie"))
	}
	var again meBody
	if c.getJSON("GET", "/api/me", "", 200, &again); !again.AuthenticatedAt.Equal(after.AuthenticatedAt) {
		t.Errorf("me after reauth: authenticated_at %v, want the reauth's %v", again.AuthenticatedAt, after.AuthenticatedAt)
	}
	// The old cookie no longer works.
	replay := newClient(t, base)
	u, _ := url.Parse(base)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: old}})
	if code := replay.status("GET", "/api/me", ""); code != 401 {
		t.Errorf("the cookie from before reauth: me %d, want 401", code)
	}
}

func TestRevokeAllNeedsAFreshLogin(t *testing.T) {
	const fresh = 300 * time.Millisecond
	base := serveWith(t, sesame.Config{}, Options{Fresh: fresh})
	alice, phone, laptop := newClient(t, base), newClient(t, base), newClient(t, base)
	alice.login("alice")
	phone.login("alice")
	laptop.login("alice")
	if code := alice.status("POST", "/api/sessions/revoke", `{"all":true}`); code != 200 {
		t.Fatalf("revoke all just after login: %d, want 200", code)
	}
	for name, c := range map[string]*client{"phone": phone, "laptop": laptop} {
		if code := c.status("GET", "/api/me", ""); code != 401 {
			t.Errorf("%s after revoke all: %d, want 401", name, code)
		}
		c.login("alice")
	}

	time.Sleep(fresh + 50*time.Millisecond)
	resp, body := alice.call("POST", "/api/sessions/revoke", `{"all":true}`)
	if resp.StatusCode != 403 || body != `{"error":"reauthentication required"}`+"\n" {
		t.Errorf("revoke all with a stale login: %d %q, want 403 {\"error\":\"reauthentication required\"}", resp.StatusCode, body)
	}
	if code := phone.status("GET", "/api/me", ""); code != 200 {
		t.Errorf("phone after a refused revoke all: %d, want 200", code)
	}

	// Revoking one session needs no fresh login.
	var list []Device
	phone.getJSON("GET", "/api/sessions", "", 200, &list)
	var phoneID string
	for _, d := range list {
		if d.Current {
			phoneID = d.ID
		}
	}
	if code := alice.status("POST", "/api/sessions/revoke", `{"id":"`+phoneID+`"}`); code != 200 {
		t.Errorf("revoke one with a stale login: %d, want 200", code)
	}
	if code := phone.status("GET", "/api/me", ""); code != 401 {
		t.Errorf("phone after its revoke: %d, want 401", code)
	}

	// After reauthenticating, revoke all works.
	if code := alice.status("POST", "/api/reauth", `{"user":"alice"}`); code != 200 {
		t.Fatalf("reauth: %d", code)
	}
	var n struct{ Revoked int }
	if alice.getJSON("POST", "/api/sessions/revoke", `{"all":true}`, 200, &n); n.Revoked != 1 {
		t.Errorf("revoke all after reauth: revoked %d, want 1 (the laptop)", n.Revoked)
	}
	if code := laptop.status("GET", "/api/me", ""); code != 401 {
		t.Errorf("laptop after revoke all: %d, want 401", code)
	}
	if code := alice.status("GET", "/api/me", ""); code != 200 {
		t.Errorf("alice after revoke all: %d, want 200", code)
	}
}

func TestSessionsShowEachDevice(t *testing.T) {
	memory := func(t *testing.T) sesame.Config { return sesame.Config{} }
	sealed := func(t *testing.T) sesame.Config {
		k, err := cookiestore.GenerateKey("k1")
		if err != nil {
			t.Fatal(err)
		}
		st, err := cookiestore.New(cookiestore.Options{Keys: []cookiestore.Key{k}})
		if err != nil {
			t.Fatal(err)
		}
		return sesame.Config{Sealer: st}
	}
	for _, tc := range []struct {
		name    string
		cfg     func(*testing.T) sesame.Config
		ipStore sesame.IPStorage
		ip      string
		listing bool
	}{
		{"memstore", memory, sesame.IPFull, "127.0.0.1", true},
		{"memstore with IPPrefix", memory, sesame.IPPrefix, "127.0.0.0/24", true},
		{"memstore with IPNone", memory, sesame.IPNone, "", true},
		{"cookiestore", sealed, sesame.IPFull, "127.0.0.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg(t)
			cfg.DeviceLabel, cfg.IPStorage = label, tc.ipStore
			base := serveWith(t, cfg, Options{})
			phone, laptop := newClient(t, base), newClient(t, base)
			phone.ua, laptop.ua = "phone", "laptop"
			phone.login("alice")
			laptop.login("alice")
			resp, body := laptop.call("GET", "/api/sessions", "")
			if resp.StatusCode != 200 {
				t.Fatalf("sessions: %d %s", resp.StatusCode, body)
			}
			var raw []map[string]json.RawMessage
			json.Unmarshal([]byte(body), &raw)
			for _, item := range raw {
				if got, want := slices.Sorted(maps.Keys(item)), []string{"created", "current", "device", "id", "ip", "last_seen"}; !slices.Equal(got, want) {
					t.Errorf("item fields = %v, want %v", got, want)
				}
			}
			var list []Device
			json.Unmarshal([]byte(body), &list)
			want := map[string]bool{"Browser LAPTOP": true} // label -> current
			if tc.listing {
				want["Browser PHONE"] = false
			}
			if len(list) != len(want) {
				t.Fatalf("sessions = %+v, want %d", list, len(want))
			}
			for _, d := range list {
				if current, ok := want[d.Label]; !ok || d.Current != current || d.IP != tc.ip || d.ID == "" {
					t.Errorf("device %+v, want label in %v (current as marked), ip %q", d, want, tc.ip)
				}
			}
		})
	}
}

func TestCounterLosesNoIncrementUnderParallelRequests(t *testing.T) {
	const goroutines, each = 32, 20
	c := newClient(t, serve(t))
	c.login("alice") // the session exists before the parallel requests share its cookie
	var mu sync.Mutex
	seen := make(map[int]bool)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				resp, body := c.call("POST", "/api/counter", "")
				var n struct {
					Counter *int `json:"counter"`
				}
				if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &n) != nil || n.Counter == nil {
					t.Errorf("counter: %d %q, want 200 {\"counter\":n}", resp.StatusCode, body)
					return
				}
				mu.Lock()
				if seen[*n.Counter] {
					t.Errorf("two requests answered counter %d: each must get the value it committed", *n.Counter)
				}
				seen[*n.Counter] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var me meBody
	if c.getJSON("GET", "/api/me", "", 200, &me); me.Counter != goroutines*each {
		t.Errorf("counter after %d parallel increments = %d, want %d", goroutines*each, me.Counter, goroutines*each)
	}
	for i := 1; i <= goroutines*each; i++ {
		if !seen[i] {
			t.Errorf("no request answered counter %d", i)
			break
		}
	}
	if resp, body := c.call("POST", "/api/counter", ""); body != `{"counter":641}`+"\n" {
		t.Errorf("one more: %d %q, want {\"counter\":641}", resp.StatusCode, body)
	}
}

func TestMaxSessionsEvictsTheLeastRecentlySeen(t *testing.T) {
	// Every request touches, so LastSeen orders the sessions by use.
	base := serveWith(t, sesame.Config{MaxSessionsPerUser: 2, CapPolicy: sesame.CapEvictOldest, TouchInterval: -1}, Options{})
	a, b, c, other := newClient(t, base), newClient(t, base), newClient(t, base), newClient(t, base)
	a.login("alice")
	time.Sleep(2 * time.Millisecond)
	b.login("alice")
	time.Sleep(2 * time.Millisecond)
	other.login("bob")                                       // another user's sessions do not count
	if code := a.status("GET", "/api/me", ""); code != 200 { // a is now seen after b
		t.Fatalf("a: %d", code)
	}
	time.Sleep(2 * time.Millisecond)
	c.login("alice") // the third: b, the least recently seen, goes
	for name, tc := range map[string]struct {
		c    *client
		want int
	}{"a": {a, 200}, "b": {b, 401}, "c": {c, 200}, "bob": {other, 200}} {
		if code := tc.c.status("GET", "/api/me", ""); code != tc.want {
			t.Errorf("%s after alice's third login: %d, want %d", name, code, tc.want)
		}
	}
	var list []Device
	if c.getJSON("GET", "/api/sessions", "", 200, &list); len(list) != 2 {
		t.Errorf("alice has %d sessions, want 2: %+v", len(list), list)
	}
}

func TestObserverLogsEventsWithoutTokens(t *testing.T) {
	var buf testenv.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	base := serveWith(t, sesame.Config{DeviceLabel: label, Observer: &Observer{Logger: log, Label: label}}, Options{})
	c := newClient(t, base)
	c.ua = "phone"
	c.login("alice")
	tokens := []string{c.cookie()}
	var list []Device
	c.getJSON("GET", "/api/sessions", "", 200, &list)
	id := list[0].ID
	c.status("POST", "/api/reauth", `{"user":"alice"}`)
	tokens = append(tokens, c.cookie())
	c.status("POST", "/api/sessions/revoke", `{"all":true}`)
	c.status("POST", "/api/logout", "")

	type line struct {
		Level, Msg, Kind, ID, User, Device string
		Count                              *int
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var e line
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, e)
	}
	kinds := make(map[string]line)
	for _, l := range lines {
		if l.Level != "INFO" || l.Msg != "session event" {
			t.Errorf("log line %+v, want an INFO \"session event\"", l)
		}
		kinds[l.Kind] = l
	}
	if l := kinds["logged_in"]; l.ID != id || l.User != "alice" || l.Device != "Browser PHONE" {
		t.Errorf("logged_in = %+v, want ID %s, alice, Browser PHONE", l, id)
	}
	for _, k := range []string{"reauthenticated", "destroyed"} {
		if l := kinds[k]; l.ID == "" || l.User != "alice" || l.Device != "Browser PHONE" {
			t.Errorf("%s = %+v, want an ID, alice and Browser PHONE", k, l)
		}
	}
	if l := kinds["revoked_all"]; l.User != "alice" || l.Count == nil || *l.Count != 0 {
		t.Errorf("revoked_all = %+v, want alice with count 0", l)
	}
	for _, tok := range tokens {
		if tok == "" || strings.Contains(buf.String(), tok) {
			t.Errorf("the log holds a session token (or there was none): %q", tok)
		}
	}
}

func TestCrossOriginWritesAreRefused(t *testing.T) {
	// Login CSRF: a cross-site text/plain POST of {"user":"mallory"} to
	// /api/login must not log the visitor in as the attacker.
	base := serve(t)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"cross-site (Sec-Fetch-Site)", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"another origin (Origin)", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"no browser headers (curl)", nil, http.StatusOK},
	} {
		c := newClient(t, base)
		req, err := http.NewRequestWithContext(t.Context(), "POST", base+"/api/login", strings.NewReader(`{"user":"mallory"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain")
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		resp, err := c.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: login answered %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if got := len(resp.Header.Values("Set-Cookie")) > 0; got != (tc.status == http.StatusOK) {
			t.Errorf("%s: Set-Cookie sent: %v", tc.name, got)
		}
	}
}
