package sesame

import (
	"net/http"
	"testing"
	"time"
)

func TestCookieLinesMatchNetHTTP(t *testing.T) {
	until := time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, c := range []http.Cookie{
		{Name: "session", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode},
		{Name: "__Host-id", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, Partitioned: true},
		{Name: "s", Path: "/app", Domain: "example.com", SameSite: http.SameSiteNoneMode, Secure: true},
		{Name: "s", Path: "/", Domain: ".example.com", SameSite: http.SameSiteDefaultMode},
	} {
		cw := newCookieWriter(c)
		for _, tc := range []struct {
			value   string
			expires time.Time
			maxAge  int
		}{
			{newToken(), time.Time{}, 0},
			{newToken(), until, 3600},
			{"", time.Unix(1, 0), -1},
		} {
			want := c
			want.Value, want.Expires, want.MaxAge = tc.value, tc.expires, tc.maxAge
			if got := cw.line(tc.value, tc.expires, tc.maxAge); got != want.String() {
				t.Errorf("line = %q\nwant   %q", got, want.String())
			}
		}
	}
}

func TestCookieValuesAreChecked(t *testing.T) {
	if !validCookieValue(newToken()) || !validCookieValue("AQJrMg-_x") {
		t.Error("a base64url value was refused")
	}
	for _, bad := range []string{"a b", "a;b", `a"b`, "a,b", `a\b`, "a\x00b", "é"} {
		if validCookieValue(bad) {
			t.Errorf("validCookieValue(%q) = true", bad)
		}
	}
}
