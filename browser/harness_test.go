package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/internal/demo"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/memstore"
)

// testTimeout bounds each test: its browser, and every action in it.
const testTimeout = 60 * time.Second

// chromiumPath returns the Chromium binary: SESAME_CHROMIUM, else
// /usr/bin/chromium, else chromium in PATH. Without one it skips t, or
// fails it when CI=true.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SESAME_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("SESAME_CHROMIUM=%q is not an executable: %v", p, err)
		}
		return p
	}
	if _, err := exec.LookPath("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		const msg = "Chromium not found (no SESAME_CHROMIUM, no /usr/bin/chromium, no chromium in PATH); " +
			"install Debian's chromium package (bash .ci/browser.sh does) or set SESAME_CHROMIUM"
		if testenv.CI() {
			t.Fatalf("%s: the browser tests must run in CI (CI=true)", msg)
		}
		t.Skipf("skipping: %s", msg)
	}
	return p
}

// startBrowser starts a headless Chromium with a fresh profile for t and
// returns a context for its first tab. The browser lives at most
// testTimeout; it is closed, and its profile removed, when t ends.
func startBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return startBrowserWithin(t, testTimeout, extra...)
}

// startBrowserWithin is startBrowser for a browser that lives at most
// timeout, for a test that does more than most.
func startBrowserWithin(t *testing.T, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	profile, err := os.MkdirTemp("", "sesame-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the browser has closed.
	t.Cleanup(func() { removeProfile(t, profile) })

	ctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancelTimeout)
	var output testenv.Buffer
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // the tests run as root in CI
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-breakpad", true),
		// Without these three, Chromium connects to Google services at
		// start, which a closed network refuses.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(&output),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(opts, extra...)...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		// Close gracefully, so Chromium's helpers stop writing to the
		// profile before it is removed.
		closeCtx, cancel := context.WithTimeout(tab, 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing Chromium: %v", err)
		}
		cancelTab()
		if t.Failed() {
			out := output.String()
			if len(out) > 4000 {
				out = "..." + out[len(out)-4000:]
			}
			t.Logf("Chromium output:\n%s", out)
		}
	})
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("starting Chromium %s: %v\n%s", exe, err, output.String())
	}
	return tab
}

// removeProfile removes a Chromium profile, retrying for a few seconds:
// Chromium's helper processes may still write to it just after the browser
// has exited.
func removeProfile(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("removing Chromium profile %s: %v", dir, err)
}

// storeKind selects where the app keeps sessions.
type storeKind string

const (
	memoryStore storeKind = "memstore"    // server side: the cookie holds a token
	cookieStore storeKind = "cookiestore" // client side: the cookie holds the sealed session
)

var storeKinds = []storeKind{memoryStore, cookieStore}

// app is the demo (internal/demo, which cmd/sesame-demo serves) behind a
// Manager with the test's configuration and store, served on 127.0.0.1.
type app struct {
	URL string
	m   *sesame.Manager

	mu         sync.Mutex
	setCookies map[string][]string // "METHOD /path" -> Set-Cookie lines of the last response
}

// pagePath is where the app serves the test page (page, below); the demo
// owns GET /.
const pagePath = "/browser-test"

// newApp serves the app with cfg and the given store on 127.0.0.1. Its mux
// holds the demo's routes (demo.Routes: login, counter, me, logout and the
// rest of its API) and three probes of the test's own: GET /api/state,
// which reports the session without changing it; GET /browser-test, a page
// whose script calls the API with fetch and writes the results into the
// DOM, and which sets a cookie scripts may read; and a recorder of every
// response's Set-Cookie lines (lastSetCookies).
func newApp(t *testing.T, kind storeKind, cfg sesame.Config) *app {
	t.Helper()
	return newDemoApp(t, kind, cfg, demo.Options{})
}

// newDemoApp is newApp with the demo's own Options.
func newDemoApp(t *testing.T, kind storeKind, cfg sesame.Config, o demo.Options) *app {
	t.Helper()
	switch kind {
	case memoryStore:
		st := memstore.New(memstore.Options{})
		t.Cleanup(func() { st.Close() })
		cfg.Store = st
	case cookieStore:
		key, err := cookiestore.GenerateKey("k1")
		if err != nil {
			t.Fatal(err)
		}
		st, err := cookiestore.New(cookiestore.Options{Keys: []cookiestore.Key{key}, Lifetime: cfg.Lifetime})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Sealer = st
	default:
		t.Fatalf("unknown store %q", kind)
	}
	a := &app{m: sesame.New(cfg), setCookies: make(map[string][]string)}

	mux := http.NewServeMux()
	o.Routes(mux, a.m)
	mux.HandleFunc("GET "+pagePath, func(w http.ResponseWriter, r *http.Request) {
		// A cookie scripts may read, so a test can tell "document.cookie
		// works but hides the session cookie" from "document.cookie is
		// empty".
		http.SetCookie(w, &http.Cookie{Name: "visible", Value: "yes", Path: "/", SameSite: http.SameSiteLaxMode})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		n, _ := sesame.Get[int](s, "counter") // the demo's counter key
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(state{User: s.User(), Counter: n, New: s.IsNew()})
	})
	h := a.m.Handler(mux)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		// The middleware has added its Set-Cookie lines to w's header map.
		a.mu.Lock()
		a.setCookies[r.Method+" "+r.URL.Path] = w.Header().Values("Set-Cookie")
		a.mu.Unlock()
	}))
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// state is the answer of GET /api/state.
type state struct {
	User    string `json:"user"`
	Counter int    `json:"counter"`
	New     bool   `json:"new"`
}

// lastSetCookies returns the Set-Cookie lines of the last response to
// method and path.
func (a *app) lastSetCookies(method, path string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.setCookies[method+" "+path]
}

// page is the test page, at pagePath. With ?count, it increments the
// demo's counter on load and shows it in #counter; it always shows
// document.cookie in #cookies and the last API answer in #last, then sets
// data-ready on the body. Tests also call api() directly.
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sesame browser test</title></head>
<body>
<p>Counter: <span id="counter"></span></p>
<p>Cookies scripts can read: <code id="cookies"></code></p>
<p>Last API answer: <code id="last"></code></p>
<script>
async function api(method, path, body) {
  const r = await fetch(path, {method, headers: {"Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await r.text();
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch (e) {}
  const res = {status: r.status, data};
  document.getElementById("last").textContent = JSON.stringify(res);
  return res;
}
async function main() {
  if (new URLSearchParams(location.search).has("count")) {
    const r = await api("POST", "/api/counter");
    document.getElementById("counter").textContent = r.status === 200 ? r.data.counter : "error " + r.status;
  }
  document.getElementById("cookies").textContent = document.cookie;
  document.body.dataset.ready = "1";
}
main();
</script>
</body></html>
`

// apiResult is what the page's api() returns.
type apiResult struct {
	Status int             `json:"status"`
	Data   json.RawMessage `json:"data"`
}

// load navigates tab to the test page with the given query and waits for
// its script to finish.
func load(t *testing.T, tab context.Context, a *app, query string) {
	t.Helper()
	url := a.URL + pagePath
	if query != "" {
		url += "?" + query
	}
	if err := chromedp.Do(tab,
		chromedp.Navigate(url),
		poll(`document.body && document.body.dataset.ready === "1"`),
	); err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
}

func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(testTimeout))
}

// text returns the text of the element with the given ID.
func text(t *testing.T, tab context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.TextContent(chromedp.CSS("#"+id)))
	if err != nil {
		t.Fatalf("reading #%s: %v", id, err)
	}
	return s
}

// countOnLoad loads the page with ?count and returns the counter it shows.
func countOnLoad(t *testing.T, tab context.Context, a *app) string {
	t.Helper()
	load(t, tab, a, "count")
	return text(t, tab, "counter")
}

// call has the page call the API with fetch, as the demo's script does.
func call(t *testing.T, tab context.Context, method, path string, body any) apiResult {
	t.Helper()
	arg := "undefined"
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		arg = string(b)
	}
	js := fmt.Sprintf("api(%q, %q, %s)", method, path, arg)
	res, err := chromedp.Run(tab, chromedp.Evaluate[apiResult](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return res
}

// jar returns every cookie in the browser's jar, as the DevTools protocol
// reports them (Storage.getCookies: unfiltered by URL or Secure).
func jar(t *testing.T, tab context.Context) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(tab, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		t.Fatalf("Storage.getCookies: %v", err)
	}
	return res.Cookies
}

// sessionCookie returns the session cookie in the browser's jar, or nil.
// It fails t if the jar holds more than one.
func sessionCookie(t *testing.T, tab context.Context, a *app) *network.Cookie {
	t.Helper()
	var found *network.Cookie
	for _, c := range jar(t, tab) {
		if c.Name != a.m.Name() {
			continue
		}
		if found != nil {
			t.Fatalf("the jar holds two %q cookies: %+v and %+v", c.Name, found, c)
		}
		found = c
	}
	return found
}

// mustSessionCookie is sessionCookie, failing t if there is none.
func mustSessionCookie(t *testing.T, tab context.Context, a *app) *network.Cookie {
	t.Helper()
	c := sessionCookie(t, tab, a)
	if c == nil {
		t.Fatalf("no %q cookie in the browser's jar: %s", a.m.Name(), describeJar(jar(t, tab)))
	}
	return c
}

func describeJar(cookies []*network.Cookie) string {
	if len(cookies) == 0 {
		return "(empty)"
	}
	var b strings.Builder
	for _, c := range cookies {
		fmt.Fprintf(&b, "\n  %s", describeCookie(c))
	}
	return b.String()
}

// describeCookie shows a jar entry without its value.
func describeCookie(c *network.Cookie) string {
	exp := "session"
	if !c.Session {
		exp = expiry(c).UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s (%d-byte value) domain=%s path=%s expires=%s httpOnly=%t secure=%t sameSite=%q",
		c.Name, len(c.Value), c.Domain, c.Path, exp, c.HTTPOnly, c.Secure, c.SameSite)
}

// expiry returns a jar entry's expiry.
func expiry(c *network.Cookie) time.Time {
	return time.Unix(0, int64(c.Expires*float64(time.Second)))
}

// replay sends a GET to the app with only the given session cookie, from a
// plain Go client with no jar, and decodes the JSON answer into out.
func replay(t *testing.T, a *app, path, value string, out any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: a.m.Name(), Value: value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: decoding the answer: %v", path, err)
		}
	}
	return resp.StatusCode
}

// eval evaluates a JavaScript expression in tab's page.
func eval[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}
