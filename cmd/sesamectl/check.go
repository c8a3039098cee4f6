package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/pgstore"
)

// Check statuses.
const (
	statusOK   = "ok"
	statusFail = "fail"
	statusSkip = "skip"
)

// checkJSON is one line of what check prints.
type checkJSON struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// cmdCheck verifies the deployment, and fails if any check fails.
func cmdCheck(ctx context.Context, e *env, args []string) error {
	fs := newFlags("check")
	if pos, err := parseInterspersed(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("check: takes no arguments")
	}
	var out []checkJSON
	add := func(name, status, format string, args ...any) {
		out = append(out, checkJSON{Check: name, Status: status, Detail: fmt.Sprintf(format, args...)})
	}
	c, err := e.open(ctx)
	if err != nil {
		add("store", statusFail, "%v", err)
	} else {
		add("store", statusOK, "%s store opened", c.kind)
		checkStore(ctx, c, add)
	}
	if os.Getenv(cookiestore.EnvKeys) == "" {
		add("key ring", statusSkip, "%s is not set", cookiestore.EnvKeys)
	} else if keys, err := cookiestore.KeysFromEnv(); err != nil {
		add("key ring", statusFail, "%v", err)
	} else {
		add("key ring", statusOK, "%s holds %s, newest %q", cookiestore.EnvKeys, plural(len(keys), "key"), keys[0].ID)
	}

	failed := 0
	for _, c := range out {
		if c.Status == statusFail {
			failed++
		}
	}
	if e.json {
		err = writeJSON(e.stdout, out)
	} else {
		t := newTable(e.stdout)
		t.row("CHECK", "STATUS", "DETAIL")
		for _, c := range out {
			t.row(c.Check, c.Status, oneLine(c.Detail))
		}
		err = t.flush()
	}
	if err == nil && failed > 0 {
		err = fmt.Errorf("check: %d of %d checks failed", failed, len(out))
	}
	return err
}

// checkStore runs the checks of the open store c.
func checkStore(ctx context.Context, c *conn, add func(name, status, format string, args ...any)) {
	switch {
	case c.redis != nil:
		if err := c.redis.CheckEviction(ctx); err != nil {
			add("eviction", statusFail, "%v", err)
		} else {
			add("eviction", statusOK, "maxmemory-policy is noeviction on every server (or CONFIG GET is unavailable: check it by other means)")
		}
	case c.sqlite != nil:
		have, want, err := c.sqlite.SchemaVersion(ctx)
		addSchema(add, have, want, err)
		for _, name := range []string{c.target, c.target + "-wal", c.target + "-shm"} {
			fi, err := os.Stat(name)
			switch {
			case errors.Is(err, fs.ErrNotExist) && name != c.target:
				continue
			case err != nil:
				add("file mode", statusFail, "%v", err)
			case fi.Mode().Perm()&0o077 != 0:
				add("file mode", statusFail, "%s is mode %04o: group or others can read or write it (chmod 600)", name, fi.Mode().Perm())
			default:
				add("file mode", statusOK, "%s is mode %04o", name, fi.Mode().Perm())
			}
		}
	case c.pg != nil:
		have, err := c.pg.SchemaVersion(ctx)
		addSchema(add, have, pgstore.SchemaVersion, err)
	}
}

func addSchema(add func(name, status, format string, args ...any), have, want int, err error) {
	switch {
	case err != nil:
		add("schema", statusFail, "%v", err)
	case have != want:
		add("schema", statusFail, "version %d, want %d", have, want)
	default:
		add("schema", statusOK, "version %d (current)", have)
	}
}
