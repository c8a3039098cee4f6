package sqlitestore_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
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
	if err := db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 4 {
		t.Fatalf("schema version after the upgrade = %d, %v; want 4", v, err)
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
	if _, err := st.Apply(ctx, "typed", &driver.Delta{Delete: []string{"exp"}, Set: map[string]any{"nested": map[string]int{"n": 1}},
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
	if err := db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 4 {
		t.Errorf("schema version after a second open = %d, %v; want 4", v, err)
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

// v2DDL is the exact schema version 2 added to version 1, as sqlitestore
// created it; v1DDL then v2DDL is a database of today's schema before
// version 3.
const v2DDL = `CREATE TABLE sesame_renewals (
		id      TEXT PRIMARY KEY,
		new_id  TEXT NOT NULL,
		expires INTEGER NOT NULL
	);
	CREATE INDEX sesame_renewals_expires ON sesame_renewals (expires);
	CREATE TABLE sesame_denied (
		user_id TEXT NOT NULL,
		id      TEXT NOT NULL,
		expires INTEGER NOT NULL,
		PRIMARY KEY (user_id, id)
	);
	CREATE INDEX sesame_denied_expires ON sesame_denied (expires);
	UPDATE sesame_schema SET version = 2;`

// TestUpgradeFromVersion2KeepsSessionsAndAddsMetadata opens a version 2
// database holding a session, a renewal, a mark and a denied ID: the
// upgrade to version 3 keeps them all, the old session has no
// authentication time and no device, and both then round-trip through
// Apply, Save, Load and Sessions.
func TestUpgradeFromVersion2KeepsSessionsAndAddsMetadata(t *testing.T) {
	path := tempDB(t)
	ctx := t.Context()
	db := rawDB(t, path)
	if _, err := db.Exec(v1DDL); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(v2DDL); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	created, expires := now.Add(-time.Minute).UnixMilli(), now.Add(time.Hour).UnixMilli()
	const vals = `{"n":"9007199254740993","s":"\"h\u00e9\""}`
	for _, q := range []string{
		`INSERT INTO sesame_sessions (id, user_id, vals, created, last_seen, deadline, expires, persist)
			VALUES ('old', 'alice', ?1, ?2, ?2, ?3, ?3, 1)`,
		`INSERT INTO sesame_renewals VALUES ('older', 'old', ?3)`,
		`INSERT INTO sesame_revocations VALUES ('alice', ?2, 'old', ?3)`,
		`INSERT INTO sesame_denied VALUES ('alice', 'gone', ?3)`,
	} {
		if _, err := db.Exec(q, vals, created, expires); err != nil {
			t.Fatal(err)
		}
	}

	st := open(t, path)
	var v int
	if err := db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 4 {
		t.Fatalf("schema version after the upgrade = %d, %v; want 4", v, err)
	}
	rec, err := st.Load(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if got := dumpValues(rec.Values); got != `n=9007199254740993 s="hé" ` {
		t.Errorf("values after the upgrade: %s", got)
	}
	if rec.User != "alice" || !rec.Persist || rec.Created.UnixMilli() != created || rec.LastSeen.UnixMilli() != created ||
		rec.Deadline.UnixMilli() != expires || rec.Expires.UnixMilli() != expires {
		t.Errorf("metadata after the upgrade: %+v", rec)
	}
	if !rec.AuthenticatedAt.IsZero() || rec.Device != (driver.Device{}) {
		t.Errorf("an upgraded session has AuthenticatedAt %v and Device %+v, want none", rec.AuthenticatedAt, rec.Device)
	}
	if _, err := st.Load(ctx, "older"); !errors.Is(err, driver.ErrRenewed) {
		t.Errorf("Load of a renewed ID after the upgrade: %v, want ErrRenewed", err)
	}
	if r, err := st.Revocation(ctx, "alice", "gone"); err != nil || r.Keep != "old" || len(r.Denied) != 1 || r.Denied["gone"] {
		t.Errorf("revocations after the upgrade = %+v, %v", r, err)
	}

	// The new fields round-trip on the upgraded session...
	auth := now.Add(-time.Second)
	dev := driver.Device{UserAgent: "Mozilla/5.0 ☃", IP: "2001:db8::1"}
	d := delta(nil)
	d.AuthenticatedAt, d.Device = auth, &dev
	if _, err := st.Apply(ctx, "old", d); err != nil {
		t.Fatal(err)
	}
	if rec, err := st.Load(ctx, "old"); err != nil || !rec.AuthenticatedAt.Equal(auth.Truncate(time.Millisecond)) || rec.Device != dev {
		t.Errorf("Load after an Apply of the new fields: %+v, %v", rec, err)
	}
	list, err := st.Sessions(ctx, "alice")
	if err != nil || len(list) != 1 || !list[0].AuthenticatedAt.Equal(auth.Truncate(time.Millisecond)) || list[0].Device != dev {
		t.Errorf("Sessions after the upgrade: %+v, %v", list, err)
	}
	// ...and on a new one.
	in := sesametest.Record("bob", map[string]any{"a": 1})
	in.AuthenticatedAt, in.Device = auth, driver.Device{UserAgent: "curl/8", IP: "192.0.2.0/24"}
	if err := st.Save(ctx, "new", in); err != nil {
		t.Fatal(err)
	}
	if rec, err := st.Load(ctx, "new"); err != nil || !rec.AuthenticatedAt.Equal(auth.Truncate(time.Millisecond)) || rec.Device != in.Device {
		t.Errorf("Load after a Save of the new fields: %+v, %v", rec, err)
	}
	if n, err := st.Update(ctx, "old", "n", func(old any, ok bool) (any, error) {
		n, err := sesame.Decode[int64](old)
		return n + 1, err
	}); err != nil || n != int64(9007199254740994) {
		t.Errorf("Update of an upgraded session = %v, %v; want 9007199254740994", n, err)
	}

	// Opening again is a no-op.
	before := tableText(t, db, "sesame_sessions")
	open(t, path)
	if err := db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 4 {
		t.Errorf("schema version after a second open = %d, %v; want 4", v, err)
	}
	if after := tableText(t, db, "sesame_sessions"); after != before {
		t.Error("a second open changed the sessions table")
	}
}

// v3DDL is the exact schema version 3 added to version 2, as sqlitestore
// created it; v1DDL, v2DDL then v3DDL is a database of today's schema
// before version 4.
const v3DDL = `ALTER TABLE sesame_sessions ADD COLUMN authenticated_at INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sesame_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
	ALTER TABLE sesame_sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
	UPDATE sesame_schema SET version = 3;`

// TestUpgradeFromVersion3KeepsDeniedIDsAndMarks opens a version 3
// database holding marks and denied IDs: the upgrade to version 4 keeps
// every mark as it was and every denied ID, read by ID, as revoked (not
// renewed away); it counts each user's denied IDs into their row, so that
// a user who already has more than driver.MaxDenied is refused a Deny
// until a mark; and the new rows are purged by their new index.
func TestUpgradeFromVersion3KeepsDeniedIDsAndMarks(t *testing.T) {
	path := tempDB(t)
	ctx := t.Context()
	db := rawDB(t, path)
	for _, ddl := range []string{v1DDL, v2DDL, v3DDL} {
		if _, err := db.Exec(ddl); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	past, live := now.Add(-time.Minute).UnixMilli(), now.Add(time.Hour).UnixMilli()
	for _, q := range []string{
		`INSERT INTO sesame_sessions (id, user_id, vals, created, last_seen, deadline, expires, authenticated_at)
			VALUES ('s1', 'alice', '{"a":"1"}', ?1, ?1, ?2, ?2, ?1)`,
		`INSERT INTO sesame_revocations VALUES ('alice', ?1, 'keep', ?2)`,
		`INSERT INTO sesame_denied VALUES ('alice', 'd1', ?2), ('alice', 'd2', ?2), ('bob', 'b0', ?3), ('bob', 'b1', ?2)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
			INSERT INTO sesame_denied SELECT 'carol', 'c' || i, ?2 FROM n`,
	} {
		if _, err := db.Exec(q, now.UnixMilli(), live, past); err != nil {
			t.Fatal(err)
		}
	}

	st := open(t, path)
	var v int
	if err := db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 4 {
		t.Fatalf("schema version after the upgrade = %d, %v; want 4", v, err)
	}
	r, err := st.Revocation(ctx, "alice", "d1", "d2", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Before.UnixMilli() != now.UnixMilli() || r.Keep != "keep" || r.Expires.UnixMilli() != live {
		t.Errorf("alice's mark after the upgrade = %+v, want it as it was", r)
	}
	if renewed, ok := r.Denied["d1"]; !ok || renewed || len(r.Denied) != 2 {
		t.Errorf("alice's denied IDs after the upgrade = %v, want d1 and d2, revoked", r.Denied)
	}
	if r, err := st.Revocation(ctx, "bob", "b0", "b1"); err != nil || !r.Before.IsZero() || len(r.Denied) != 1 || r.Denied["b1"] {
		t.Errorf("bob after the upgrade = %+v, %v; want no mark and b1 revoked", r, err)
	}
	counts := map[string]int{}
	rows, err := db.Query(`SELECT user_id, denied FROM sesame_revocations`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var user string
		var n int
		if err := rows.Scan(&user, &n); err != nil {
			t.Fatal(err)
		}
		counts[user] = n
	}
	rows.Close()
	if want := map[string]int{"alice": 2, "bob": 2, "carol": 1500}; !maps.Equal(counts, want) {
		t.Errorf("counts of denied IDs after the upgrade = %v, want %v", counts, want)
	}
	if ok, err := st.Deny(ctx, "carol", "c0", false, now.Add(time.Hour)); err != nil || ok {
		t.Errorf("Deny for a user past MaxDenied = %v, %v; want false: the caller sets a mark", ok, err)
	}
	if err := st.SetRevocation(ctx, "carol", driver.Revocation{Before: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Deny(ctx, "carol", "c0", true, now.Add(time.Hour)); err != nil || !ok {
		t.Errorf("Deny after a mark = %v, %v; want true", ok, err)
	}
	var left int
	db.QueryRow(`SELECT count(*) FROM sesame_denied WHERE user_id = 'carol'`).Scan(&left)
	if left != 1 {
		t.Errorf("carol has %d denied IDs after a mark and a Deny, want 1", left)
	}
	if rec, err := st.Load(ctx, "s1"); err != nil || rec.AuthenticatedAt.UnixMilli() != now.UnixMilli() {
		t.Errorf("the version 3 session after the upgrade = %+v, %v", rec, err)
	}
	if _, err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	var b0 int
	db.QueryRow(`SELECT count(*) FROM sesame_denied WHERE id = 'b0'`).Scan(&b0)
	if b0 != 0 {
		t.Error("Purge kept an expired denied ID of the version 3 schema")
	}
	var indexes string
	db.QueryRow(`SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sesame_revocations' ORDER BY name)`).Scan(&indexes)
	if indexes != "sesame_revocations_purge sqlite_autoindex_sesame_revocations_1" {
		t.Errorf("indexes of sesame_revocations: %s", indexes)
	}

	// Opening again is a no-op.
	before := tableText(t, db, "sesame_sessions")
	open(t, path)
	if err := db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 4 {
		t.Errorf("schema version after a second open = %d, %v; want 4", v, err)
	}
	if after := tableText(t, db, "sesame_sessions"); after != before {
		t.Error("a second open changed the sessions table")
	}
}
