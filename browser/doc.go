// Package browser holds Sesame's browser tests: they check, in a real
// Chromium driven through the DevTools protocol (github.com/chromedp/chromedp),
// that the cookies Sesame sets are stored, sent back, replaced and deleted
// the way the package documentation promises.
//
// It is a separate module, so that the main module never depends on the
// browser driver, and it has no code outside its tests. Each test starts its
// own headless Chromium with a fresh profile, so cookie jars never leak from
// one test to another (cookies are scoped by host, not by port, so servers on
// 127.0.0.1 would otherwise share them), and serves the demo's routes
// (internal/demo, the app cmd/sesame-demo serves), plus a test page and a few
// probes, from an in-process server on 127.0.0.1.
//
// Chromium is found through SESAME_CHROMIUM, then /usr/bin/chromium, then
// "chromium" in PATH. Without it the tests are skipped, except when CI=true,
// where they fail. See README.md.
package browser
