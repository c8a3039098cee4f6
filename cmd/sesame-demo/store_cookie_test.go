package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/cookiestore"
)

func init() {
	testStores["cookie"] = func(t *testing.T) []string {
		k, err := cookiestore.GenerateKey("")
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(cookiestore.EnvKeys, cookiestore.FormatKeys(k))
		return []string{"-store", "cookie", "-sqlite", filepath.Join(t.TempDir(), "marks.db")}
	}
	clientSideStores["cookie"] = true
}

func TestCookieStoreWithoutKeysWarnsAndUsesARandomKey(t *testing.T) {
	t.Setenv(cookiestore.EnvKeys, "")
	var stderr bytes.Buffer
	var cfg sesame.Config
	release, err := openCookie(context.Background(), storeOptions{sqlite: filepath.Join(t.TempDir(), "marks.db")}, &cfg, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if cfg.Sealer == nil {
		t.Error("no Sealer configured")
	}
	if !strings.Contains(stderr.String(), "warning: SESAME_KEYS is not set") {
		t.Errorf("stderr = %q, want a warning about SESAME_KEYS", stderr.String())
	}
}

func TestCookieStoreRejectsABadKeyRing(t *testing.T) {
	t.Setenv(cookiestore.EnvKeys, "k1:dG9vIHNob3J0")
	var cfg sesame.Config
	if _, err := openCookie(context.Background(), storeOptions{sqlite: filepath.Join(t.TempDir(), "marks.db")}, &cfg, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "SESAME_KEYS") {
		t.Errorf("openCookie with a 9-byte key: %v, want an error naming SESAME_KEYS", err)
	}
}
