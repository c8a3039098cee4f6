package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/sqlitestore"
)

// clearEnv unsets the variables that select a store or hold keys.
func clearEnv(t *testing.T) {
	for _, v := range []string{envRedisURL, envRedisCluster, envPostgresDSN, cookiestore.EnvKeys} {
		t.Setenv(v, "")
	}
}

func TestUsageErrorsExit2WithTheUsageOnStderr(t *testing.T) {
	clearEnv(t)
	db := filepath.Join(t.TempDir(), "none.db")
	for name, args := range map[string][]string{
		"no command":                 {},
		"an unknown command":         {"frobnicate"},
		"an unknown global flag":     {"-nope", "stats"},
		"two stores":                 {"-sqlite", db, "-redis", "redis://127.0.0.1:1/0", "stats"},
		"an empty store flag":        {"-sqlite", "", "stats"},
		"a prefix for SQLite":        {"-sqlite", db, "-prefix", "p:", "stats"},
		"list without --user":        {"-sqlite", db, "list"},
		"list with an argument":      {"-sqlite", db, "list", "--user", "a", "b"},
		"show without an ID":         {"-sqlite", db, "show"},
		"show with two IDs":          {"-sqlite", db, "show", "a", "b"},
		"show with an unknown flag":  {"-sqlite", db, "show", "--raw", "a"},
		"revoke without anything":    {"-sqlite", db, "revoke"},
		"revoke an ID and a user":    {"-sqlite", db, "revoke", "--user", "u", "id"},
		"revoke --keep without user": {"-sqlite", db, "revoke", "--keep", "k", "id"},
		"purge with an argument":     {"-sqlite", db, "purge", "now"},
		"stats with an argument":     {"-sqlite", db, "stats", "x"},
		"check with an argument":     {"-sqlite", db, "check", "x"},
		"keygen with an argument":    {"keygen", "x"},
		"a bad flag value":           {"-json=maybe", "stats"},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := sesamectl(t, "", args...)
			if code != exitUsage {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, errOut)
			}
			if !strings.HasPrefix(errOut, "sesamectl: ") || !strings.Contains(errOut, "Usage: sesamectl") {
				t.Errorf("stderr = %q, want the error and the usage", errOut)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a usage error opened the store")
	}
}

func TestAnIDMayStartWithADash(t *testing.T) {
	b := sqliteBackend(t)
	for _, args := range [][]string{
		{"show", "-abc"}, {"show", "--values", "-abc"}, {"show", "-abc", "-values"}, {"show", "--", "-abc"}, {"show", "--", "--abc"},
	} {
		out, errOut, code := sesamectl(t, "", append([]string{"-sqlite", b.path}, args...)...)
		if code != exitFailure || !strings.Contains(errOut, "no live session") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 1, not found", args, code, out, errOut)
		}
	}
	wantMatch(t, "revoke -abc", mustRun(t, "-sqlite", b.path, "revoke", "-abc"), `^revoked 0 sessions\n$`)
	wantMatch(t, "revoke --user -u --keep -k", mustRun(t, "-sqlite", b.path, "revoke", "--user", "-u", "--keep", "-k"), `^revoked 0 sessions\n$`)
	if _, _, code := sesamectl(t, "", "-sqlite", b.path, "show", "--abc"); code != exitUsage {
		t.Errorf("show --abc: exit %d, want 2 (an unknown flag)", code)
	}
}

func TestHelpExits0(t *testing.T) {
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"-h"}, strings.NewReader(""), &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) || exitCode(err) != exitOK || !strings.Contains(errOut.String(), "Usage: sesamectl") {
		t.Errorf("-h: %v (exit %d), stderr %q", err, exitCode(err), errOut.String())
	}
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0}, {flag.ErrHelp, 0}, {usagef("x"), 2}, {errors.New("x"), 1},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestTheDefaultStoreIsTheDemoFileAndIsNeverCreated(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	err := run(t.Context(), []string{"stats"}, strings.NewReader(""), new(strings.Builder), new(strings.Builder))
	if exitCode(err) != exitFailure || err == nil || !strings.Contains(err.Error(), "sesame-demo.db: no such file") {
		t.Errorf("stats without the demo file: %v, want a failure naming the file", err)
	}
	if _, err := os.Stat(defaultSQLite); err == nil {
		t.Fatal("sesamectl created the database file")
	}
	st, err := sqlitestore.Open(t.Context(), defaultSQLite, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	wantMatch(t, "stats", mustRun(t, "stats"), `(?m)^store\s+sqlite$`)
}

func TestTheEnvironmentSelectsTheStore(t *testing.T) {
	clearEnv(t)
	t.Setenv(envRedisURL, testenv.RedisURL())
	b := redisBackend(t)
	wantMatch(t, "stats", mustRun(t, "-prefix", b.args[3], "stats"), `(?m)^store\s+redis$`)

	// A flag wins over the environment.
	db := sqliteBackend(t)
	wantMatch(t, "stats", mustRun(t, "-sqlite", db.path, "stats"), `(?m)^store\s+sqlite$`)

	t.Setenv(envPostgresDSN, testenv.PostgresDSN())
	if _, errOut, code := sesamectl(t, "", "stats"); code != exitUsage || !strings.Contains(errOut, "both set") {
		t.Errorf("two store variables: exit %d, stderr %q; want 2", code, errOut)
	}
}

func TestKeygen(t *testing.T) {
	clearEnv(t)
	parse := func(out string) []cookiestore.Key {
		t.Helper()
		keys, err := cookiestore.ParseKeys(out)
		if err != nil {
			t.Fatalf("keygen printed %q: %v", out, err)
		}
		return keys
	}
	if keys := parse(mustRun(t, "keygen")); len(keys) != 1 {
		t.Errorf("keygen printed %d keys, want 1", len(keys))
	}
	if keys := parse(mustRun(t, "keygen", "--id", "k9")); keys[0].ID != "k9" {
		t.Errorf("keygen --id k9: key %v", keys[0])
	}

	old1, _ := cookiestore.GenerateKey("old1")
	old2, _ := cookiestore.GenerateKey("old2")
	ring := cookiestore.FormatKeys(old1, old2)
	out, errOut, code := sesamectl(t, ring+"\n", "keygen", "--rotate", "--id", "new")
	if code != exitOK {
		t.Fatalf("keygen --rotate: exit %d: %s", code, errOut)
	}
	keys := parse(out)
	if len(keys) != 3 || keys[0].ID != "new" || keys[1].ID != "old1" || keys[2].ID != "old2" || string(keys[1].Secret) != string(old1.Secret) {
		t.Errorf("keygen --rotate from stdin: %v, want new, old1, old2", keys)
	}

	t.Setenv(cookiestore.EnvKeys, cookiestore.FormatKeys(old2))
	var got map[string]any
	mustJSON(t, mustRun(t, "-json", "keygen", "--rotate"), &got)
	wantFields(t, "keygen -json", got, "id", "keys", "ids")
	ids, _ := got["ids"].([]any)
	if len(ids) != 2 || ids[0] != got["id"] || ids[1] != "old2" {
		t.Errorf("keygen --rotate -json from SESAME_KEYS: %v", got)
	}
	if keys := parse(got["keys"].(string)); len(keys) != 2 {
		t.Errorf("keygen -json keys: %v", keys)
	}

	if _, _, code := sesamectl(t, "", "keygen", "--rotate", "--id", "old2"); code != exitFailure {
		t.Errorf("keygen --rotate with an ID already in the ring: exit %d, want 1", code)
	}
	t.Setenv(cookiestore.EnvKeys, "")
	_, errOut, code = sesamectl(t, "k1:c2VjcmV0", "keygen", "--rotate")
	if code != exitFailure || strings.Contains(errOut, "c2VjcmV0") || !strings.Contains(errOut, "the current ring") {
		t.Errorf("keygen --rotate of a bad ring: exit %d, stderr %q; want 1, without the secret", code, errOut)
	}
}

func TestCheckFailsOnARedisThatCanEvict(t *testing.T) {
	clearEnv(t)
	srv := testenv.StartRedis(t, false, "--maxmemory-policy", "allkeys-lru")
	out, _, code := sesamectl(t, "", "-redis", "redis://"+srv.Addr+"/0", "check")
	if code != exitFailure {
		t.Errorf("check on an allkeys-lru Redis: exit %d, want 1", code)
	}
	wantMatch(t, "check", out, `(?m)^eviction\s+fail\s+.*allkeys-lru`)
}
