package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame/internal/testenv"
)

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: %v, want flag.ErrHelp (which main turns into exit 0)", err)
	}
	help := stderr.String()
	if !strings.HasPrefix(help, "Usage: sesame-demo [flags]\n") {
		t.Errorf("-h does not start with a usage line:\n%s", help)
	}
	var o options
	n := 0
	o.flags(io.Discard).VisitAll(func(f *flag.Flag) {
		n++
		if len(f.Usage) < 10 {
			t.Errorf("-%s has no help text: %q", f.Name, f.Usage)
		}
		if !strings.Contains(help, "\n  -"+f.Name+" ") && !strings.Contains(help, "\n  -"+f.Name+"\n") {
			t.Errorf("-h does not list -%s:\n%s", f.Name, help)
		}
	})
	for _, name := range []string{"fresh DURATION", "max-sessions N"} {
		if !strings.Contains(help, "\n  -"+name+"\n") {
			t.Errorf("-h does not list -%s:\n%s", name, help)
		}
	}
	if n < 10 {
		t.Errorf("the demo has %d flags, want at least 10", n)
	}
}

func TestBadFlagValuesFailAtStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-fresh", "0"}, "-fresh 0s: must be positive"},
		{[]string{"-fresh", "-1m"}, "-fresh -1m0s: must be positive"},
		{[]string{"-max-sessions", "-1"}, "-max-sessions -1: must be 0"},
		{[]string{"-store", "memory", "extra"}, "unexpected arguments"},
		{[]string{"-store", "cookie", "-sqlite", db, "-max-sessions", "2"}, "-max-sessions 2 needs a server-side store: -store cookie keeps sessions in cookies"},
	} {
		t.Setenv("SESAME_KEYS", "")
		err := serve(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, tc.args...), io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("sesame-demo %s: %v, want an error with %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

func TestFreshFlagGuardsRevokeAll(t *testing.T) {
	const fresh = 250 * time.Millisecond
	base := startDemo(t, "-store", "memory", "-fresh", fresh.String())
	alice, phone := newBrowser(t, base), newBrowser(t, base)
	alice.call("POST", "/api/login", `{"user":"alice"}`, nil)
	phone.call("POST", "/api/login", `{"user":"alice"}`, nil)
	if code := alice.call("POST", "/api/sessions/revoke", `{"all":true}`, nil); code != 200 {
		t.Errorf("revoke all within -fresh of the login: %d, want 200", code)
	}
	phone.call("POST", "/api/login", `{"user":"alice"}`, nil)
	time.Sleep(fresh + 50*time.Millisecond)
	var e struct{ Error string }
	if code := alice.call("POST", "/api/sessions/revoke", `{"all":true}`, nil); code != 403 {
		t.Errorf("revoke all after -fresh: %d, want 403", code)
	}
	if code := phone.call("GET", "/api/me", "", nil); code != 200 {
		t.Errorf("phone after a refused revoke all: %d, want 200", code)
	}
	alice.call("POST", "/api/reauth", `{"user":"alice"}`, nil)
	if code := alice.call("POST", "/api/sessions/revoke", `{"all":true}`, &e); code != 200 {
		t.Errorf("revoke all after reauth: %d, want 200", code)
	}
	if code := phone.call("GET", "/api/me", "", nil); code != 401 {
		t.Errorf("phone after revoke all: %d, want 401", code)
	}
}

func TestMaxSessionsFlagEvictsTheLeastRecentlySeen(t *testing.T) {
	for _, store := range demoStores() {
		if clientSideStores[store] {
			continue // refused at start: TestBadFlagValuesFailAtStart
		}
		t.Run(store, func(t *testing.T) {
			base := startDemo(t, append(testStores[store](t), "-max-sessions", "2")...)
			var devices []*browser
			for i := range 3 {
				b := newBrowser(t, base)
				if code := b.call("POST", "/api/login", `{"user":"alice"}`, nil); code != 200 {
					t.Fatalf("login %d: %d", i+1, code)
				}
				devices = append(devices, b)
				time.Sleep(5 * time.Millisecond) // stores keep milliseconds
			}
			for i, want := range []int{401, 200, 200} {
				if code := devices[i].call("GET", "/api/me", "", nil); code != want {
					t.Errorf("device %d after the third login under -max-sessions 2: %d, want %d", i+1, code, want)
				}
			}
		})
	}
}

func TestCounterIsAtomicOnEveryStore(t *testing.T) {
	const goroutines, each = 16, 10
	for _, store := range demoStores() {
		if clientSideStores[store] {
			continue // a cookie is one writer: the browser keeps the last response's
		}
		t.Run(store, func(t *testing.T) {
			b := newBrowser(t, startDemo(t, testStores[store](t)...))
			b.call("POST", "/api/login", `{"user":"alice"}`, nil)
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					for range each {
						if code := b.call("POST", "/api/counter", "", nil); code != 200 {
							t.Errorf("counter: %d", code)
							return
						}
					}
				})
			}
			wg.Wait()
			var u whoami
			if b.call("GET", "/api/me", "", &u); u.Counter != goroutines*each {
				t.Errorf("counter after %d parallel increments with one cookie = %d", goroutines*each, u.Counter)
			}
		})
	}
}

func TestDemoLogsSessionEvents(t *testing.T) {
	var log testenv.Buffer
	base, stop := runDemoTo(t, &log, "-store", "memory")
	alice := newBrowser(t, base)
	alice.ua = chromeLinux
	alice.call("POST", "/api/login", `{"user":"alice"}`, nil)
	token := alice.cookie()
	alice.call("POST", "/api/logout", "", nil)
	stop()
	out := log.String()
	for _, want := range []string{
		`level=INFO msg="session event" kind=logged_in id=`,
		`user=alice device="Chrome 156 on Linux"`,
		`kind=destroyed`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's log lacks %q:\n%s", want, out)
		}
	}
	if token == "" || strings.Contains(out, token) {
		t.Errorf("the log holds the session token %q (or there was none):\n%s", token, out)
	}
}
