package browser

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-go/sesame"
)

// devConfig is the demo's default configuration: plain HTTP (no Secure
// attribute), everything else default. TestSecureCookieOverPlainHTTP covers
// the library's own default, a Secure cookie.
func devConfig() sesame.Config { return sesame.Config{Insecure: true} }

func TestSessionCookieIsStoredAndSentBack(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(string(kind), func(t *testing.T) {
			tab := startBrowser(t)
			a := newApp(t, kind, devConfig())
			for want := 1; want <= 3; want++ {
				if got := countOnLoad(t, tab, a); got != strconv.Itoa(want) {
					t.Fatalf("page load %d: counter = %q, want %d: the browser did not send the session cookie back", want, got, want)
				}
			}
			t.Logf("jar: %s", describeCookie(mustSessionCookie(t, tab, a)))
		})
	}
}

func TestSessionCookieIsHiddenFromScripts(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(string(kind), func(t *testing.T) {
			tab := startBrowser(t)
			a := newApp(t, kind, devConfig())
			countOnLoad(t, tab, a)
			c := mustSessionCookie(t, tab, a)
			if !c.HTTPOnly {
				t.Errorf("jar entry is not HttpOnly: %s", describeCookie(c))
			}
			load(t, tab, a, "") // the page shows document.cookie once loaded
			for _, seen := range []string{text(t, tab, "cookies"), eval[string](t, tab, "document.cookie")} {
				// The page's own non-HttpOnly cookie shows that scripts
				// do see cookies, just not the session's.
				if !strings.Contains(seen, "visible=yes") {
					t.Errorf("document.cookie = %q, want it to hold the script-visible cookie visible=yes", seen)
				}
				if strings.Contains(seen, a.m.Name()+"=") || strings.Contains(seen, c.Value) {
					t.Errorf("document.cookie = %q exposes the HttpOnly session cookie", seen)
				}
			}
		})
	}
}

// TestLoginReplacesTheCookieAndKillsTheOldOne runs on the memory store
// only: a sealed cookie (cookiestore) carries the session itself, so an old
// copy stays valid until its expiry unless the user's sessions are revoked,
// as the cookiestore package documents under "Revocation".
func TestLoginReplacesTheCookieAndKillsTheOldOne(t *testing.T) {
	tab := startBrowser(t)
	a := newApp(t, memoryStore, devConfig())

	if got := countOnLoad(t, tab, a); got != "1" {
		t.Fatalf("counter = %q, want 1", got)
	}
	anonymous := mustSessionCookie(t, tab, a).Value

	if res := call(t, tab, "POST", "/api/login", map[string]string{"user": "alice"}); res.Status != http.StatusOK {
		t.Fatalf("login: %+v", res)
	}
	alice := mustSessionCookie(t, tab, a).Value // fails if the jar holds two
	if alice == anonymous {
		t.Fatal("login left the cookie value unchanged in the browser's jar")
	}
	res := call(t, tab, "GET", "/api/me", nil)
	var me struct {
		User    string `json:"user"`
		Counter int    `json:"counter"`
	}
	if err := json.Unmarshal(res.Data, &me); err != nil || res.Status != http.StatusOK || me.User != "alice" || me.Counter != 1 {
		t.Fatalf("after login, the browser's /api/me = %d %s, want 200 with user alice and the counter kept at 1", res.Status, res.Data)
	}

	// Replay the pre-login value from a plain Go client: its session is
	// gone, data and all. The current value, replayed the same way, works.
	var st state
	if code := replay(t, a, "/api/state", anonymous, &st); code != http.StatusOK || st != (state{New: true}) {
		t.Errorf("replayed pre-login cookie: %d %+v, want a new empty session", code, st)
	}
	if code := replay(t, a, "/api/state", alice, &st); code != http.StatusOK || st != (state{User: "alice", Counter: 1}) {
		t.Errorf("replayed current cookie: %d %+v, want alice's session with counter 1", code, st)
	}

	// A second login renews again: alice's value must no longer log in.
	if res := call(t, tab, "POST", "/api/login", map[string]string{"user": "bob"}); res.Status != http.StatusOK {
		t.Fatalf("second login: %+v", res)
	}
	if bob := mustSessionCookie(t, tab, a).Value; bob == alice {
		t.Fatal("second login left the cookie value unchanged")
	}
	if code := replay(t, a, "/api/me", alice, nil); code != http.StatusUnauthorized {
		t.Errorf("replayed alice's cookie after the next login: status %d, want 401 (not logged in)", code)
	}
}

func TestLogoutDeletesTheCookie(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(string(kind), func(t *testing.T) {
			tab := startBrowser(t)
			a := newApp(t, kind, devConfig())
			load(t, tab, a, "")
			if res := call(t, tab, "POST", "/api/login", map[string]string{"user": "alice"}); res.Status != http.StatusOK {
				t.Fatalf("login: %+v", res)
			}
			loggedIn := mustSessionCookie(t, tab, a).Value

			if res := call(t, tab, "POST", "/api/logout", nil); res.Status != http.StatusNoContent {
				t.Fatalf("logout: %+v", res)
			}
			lines := a.lastSetCookies("POST", "/api/logout")
			if len(lines) != 1 || !strings.Contains(lines[0], "Max-Age=0") || !strings.Contains(lines[0], "Expires=Thu, 01 Jan 1970") {
				t.Fatalf("logout sent Set-Cookie %q, want one line with Max-Age=0 and an Expires in 1970", lines)
			}
			if c := sessionCookie(t, tab, a); c != nil {
				t.Fatalf("after logout the jar still holds %s", describeCookie(c))
			}
			if res := call(t, tab, "GET", "/api/me", nil); res.Status != http.StatusUnauthorized {
				t.Errorf("after logout the browser's /api/me = %+v, want 401", res)
			}
			if kind == memoryStore {
				// Destroy also deleted the record: a saved copy is dead.
				if code := replay(t, a, "/api/me", loggedIn, nil); code != http.StatusUnauthorized {
					t.Errorf("replayed cookie after logout: status %d, want 401", code)
				}
			}
		})
	}
}

func TestSessionOnlyCookieHasNoExpiry(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(string(kind), func(t *testing.T) {
			tab := startBrowser(t)
			a := newApp(t, kind, devConfig())
			load(t, tab, a, "")
			if res := call(t, tab, "POST", "/api/login", map[string]string{"user": "alice"}); res.Status != http.StatusOK {
				t.Fatalf("login: %+v", res)
			}
			lines := a.lastSetCookies("POST", "/api/login")
			if len(lines) != 1 || strings.Contains(lines[0], "Max-Age") || strings.Contains(lines[0], "Expires") {
				t.Errorf("login sent Set-Cookie %q, want one line without Max-Age or Expires", lines)
			}
			c := mustSessionCookie(t, tab, a)
			if !c.Session || c.Expires != -1 {
				t.Errorf("jar entry %s (session=%t, expires=%v), want a session cookie with expires -1", describeCookie(c), c.Session, c.Expires)
			}
		})
	}
}

func TestRememberMeCookieExpiresWithTheSession(t *testing.T) {
	const lifetime, idle = 2 * time.Hour, 20 * time.Minute
	for _, kind := range storeKinds {
		for _, tc := range []struct {
			name  string
			fixed bool
			want  time.Duration // expiry, counted from the login
		}{
			{"rolling", false, idle}, // the idle timeout, pushed back on use
			{"fixed", true, lifetime},
		} {
			t.Run(string(kind)+"/"+tc.name, func(t *testing.T) {
				tab := startBrowser(t)
				cfg := devConfig()
				cfg.Lifetime, cfg.IdleTimeout, cfg.FixedExpiry = lifetime, idle, tc.fixed
				a := newApp(t, kind, cfg)
				load(t, tab, a, "")
				before := time.Now()
				res := call(t, tab, "POST", "/api/login", map[string]any{"user": "alice", "remember": true})
				after := time.Now()
				if res.Status != http.StatusOK {
					t.Fatalf("login: %+v", res)
				}
				c := mustSessionCookie(t, tab, a)
				if c.Session {
					t.Fatalf("jar entry %s is session-only, want a persistent cookie", describeCookie(c))
				}
				// Max-Age is whole seconds, rounded down, and counted by
				// Chromium from when it received the response.
				got := expiry(c)
				lo, hi := before.Add(tc.want-2*time.Second), after.Add(tc.want+time.Second)
				if got.Before(lo) || got.After(hi) {
					t.Errorf("jar expiry %s, want login time + %v (between %s and %s)", got.Format(time.RFC3339), tc.want, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
				}
				t.Logf("jar: %s (login + %v)", describeCookie(c), got.Sub(before).Round(time.Second))
			})
		}
	}
}

func TestSameSiteIsRecordedInTheJar(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sameSite http.SameSite
		want     network.CookieSameSite
	}{
		{"default", 0, network.CookieSameSiteLax},
		{"strict", http.SameSiteStrictMode, network.CookieSameSiteStrict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := startBrowser(t)
			cfg := devConfig()
			cfg.SameSite = tc.sameSite
			a := newApp(t, memoryStore, cfg)
			countOnLoad(t, tab, a)
			if c := mustSessionCookie(t, tab, a); c.SameSite != tc.want {
				t.Errorf("jar entry %s, want SameSite %q", describeCookie(c), tc.want)
			}
		})
	}
}

// TestSecureCookieOverPlainHTTP checks the library's default, a Secure
// cookie, on a plain-HTTP server. Observed in Chromium (156):
//
//   - On http://127.0.0.1 and http://localhost the Secure cookie is stored
//     and sent back. These hosts are "potentially trustworthy" origins (W3C
//     Secure Contexts, §3.1: 127.0.0.0/8 and localhost), so the page is a
//     secure context, and RFC 6265bis leaves what counts as a secure
//     connection for the Secure attribute to the user agent (§5.7, §5.8.3;
//     httpwg/http-extensions#2759 words it so that http://localhost
//     qualifies). Local development works without Config.Insecure.
//   - On any other plain-HTTP host the Secure cookie is refused at once,
//     not stored, and the session silently restarts on every request. The
//     test maps the name sesame.test to 127.0.0.1 in Chromium's resolver to
//     show it: traffic still goes only to the loopback server.
func TestSecureCookieOverPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		host   string
		stored bool
	}{
		{"127.0.0.1", true},
		{"localhost", true},
		{"sesame.test", false}, // mapped to 127.0.0.1, but not trustworthy
	} {
		t.Run(tc.host, func(t *testing.T) {
			tab := startBrowser(t, chromedp.Flag("host-resolver-rules", "MAP sesame.test 127.0.0.1"))
			a := newApp(t, memoryStore, sesame.Config{}) // Secure by default
			a.URL = strings.Replace(a.URL, "127.0.0.1", tc.host, 1)

			first := countOnLoad(t, tab, a)
			if lines := a.lastSetCookies("POST", "/api/counter"); len(lines) != 1 || !strings.Contains(lines[0], "; Secure") {
				t.Fatalf("Set-Cookie %q, want one line with Secure", lines)
			}
			second := countOnLoad(t, tab, a)
			secureContext := eval[bool](t, tab, "window.isSecureContext")
			c := sessionCookie(t, tab, a)
			t.Logf("http://%s: secure context %t; counter %s then %s; jar: %s", tc.host, secureContext, first, second, describeJar(jar(t, tab)))

			if secureContext != tc.stored {
				t.Errorf("window.isSecureContext = %t, want %t", secureContext, tc.stored)
			}
			if tc.stored {
				if c == nil || !c.Secure {
					t.Fatalf("want the Secure cookie stored, with its Secure flag; jar: %s", describeJar(jar(t, tab)))
				}
				if first != "1" || second != "2" {
					t.Errorf("counter %s then %s, want 1 then 2: the Secure cookie was not sent back over plain HTTP", first, second)
				}
				return
			}
			if c != nil {
				t.Errorf("want the Secure cookie refused on a plain-HTTP, non-loopback origin; jar holds %s", describeCookie(c))
			}
			if first != "1" || second != "1" {
				t.Errorf("counter %s then %s, want 1 then 1: without its cookie every request starts a new session", first, second)
			}
		})
	}
}

func TestTamperedCookieGivesAFreshSession(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(string(kind), func(t *testing.T) {
			tab := startBrowser(t)
			a := newApp(t, kind, devConfig())
			countOnLoad(t, tab, a)
			if got := countOnLoad(t, tab, a); got != "2" {
				t.Fatalf("counter = %q, want 2", got)
			}
			good := mustSessionCookie(t, tab, a)
			bad := flipMiddle(good.Value)
			if _, err := chromedp.Call(tab, network.SetCookie, network.SetCookieParams{
				URL: a.URL, Name: good.Name, Value: bad, Path: good.Path,
				HTTPOnly: &good.HTTPOnly, SameSite: good.SameSite,
			}); err != nil {
				t.Fatalf("Network.setCookie: %v", err)
			}
			if got := mustSessionCookie(t, tab, a).Value; got != bad {
				t.Fatal("Network.setCookie did not put the tampered value in the jar")
			}

			got := countOnLoad(t, tab, a)
			if last := text(t, tab, "last"); got != "1" || !strings.HasPrefix(last, `{"status":200,`) {
				t.Fatalf("with a tampered cookie: counter %q, answer %s; want a new session counting 1 with status 200", got, last)
			}
			if fresh := mustSessionCookie(t, tab, a).Value; fresh == bad || fresh == good.Value {
				t.Errorf("the jar still holds the tampered or the old value; want a new session's cookie")
			}
			if got := countOnLoad(t, tab, a); got != "2" {
				t.Errorf("next page load: counter %q, want 2 (the new session's cookie works)", got)
			}
		})
	}
}

// flipMiddle changes one base64url character in the middle of v.
func flipMiddle(v string) string {
	b := []byte(v)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
