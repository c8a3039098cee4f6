package cookiestore_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-go/sesame/cookiestore"
)

func TestGeneratedKeysRoundTripThroughTheTextForm(t *testing.T) {
	a, b := newKey(t, ""), newKey(t, "2025-q4")
	if len(a.Secret) != cookiestore.KeySize || a.ID == "" || slices.Equal(a.Secret, b.Secret) {
		t.Fatalf("generated keys %v and %v: want distinct 32-byte secrets and an ID", a, b)
	}
	text := cookiestore.FormatKeys(a, b)
	keys, err := cookiestore.ParseKeys(text)
	if err != nil {
		t.Fatalf("ParseKeys(FormatKeys(...)): %v", err)
	}
	if len(keys) != 2 || keys[0].ID != a.ID || !slices.Equal(keys[0].Secret, a.Secret) ||
		keys[1].ID != b.ID || !slices.Equal(keys[1].Secret, b.Secret) {
		t.Errorf("round trip gave %v, want [%v %v]", keys, a, b)
	}
	if _, err := cookiestore.GenerateKey("not valid!"); err == nil {
		t.Error("GenerateKey accepted an invalid ID")
	}
}

func TestParseKeysAcceptsTheDocumentedForms(t *testing.T) {
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i * 7) // has bytes that encode to '-', '_', '+' and '/'
	}
	url, std := base64.RawURLEncoding.EncodeToString(secret), base64.StdEncoding.EncodeToString(secret)
	for name, text := range map[string]string{
		"commas":           "new:" + url + ",old:" + std,
		"spaces":           "  new:" + url + "   old:" + std + "  ",
		"lines":            "# the ring\nnew:" + url + " # rotated in January\n\nold:" + std + "\n",
		"unpadded std":     "new:" + strings.TrimRight(std, "=") + ",old:" + url,
		"padded base64url": "new:" + base64.URLEncoding.EncodeToString(secret) + ",old:" + url,
	} {
		keys, err := cookiestore.ParseKeys(text)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(keys) != 2 || keys[0].ID != "new" || keys[1].ID != "old" || !slices.Equal(keys[0].Secret, secret) || !slices.Equal(keys[1].Secret, secret) {
			t.Errorf("%s: got %v", name, keys)
		}
	}
}

func TestParseKeysErrorsAreClearAndHideSecrets(t *testing.T) {
	good := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	short := base64.RawURLEncoding.EncodeToString([]byte("sixteen byte key"))
	for _, tc := range []struct {
		name, text, want string
	}{
		{"empty ring", "", "empty key ring"},
		{"only a comment", "# nothing yet\n", "empty key ring"},
		{"wrong length", "a:" + good + ",b:" + short, `key 2 ("b"): secret is 16 bytes, want 32`},
		{"bad base64", "a:" + good[:42] + "!", `key 1 ("a"): secret is not base64`},
		{"duplicate IDs", "a:" + good + ",b:" + good + ",a:" + good, `duplicate key ID "a" (keys 1 and 3)`},
		{"no colon", good, "key 1: want ID:SECRET"},
		{"invalid ID", "a/b:" + good, "key 1: invalid ID: want 1 to 16"},
		{"long ID", strings.Repeat("x", 17) + ":" + good, "key 1: invalid ID"},
		{"secret as ID", good + ":" + good, "key 1: invalid ID"},
	} {
		keys, err := cookiestore.ParseKeys(tc.text)
		if err == nil {
			t.Errorf("%s: ParseKeys succeeded with %v", tc.name, keys)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "cookiestore: ") {
			t.Errorf("%s: error %q, want it to contain %q", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), good[:20]) || strings.Contains(err.Error(), short[:10]) {
			t.Errorf("%s: error %q shows a secret", tc.name, err)
		}
		if tc.want == "empty key ring" && !errors.Is(err, cookiestore.ErrNoKeys) {
			t.Errorf("%s: error %v does not wrap ErrNoKeys", tc.name, err)
		}
	}
}

func TestKeysFromEnv(t *testing.T) {
	k := newKey(t, "env")
	t.Setenv(cookiestore.EnvKeys, cookiestore.FormatKeys(k))
	keys, err := cookiestore.KeysFromEnv()
	if err != nil || len(keys) != 1 || keys[0].ID != "env" || !slices.Equal(keys[0].Secret, k.Secret) {
		t.Errorf("KeysFromEnv = %v, %v", keys, err)
	}
	t.Setenv(cookiestore.EnvKeys, "")
	if _, err := cookiestore.KeysFromEnv(); !errors.Is(err, cookiestore.ErrNoKeys) || !strings.Contains(err.Error(), "SESAME_KEYS") {
		t.Errorf("KeysFromEnv with SESAME_KEYS empty: %v, want ErrNoKeys naming the variable", err)
	}
	t.Setenv(cookiestore.EnvKeys, "x:abc")
	if _, err := cookiestore.KeysFromEnv(); err == nil || !strings.Contains(err.Error(), "SESAME_KEYS: key 1") {
		t.Errorf("KeysFromEnv with a bad key: %v, want an error naming the variable and the key", err)
	}
}

func TestKeyFormattingHidesTheSecret(t *testing.T) {
	k := newKey(t, "k1")
	secret := base64.RawURLEncoding.EncodeToString(k.Secret)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, k); strings.Contains(out, secret) || strings.Contains(out, fmt.Sprint(k.Secret[:4])) || !strings.Contains(out, "k1") {
			t.Errorf("Sprintf(%s, key) = %q: want the ID and no secret", verb, out)
		}
	}
}
