package browser

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/device"
	"github.com/sesame-go/sesame/internal/demo"
)

// User-Agents of two devices, and the labels package device gives them.
const (
	linuxChrome      = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	linuxChromeIs    = "Chrome 156 on Linux"
	windowsFirefox   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
	windowsFirefoxIs = "Firefox 128 on Windows"
)

// envScreenshot names the file to which TestDevicesPage copies its
// screenshot of the devices page (docs/devices.png is made with it).
const envScreenshot = "SESAME_SCREENSHOT"

// TestDevicesPage logs one user in from two devices, each a browser context
// of its own (a cookie jar of its own) sending its own User-Agent, on the
// demo's real page: device A lists both, marks itself, revokes B, and B is
// logged out on its next request. Then A logs out all other devices after
// its login has gone stale: the page asks it to reauthenticate and retries.
// Its browser has twice the usual time: it runs two browser contexts.
func TestDevicesPage(t *testing.T) {
	const fresh = 2 * time.Second
	tab := startBrowserWithin(t, 2*testTimeout)
	a := newDemoApp(t, memoryStore, sesame.Config{Insecure: true, DeviceLabel: device.Label}, demo.Options{Fresh: fresh})
	devA := newDevice(t, tab, linuxChrome)
	devB := newDevice(t, tab, windowsFirefox)

	openDemo(t, devA, a)
	loginOnPage(t, devA, "alice")
	loggedIn := time.Now() // A's login, at the latest
	openDemo(t, devB, a)
	loginOnPage(t, devB, "alice")

	openDemo(t, devA, a) // A's list was drawn before B logged in
	rows := deviceRows(t, devA)
	if len(rows) != 2 {
		t.Fatalf("A's devices = %+v, want 2", rows)
	}
	slices.SortFunc(rows, func(x, y row) int { return strings.Compare(x.Label, y.Label) })
	if got, want := []string{rows[0].Label, rows[1].Label}, []string{linuxChromeIs, windowsFirefoxIs}; !slices.Equal(got, want) {
		t.Errorf("A's device labels = %q, want %q", got, want)
	}
	for _, r := range rows {
		this := r.Label == linuxChromeIs
		if r.Current != this || (r.Mark == "this device") != this || r.Revoke == this {
			t.Errorf("row %+v: want only A's row (%s) marked \"this device\", and a Revoke button on the other", r, linuxChromeIs)
		}
		if r.IP != "127.0.0.1" || r.Created == "" || r.LastSeen == "" {
			t.Errorf("row %+v: want address 127.0.0.1 and the created and last seen times", r)
		}
	}
	if s := text(t, devA, "status"); !strings.Contains(s, "alice on this device ("+linuxChromeIs+")") {
		t.Errorf("A's status = %q, want it to name alice and %s", s, linuxChromeIs)
	}
	saveScreenshot(t, devA)

	// A revokes B: B is logged out on its next request.
	if err := chromedp.Do(devA,
		chromedp.Click(chromedp.CSS(`#device-list tr:not([data-current]) button.revoke`)),
		poll(`document.querySelectorAll("#device-list tr").length === 1`),
	); err != nil {
		t.Fatalf("revoking B from A's page: %v", err)
	}
	if m := text(t, devA, "message"); m != "Logged out "+windowsFirefoxIs+"." {
		t.Errorf("A's message = %q, want the revoked device named", m)
	}
	if code := fetchStatus(t, devB, "/api/me"); code != 401 {
		t.Errorf("B's next request after its revoke: %d, want 401", code)
	}
	openDemo(t, devB, a)
	if s := text(t, devB, "status"); s != "Not logged in." {
		t.Errorf("B's page after its revoke: %q, want \"Not logged in.\"", s)
	}

	// B logs in again; A's login is now stale, so "log out all other
	// devices" asks A to reauthenticate, then retries.
	loginOnPage(t, devB, "alice")
	openDemo(t, devA, a)
	if n := len(deviceRows(t, devA)); n != 2 {
		t.Fatalf("A lists %d devices after B's new login, want 2", n)
	}
	time.Sleep(time.Until(loggedIn.Add(fresh + 100*time.Millisecond)))
	if err := chromedp.Do(devA,
		chromedp.Click(chromedp.CSS("#revoke-others")),
		chromedp.WaitVisible(chromedp.CSS("#reauth-user")),
		chromedp.SendKeys(chromedp.CSS("#reauth-user"), "bob"),
		chromedp.Click(chromedp.CSS("#reauth-confirm")),
		poll(`document.getElementById("reauth-error").textContent !== ""`),
	); err != nil {
		t.Fatalf("revoke all with a stale login: %v", err)
	}
	if e := text(t, devA, "reauth-error"); !strings.Contains(e, "not you") {
		t.Errorf("reauthenticating as bob: %q, want a refusal", e)
	}
	if code := fetchStatus(t, devB, "/api/me"); code != 200 {
		t.Errorf("B before A reauthenticates: %d, want 200 (nothing revoked yet)", code)
	}
	eval[string](t, devA, `document.getElementById("reauth-user").value = ""`)
	if err := chromedp.Do(devA,
		chromedp.SendKeys(chromedp.CSS("#reauth-user"), "alice"),
		chromedp.Click(chromedp.CSS("#reauth-confirm")),
		poll(`document.getElementById("message").textContent === "Logged out 1 other device."`),
		chromedp.WaitNotVisible(chromedp.CSS("#reauth")),
		poll(`document.querySelectorAll("#device-list tr").length === 1`),
	); err != nil {
		t.Fatalf("reauthenticating and retrying: %v (message %q)", err, text(t, devA, "message"))
	}
	if code := fetchStatus(t, devB, "/api/me"); code != 401 {
		t.Errorf("B after A logged out all other devices: %d, want 401", code)
	}
	if code := fetchStatus(t, devA, "/api/me"); code != 200 {
		t.Errorf("A after logging out all other devices: %d, want 200", code)
	}
}

// newDevice opens a tab in a new browser context of tab's browser, so with
// a cookie jar of its own, whose requests send userAgent.
func newDevice(t *testing.T, tab context.Context, userAgent string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(tab, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel) // before the browser closes: startBrowser's cleanups ran first
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: userAgent}); err != nil {
		t.Fatalf("setting the User-Agent: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 800)); err != nil {
		t.Fatalf("setting the viewport: %v", err)
	}
	return ctx
}

// openDemo loads the demo's page and waits for its first refresh.
func openDemo(t *testing.T, ctx context.Context, a *app) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.URL+"/"),
		poll(`document.body && document.body.dataset.ready === "1"`),
	); err != nil {
		t.Fatalf("loading the demo's page: %v", err)
	}
}

// loginOnPage logs in with the page's form and waits for the devices list.
func loginOnPage(t *testing.T, ctx context.Context, user string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#user"), user),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#devices")),
		poll(`document.querySelectorAll("#device-list tr").length > 0`),
	); err != nil {
		t.Fatalf("logging in as %s on the page: %v", user, err)
	}
}

// row is one row of the page's devices list.
type row struct {
	Label, Mark, IP, Created, LastSeen string
	Current, Revoke                    bool
}

func deviceRows(t *testing.T, ctx context.Context) []row {
	t.Helper()
	return eval[[]row](t, ctx, `[...document.querySelectorAll("#device-list tr")].map((tr) => ({
		Label: tr.cells[0].firstChild.textContent,
		Mark: tr.cells[0].querySelector(".this")?.textContent ?? "",
		IP: tr.cells[1].textContent, Created: tr.cells[2].textContent, LastSeen: tr.cells[3].textContent,
		Current: tr.dataset.current === "true", Revoke: !!tr.querySelector("button.revoke"),
	}))`)
}

// fetchStatus has the page fetch path and returns the status.
func fetchStatus(t *testing.T, ctx context.Context, path string) int {
	t.Helper()
	js := `fetch(` + "`" + path + "`" + `).then((r) => r.status)`
	code, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return code
}

// saveScreenshot takes a PNG of the whole page into the test's temporary
// directory, and copies it to $SESAME_SCREENSHOT if set.
func saveScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	path := filepath.Join(t.TempDir(), "devices.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the devices page: %s (%d bytes)", path, len(png))
	if dst := os.Getenv(envScreenshot); dst != "" {
		if err := os.WriteFile(dst, png, 0o644); err != nil {
			t.Fatalf("%s: %v", envScreenshot, err)
		}
		t.Logf("copied to %s=%s", envScreenshot, dst)
	}
}
