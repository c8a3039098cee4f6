package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-go/sesame/internal/testenv"
)

// The demo test logs in as "alice" and counts her sessions, so it runs in a
// schema of its own: the DSN's search_path points the demo's default table
// there, and other tests on the same server never see its rows.
func init() {
	testStores["postgres"] = func(t *testing.T) []string {
		dsn := testenv.PostgresDSN()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = conn.Ping(ctx)
		}
		if err != nil {
			testenv.Unavailable(t, "PostgreSQL", err)
		}
		defer conn.Close(context.Background())
		var b [6]byte
		rand.Read(b[:])
		schema := "sesame_demo_test_" + hex.EncodeToString(b[:])
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { // after the demo, whose cleanup was registered later
			conn, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Errorf("dropping schema %s: %v", schema, err)
				return
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
				t.Errorf("dropping schema %s: %v", schema, err)
			}
		})
		return []string{"-store", "postgres", "-postgres", withSearchPath(dsn, schema)}
	}
}

// withSearchPath returns dsn, a URL or a keyword/value string, with the
// search_path run-time parameter set to schema.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}
