package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-go/sesame/compat/itsdangerous"
)

func TestMigrateFlagAdoptsAPythonSession(t *testing.T) {
	for _, tc := range []struct {
		format string
		codec  itsdangerous.Codec
	}{
		{"flask", itsdangerous.Flask("s3cret")},
		{"starlette", itsdangerous.Starlette("s3cret")},
	} {
		t.Run(tc.format, func(t *testing.T) {
			base := startDemo(t, "-store", "memory", "-migrate", tc.format, "-migrate-secret", "s3cret")
			legacy, err := tc.codec.Encode(map[string]any{"user": "alice", "counter": 3, "theme": "dark"})
			if err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t, base)
			// The legacy cookie has Sesame's name, as Flask's and
			// Starlette's do by default.
			b.c.Jar.SetCookies(mustURL(base), []*http.Cookie{{Name: "session", Value: legacy}})
			var me whoami
			if st := b.call("GET", "/api/me", "", &me); st != 200 || me.User != "alice" || me.Counter != 3 {
				t.Fatalf("GET /api/me with a %s cookie: %d %+v, want 200 alice with counter 3", tc.format, st, me)
			}
			if c := b.cookie(); c == "" || c == legacy {
				t.Errorf("the legacy cookie was not replaced: %.40q", c)
			}
			var v struct{ Value string }
			if st := b.call("GET", "/api/values/theme", "", &v); st != 200 || v.Value != "dark" {
				t.Errorf("GET /api/values/theme: %d %+v, want dark", st, v)
			}
			if st := b.call("GET", "/api/me", "", &me); st != 200 || me.User != "alice" {
				t.Errorf("the Sesame session does not hold: %d %+v", st, me)
			}
		})
	}
}

func TestMigrateFlagsAreChecked(t *testing.T) {
	t.Setenv("SESAME_MIGRATE_SECRET", "")
	for args, want := range map[string]string{
		"-migrate django -migrate-secret s": `-migrate "django": want flask or starlette`,
		"-migrate flask":                    "-migrate flask needs the Python app's secret",
	} {
		err := run(context.Background(), append([]string{"-store", "memory", "-addr", "127.0.0.1:0"}, strings.Fields(args)...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
}
