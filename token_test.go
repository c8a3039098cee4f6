package sesame

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestTokensAre256BitsFromCryptoRand(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		tok := newToken()
		b, err := b64.DecodeString(tok)
		if err != nil || len(b) != 32 || !validToken(tok) {
			t.Fatalf("token %q: %d bytes, %v", tok, len(b), err)
		}
		if seen[tok] {
			t.Fatalf("token %q issued twice", tok)
		}
		seen[tok] = true
	}
}

func TestValidTokenRejectsEverythingElse(t *testing.T) {
	good := newToken()
	for _, bad := range []string{
		"", good[:42], good + "A", strings.Repeat("=", 43), good[:42] + "+", good[:42] + "/",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", // non-canonical: stray low bits in the last character
	} {
		if validToken(bad) {
			t.Errorf("validToken(%q) = true", bad)
		}
	}
}

func TestStoresSeeOnlyAHashOfTheToken(t *testing.T) {
	tok := newToken()
	sum := sha256.Sum256([]byte(tok))
	if got := newHasher(nil).id(tok); got != b64.EncodeToString(sum[:]) || strings.Contains(got, tok) {
		t.Errorf("id = %q, want base64url(SHA-256(token))", got)
	}
	secret := []byte("server secret")
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(tok))
	if got := newHasher(secret).id(tok); got != b64.EncodeToString(mac.Sum(nil)) {
		t.Errorf("keyed id = %q, want base64url(HMAC-SHA-256(secret, token))", got)
	}
}

func TestReadCookie(t *testing.T) {
	for _, tc := range []struct {
		header []string
		value  string
		ok     bool
	}{
		{[]string{"session=abc"}, "abc", true},
		{[]string{"a=1; session=abc; b=2"}, "abc", true},
		{[]string{"a=1", "session=\"abc\""}, "abc", true},
		{[]string{"sessionx=1; xsession=2"}, "", false},
		{[]string{"session=first; session=second"}, "first", true},
		{[]string{";;; =; session"}, "", false},
		{nil, "", false},
	} {
		v, ok := readCookie(http.Header{"Cookie": tc.header}, "session")
		if v != tc.value || ok != tc.ok {
			t.Errorf("readCookie(%q) = %q, %v; want %q, %v", tc.header, v, ok, tc.value, tc.ok)
		}
	}
}

// TestRootPackageImportsOnlyTheStandardLibrary checks the layout: the root
// package and the store contract (driver) use the standard library only,
// and no store package depends on the root package.
func TestRootPackageImportsOnlyTheStandardLibrary(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	const root, drv = "github.com/sesame-go/sesame", "github.com/sesame-go/sesame/driver"
	for _, p := range deps(".") {
		if p != root && p != drv {
			t.Errorf("the root package depends on %s", p)
		}
	}
	if d := deps("./driver"); len(d) != 1 || d[0] != drv {
		t.Errorf("package driver depends on %v, want the standard library only", d)
	}
	for _, store := range []string{"memstore", "sqlitestore", "pgstore", "redisstore", "cookiestore"} {
		for _, p := range deps("./" + store) {
			if p == root {
				t.Errorf("%s depends on the root package: a store needs only package driver", store)
			}
		}
	}
}

func FuzzValidToken(f *testing.F) {
	f.Add(newToken())
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")
	f.Fuzz(func(t *testing.T, s string) {
		if !validToken(s) {
			return
		}
		if b, err := b64.DecodeString(s); err != nil || len(b) != 32 || b64.EncodeToString(b) != s {
			t.Errorf("validToken accepted %q, which is not a canonical 32-byte token", s)
		}
	})
}

func FuzzReadCookie(f *testing.F) {
	f.Add("session=" + newToken())
	f.Add(`a=1; session="x"; b`)
	f.Add(";;;session=;=")
	f.Fuzz(func(t *testing.T, header string) {
		v, ok := readCookie(http.Header{"Cookie": {header}}, "session")
		if ok && !strings.Contains(header, v) {
			t.Errorf("readCookie(%q) = %q, not part of the header", header, v)
		}
		if !ok && v != "" {
			t.Errorf("readCookie(%q) = %q with ok false", header, v)
		}
	})
}

type fuzzCart struct {
	Items []string
	Total int64
}

// FuzzDecode feeds arbitrary stored bytes to the value codec.
func FuzzDecode(f *testing.F) {
	for _, v := range []any{int64(1 << 62), "s", time.Now(), []string{"a"}, fuzzCart{Items: []string{"x"}}, nil} {
		b, _ := json.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := json.RawMessage(b)
		check := func(err error) {
			if err != nil {
				if _, ok := err.(*TypeError); !ok {
					t.Errorf("Decode error %T, want *TypeError", err)
				}
			}
		}
		_, err := Decode[int64](raw)
		check(err)
		_, err = Decode[string](raw)
		check(err)
		_, err = Decode[time.Time](raw)
		check(err)
		_, err = Decode[[]string](raw)
		check(err)
		_, err = Decode[fuzzCart](raw)
		check(err)
		_, err = Decode[map[string]any](raw)
		check(err)
	})
}
