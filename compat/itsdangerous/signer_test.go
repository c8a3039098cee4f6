package itsdangerous

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"
)

// The examples of itsdangerous' own documentation.
func TestDocumentedTokens(t *testing.T) {
	// URLSafeSerializer("secret key", "auth").dumps({"id": 5, "name": "itsdangerous"})
	s := NewSigner("secret key", Options{Salt: "auth"})
	j, _ := pyJSON(map[string]any{"id": 5, "name": "itsdangerous"}, false, false)
	if got, want := string(s.Sign(encodePayload(j))), "eyJpZCI6NSwibmFtZSI6Iml0c2Rhbmdlcm91cyJ9.6YP6T0BaO67XP--9UzTrmurXSmg"; got != want {
		t.Errorf("URLSafeSerializer token %s, want %s", got, want)
	}
	// TimestampSigner(b"secret-key").sign("my string") with itsdangerous 0.24.
	ts := NewTimestampSigner("secret-key", Options{Epoch: LegacyEpoch})
	v, issued, err := ts.Unsign([]byte("my string.DypHqg.FowpFfFG-kYA7P-qujGwVt9oJCo"), 0)
	if err != nil || string(v) != "my string" || issued.Format("2006-01-02") != "2019-01-23" {
		t.Errorf("legacy Unsign = %q, %v, %v", v, issued, err)
	}
}

func TestUnsignRejects(t *testing.T) {
	now := time.Unix(1700000000, 0)
	clock := func() time.Time { return now }
	ts := NewTimestampSigner("k", Options{Now: clock})
	good := string(ts.Sign([]byte("v")))
	old := string(ts.SignAt([]byte("v"), now.Add(-2*time.Hour)))
	future := string(ts.SignAt([]byte("v"), now.Add(time.Hour)))
	noTS := string(ts.Signer.Sign([]byte("v")))
	badTS := string(ts.Signer.Sign([]byte("v.!!")))
	longTS := string(ts.Signer.Sign([]byte("v.AAAAAAAAAAAAAAAA")))
	tests := []struct {
		name, token string
		maxAge      time.Duration
		want        error
	}{
		{"a good token", good, time.Hour, nil},
		{"an old token without a max age", old, 0, nil},
		{"a tampered value", "w" + good[1:], time.Hour, ErrBadSignature},
		{"a tampered signature", good[:len(good)-2] + "xx", time.Hour, ErrBadSignature},
		{"a signature that is not base64", good[:len(good)-2] + "!!", time.Hour, ErrBadSignature},
		{"no separator", "abc", time.Hour, ErrBadSignature},
		{"an empty token", "", time.Hour, ErrBadSignature},
		{"another secret", string(NewTimestampSigner("other", Options{Now: clock}).Sign([]byte("v"))), time.Hour, ErrBadSignature},
		{"another salt", string(NewTimestampSigner("k", Options{Salt: "x", Now: clock}).Sign([]byte("v"))), time.Hour, ErrBadSignature},
		{"another digest", string(NewTimestampSigner("k", Options{Digest: sha256.New, Now: clock}).Sign([]byte("v"))), time.Hour, ErrBadSignature},
		{"an expired token", old, time.Hour, ErrExpired},
		{"a token from the future", future, time.Hour, ErrExpired},
		{"no timestamp", noTS, time.Hour, ErrBadSignature},
		{"a malformed timestamp", badTS, time.Hour, ErrBadSignature},
		{"a timestamp of more than 8 bytes", longTS, time.Hour, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ts.Unsign([]byte(tt.token), tt.maxAge)
			if !errors.Is(err, tt.want) || (err != nil && !strings.HasPrefix(err.Error(), "itsdangerous: ")) {
				t.Errorf("Unsign(%q) = %v, want %v", tt.token, err, tt.want)
			}
		})
	}
}

func TestExpiredKeepsValueAndTime(t *testing.T) {
	now := time.Unix(1700000000, 0)
	ts := NewTimestampSigner("k", Options{Now: func() time.Time { return now }})
	at := now.Add(-61 * time.Second)
	v, issued, err := ts.Unsign(ts.SignAt([]byte("v"), at), time.Minute)
	if !errors.Is(err, ErrExpired) || string(v) != "v" || !issued.Equal(at) {
		t.Errorf("Unsign = %q, %v, %v", v, issued, err)
	}
	// itsdangerous counts whole seconds: 60s old is not older than 60s.
	if _, _, err := ts.Unsign(ts.SignAt([]byte("v"), now.Add(-time.Minute)), time.Minute); err != nil {
		t.Errorf("a token exactly max age old: %v", err)
	}
}

func TestFallbackSecretsVerify(t *testing.T) {
	old := NewSigner("old", Options{})
	rotated := NewSigner("new", Options{Fallbacks: []string{"old"}})
	if v, err := rotated.Unsign(old.Sign([]byte("x"))); err != nil || string(v) != "x" {
		t.Errorf("fallback: %q, %v", v, err)
	}
	if _, err := old.Unsign(rotated.Sign([]byte("x"))); err == nil {
		t.Error("signing used a fallback secret")
	}
}

func TestConfigurationPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"an empty secret":           func() { NewSigner("", Options{}) },
		"a base64 separator":        func() { NewSigner("k", Options{Sep: "a"}) },
		"an unknown key derivation": func() { NewSigner("k", Options{KeyDerivation: "md5"}) },
		"a Migrate without codec":   func() { Migrate(nil, nil, MigrateOptions{}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestCustomSeparator(t *testing.T) {
	s := NewTimestampSigner("k", Options{Sep: "|"})
	v, _, err := s.Unsign(s.Sign([]byte("a.b")), time.Minute)
	if err != nil || string(v) != "a.b" {
		t.Errorf("Unsign = %q, %v", v, err)
	}
}

func TestPythonJSON(t *testing.T) {
	v := map[string]any{"b": []any{1, "é <&>"}, "a": "\U0001F600\u2028\n"}
	tests := []struct {
		spaced, ascii bool
		want          string
	}{
		{false, false, `{"a":"` + "\U0001F600" + `\u2028\n","b":[1,"é <&>"]}`},
		{false, true, `{"a":"\ud83d\ude00\u2028\n","b":[1,"\u00e9 <&>"]}`},
		{true, true, `{"a": "\ud83d\ude00\u2028\n", "b": [1, "\u00e9 <&>"]}`},
	}
	for _, tt := range tests {
		got, err := pyJSON(v, tt.spaced, tt.ascii)
		if err != nil || string(got) != tt.want {
			t.Errorf("pyJSON(spaced %v, ascii %v) = %s, %v; want %s", tt.spaced, tt.ascii, got, err, tt.want)
		}
	}
	if _, err := pyJSON(map[string]any{"f": func() {}}, false, false); err == nil || !strings.HasPrefix(err.Error(), "itsdangerous: ") {
		t.Errorf("unencodable value: %v", err)
	}
}
