package sqlitestore_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/sqlitestore"
)

// v1DDL is the exact schema of version 1, as sqlitestore created it, plus
// its version table: an upgrade starts from it.
const v1DDL = `CREATE TABLE sesame_schema (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		version INTEGER NOT NULL
	);
	CREATE TABLE sesame_sessions (
		id        TEXT PRIMARY KEY,
		user_id   TEXT NOT NULL DEFAULT '',
		vals      TEXT NOT NULL DEFAULT '{}',
		created   INTEGER NOT NULL,
		last_seen INTEGER NOT NULL,
		deadline  INTEGER NOT NULL,
		expires   INTEGER NOT NULL,
		persist   INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX sesame_sessions_user ON sesame_sessions (user_id) WHERE user_id <> '';
	CREATE INDEX sesame_sessions_expires ON sesame_sessions (expires);
	CREATE TABLE sesame_revocations (
		user_id        TEXT PRIMARY KEY,
		revoked_before INTEGER NOT NULL,
		keep_id        TEXT NOT NULL DEFAULT '',
		expires        INTEGER NOT NULL
	);
	CREATE INDEX sesame_revocations_expires ON sesame_revocations (expires);
	INSERT INTO sesame_schema (id, version) VALUES (1, 1);`

// v1Values are values as version 1 stored them (each value's JSON, inline,
// as encoding/json compacted it), with the exact bytes Load must return.
var v1Values = map[string]string{
	"big":     `9007199254740993`, // an int64 above 2^53
	"neg":     `-9223372036854775808`,
	"float":   `2.5`,
	"exp":     `1e2`,
	"small":   `1.5e-300`,
	"nested":  `{"a":{"b":[1,2.50,{"c":null}]},"z":"é"}`,
	"unicode": `"héllo ✓ 🍏 ключ \u2028 \u003cb\u003e \"q\" \\ \n"`,
	"null":    `null`,
	"bool":    `true`,
	"array":   `[1,"two",[3]]`,
	"time":    `"2026-11-23T12:00:00.123456789Z"`,
}

// v1Vals returns values as one version 1 object, built the way version 1
// built it: json.Marshal of a map of json.RawMessage.
func v1Vals(t testing.TB, vals map[string]string) string {
	raw := make(map[string]json.RawMessage, len(vals))
	for k, v := range vals {
		raw[k] = json.RawMessage(v)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// version1DB creates a version 1 database at path with the given sessions
// (ID -> vals) and a revocation mark.
func version1DB(t *testing.T, path string, rows map[string]string) {
	t.Helper()
	db, err := sql.Open("sqlite", sqlitestore.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(v1DDL); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for id, vals := range rows {
		if _, err := db.Exec(`INSERT INTO sesame_sessions (id, user_id, vals, created, last_seen, deadline, expires, persist)
			VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?5, 1)`, id, "user-"+id, vals, now.UnixMilli(), now.Add(time.Hour).UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	// More rows than one batch of the migration's Go step reads.
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
		INSERT INTO sesame_sessions (id, vals, created, last_seen, deadline, expires)
		SELECT 'bulk-' || i, '{"i":' || i || ',"f":' || i || '.50}', ?1, ?1, ?2, ?2 FROM n`,
		now.UnixMilli(), now.Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO sesame_revocations VALUES ('alice', ?1, 'keep', ?2)`, now.UnixMilli(), now.Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
}

func TestUpgradeFromVersion1KeepsEveryValueExactly(t *testing.T) {
	path := tempDB(t)
	version1DB(t, path, map[string]string{
		"typed": v1Vals(t, v1Values),
		"empty": `{}`,
		"one":   v1Vals(t, map[string]string{"k": `"v"`}),
	})
	ctx := t.Context()

	st := open(t, path)
	db := rawDB(t, path)
	var v int
	if err := db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 3 {
		t.Fatalf("schema version after the upgrade = %d, %v; want 3", v, err)
	}
	rec, err := st.Load(ctx, "typed")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(rec.Values)), slices.Sorted(maps.Keys(v1Values)); !slices.Equal(got, want) {
		t.Errorf("keys after the upgrade = %q, want %q", got, want)
	}
	for k, want := range v1Values {
		raw, ok := rec.Values[k].(json.RawMessage)
		if !ok || string(raw) != want {
			t.Errorf("%s after the upgrade = %#v, want json.RawMessage(%s)", k, rec.Values[k], want)
		}
	}
	if n, err := sesame.Decode[int64](rec.Values["big"]); err != nil || n != 9007199254740993 {
		t.Errorf("big = %d, %v; want 9007199254740993", n, err)
	}
	if s, err := sesame.Decode[string](rec.Values["unicode"]); err != nil || s != "héllo ✓ 🍏 ключ \u2028 <b> \"q\" \\ \n" {
		t.Errorf("unicode = %q, %v", s, err)
	}
	if rec.User != "user-typed" || !rec.Persist {
		t.Errorf("metadata after the upgrade: user %q, persist %v", rec.User, rec.Persist)
	}
	if rec, err := st.Load(ctx, "empty"); err != nil || len(rec.Values) != 0 {
		t.Errorf("empty after the upgrade = %+v, %v", rec, err)
	}
	for _, i := range []int{1, 500, 501, 1000, 1200} {
		rec, err := st.Load(ctx, fmt.Sprint("bulk-", i))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%s %s", rec.Values["i"], rec.Values["f"]); got != fmt.Sprintf("%d %d.50", i, i) {
			t.Errorf("bulk-%d after the upgrade = %s", i, got)
		}
	}
	var unconverted int
	if err := db.QueryRow(`SELECT count(*) FROM sesame_sessions, json_each(vals) WHERE json_each.type <> 'text'`).Scan(&unconverted); err != nil || unconverted != 0 {
		t.Errorf("%d values were not converted to strings (%v)", unconverted, err)
	}
	if r, err := st.Revocation(ctx, "alice"); err != nil || r.Keep != "keep" {
		t.Errorf("revocation mark after the upgrade = %+v, %v", r, err)
	}

	// A delta on an upgraded record.
	if _, err := st.Apply(ctx, "typed", &sesame.Delta{Delete: []string{"exp"}, Set: map[string]any{"nested": map[string]int{"n": 1}},
		LastSeen: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rec, err = st.Load(ctx, "typed")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.Values["exp"]; ok || string(rec.Values["nested"].(json.RawMessage)) != `{"n":1}` || string(rec.Values["float"].(json.RawMessage)) != `2.5` {
		t.Errorf("after a delta on the upgraded record: %s", dumpValues(rec.Values))
	}

	// Opening again is a no-op.
	before := tableText(t, db, "sesame_sessions")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, path)
	if err := db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 3 {
		t.Errorf("schema version after a second open = %d, %v; want 3", v, err)
	}
	if after := tableText(t, db, "sesame_sessions"); after != before {
		t.Error("a second open changed the sessions table")
	}
}

// tableText returns every row of table, in rowid order, as text.
func tableText(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var s string
	if err := db.QueryRow(`SELECT group_concat(id || '=' || vals, ';') FROM (SELECT id, vals FROM ` + table + ` ORDER BY rowid)`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func dumpValues(vals map[string]any) string {
	s := ""
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		s += fmt.Sprintf("%s=%s ", k, vals[k])
	}
	return s
}

func TestUpgradeOfACorruptValueFailsAndChangesNothing(t *testing.T) {
	path := tempDB(t)
	version1DB(t, path, map[string]string{"bad": `{"a":`})
	st, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{CleanupInterval: -1})
	if err == nil {
		st.Close()
		t.Fatal("Open of a version 1 database with an undecodable row succeeded")
	}
	t.Log(err)
	db := rawDB(t, path)
	var v int
	if err := db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 1 {
		t.Errorf("schema version after a failed upgrade = %d, %v; want 1", v, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'sesame_renewals'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the failed upgrade left its tables behind (%d, %v)", n, err)
	}
	var vals string
	db.QueryRow(`SELECT vals FROM sesame_sessions WHERE id = 'bulk-1'`).Scan(&vals)
	if vals != `{"i":1,"f":1.50}` {
		t.Errorf("the failed upgrade changed a row to %s", vals)
	}
}
