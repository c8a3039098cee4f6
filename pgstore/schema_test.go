package pgstore

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// version1DDL is the exact schema that pgstore's version 1 created, with
// T for the (unqualified) table name.
var version1DDL = []string{
	`CREATE TABLE "T_schema" (
	version integer PRIMARY KEY,
	applied timestamptz NOT NULL DEFAULT now()
)`,
	`CREATE TABLE "T" (
	id        text PRIMARY KEY,
	data      jsonb NOT NULL DEFAULT '{}',
	user_id   text NOT NULL DEFAULT '',
	created   timestamptz NOT NULL,
	last_seen timestamptz NOT NULL,
	deadline  timestamptz,
	expires   timestamptz NOT NULL,
	persist   boolean NOT NULL DEFAULT false
)`,
	`CREATE INDEX "T_user_idx" ON "T" (user_id) WHERE user_id <> ''`,
	`CREATE INDEX "T_expires_idx" ON "T" (expires)`,
	`CREATE TABLE "T_revocations" (
	user_id text PRIMARY KEY,
	before  timestamptz NOT NULL,
	keep    text NOT NULL DEFAULT '',
	expires timestamptz NOT NULL
)`,
	`CREATE INDEX "T_revocations_expires_idx" ON "T_revocations" (expires)`,
	`INSERT INTO "T_schema" (version) VALUES (1)`,
}

// TestUpgradeFromVersion1 creates a version-1 schema with rows, then
// starts several instances of this version at once on it: all succeed,
// one upgrades it in place to version 2, the rows survive, and the new
// capabilities work on them.
func TestUpgradeFromVersion1(t *testing.T) {
	pool := testPool(t, 0)
	table := uniqueTable(t, pool)
	for _, stmt := range version1DDL {
		if _, err := pool.Exec(t.Context(), strings.ReplaceAll(stmt, `"T`, `"`+table)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	_, err := pool.Exec(t.Context(), `INSERT INTO `+pgx.Identifier{table}.Sanitize()+`
	(id, data, user_id, created, last_seen, deadline, expires, persist) VALUES
	('s1', '{"n":"1","cart":"[\"apple\"]"}', 'alice', $1, $1, $2, $3, true),
	('s2', '{"anon":"true"}', '', $1, $1, $2, $3, false)`, now, now.Add(time.Hour), now.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(t.Context(), `INSERT INTO `+pgx.Identifier{table + revocationsSuffix}.Sanitize()+`
	(user_id, before, keep, expires) VALUES ('alice', $1, 's1', $2)`, now.Truncate(time.Millisecond), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	stores := startTogether(t, table, 4, "version-1")
	if got := versions(t, pool, table); fmt.Sprint(got) != allVersions() {
		t.Errorf("schema versions after the upgrade: %v, want %s", got, allVersions())
	}
	st := stores[0]

	rec, err := st.Load(t.Context(), "s1")
	if err != nil {
		t.Fatalf("Load of a version-1 row: %v", err)
	}
	if n, err := sesame.Decode[int](rec.Values["n"]); err != nil || n != 1 || rec.User != "alice" || !rec.Persist {
		t.Errorf("version-1 row loaded as %+v (n = %d, %v)", rec, n, err)
	}
	if cart, err := sesame.Decode[[]string](rec.Values["cart"]); err != nil || fmt.Sprint(cart) != "[apple]" {
		t.Errorf("cart = %v, %v", cart, err)
	}
	if list, err := st.Sessions(t.Context(), "alice"); err != nil || len(list) != 1 || list[0].ID != "s1" {
		t.Errorf("Sessions(alice) = %v, %v; want s1", list, err)
	}
	r, err := st.Revocation(t.Context(), "alice", "s9")
	if err != nil || !r.Before.Equal(now.Truncate(time.Millisecond)) || r.Keep != "s1" || len(r.Denied) != 0 {
		t.Errorf("the version-1 mark reads as %+v, %v", r, err)
	}

	// Version 2's capabilities, on version-1 rows.
	if ok, err := st.Deny(t.Context(), "alice", "s9", false, now.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("Deny = %v, %v", ok, err)
	}
	if r, err := st.Revocation(t.Context(), "alice", "s9"); err != nil || !r.Revokes("s9", "", now) || r.Keep != "s1" {
		t.Errorf("after Deny: %+v, %v", r, err)
	}
	if err := st.Renew(t.Context(), "s1", "s1b", delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline})); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].Load(t.Context(), "s1"); !errors.Is(err, driver.ErrRenewed) {
		t.Errorf("Load of the renewed version-1 ID: %v, want ErrRenewed", err)
	}
	if deleted, err := st.Apply(t.Context(), "s2", delta(driver.Delta{Delete: []string{"anon"}})); err != nil || !deleted {
		t.Errorf("emptying Apply of a version-1 row = %v, %v; want deleted", deleted, err)
	}
	if found, err := stores[2].Delete(t.Context(), "s1"); err != nil || !found {
		t.Errorf("Delete of the renewed version-1 ID = %v, %v; want true", found, err)
	}
}

// version2DDL is the exact schema that pgstore's version 2 created (the
// version-1 schema, then its version-2 step), with T for the
// (unqualified) table name.
var version2DDL = append(slices.Clone(version1DDL),
	`CREATE TABLE "T_renewed" (
	id      text PRIMARY KEY,
	new_id  text NOT NULL,
	expires timestamptz NOT NULL
)`,
	`CREATE INDEX "T_renewed_expires_idx" ON "T_renewed" (expires)`,
	`CREATE TABLE "T_denied" (
	user_id text NOT NULL,
	id      text NOT NULL,
	expires timestamptz NOT NULL,
	PRIMARY KEY (user_id, id)
)`,
	`CREATE INDEX "T_denied_expires_idx" ON "T_denied" (expires)`,
	`INSERT INTO "T_schema" (version) VALUES (2)`,
)

// Statements of pgstore's version 2, which instances not yet upgraded
// keep running on the table after the upgrade.
const (
	version2Load = `SELECT data, user_id, created, last_seen, deadline, expires, persist FROM "T" WHERE id = $1 AND expires > $2`
	version2Save = `INSERT INTO "T" (id, data, user_id, created, last_seen, deadline, expires, persist) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, user_id = EXCLUDED.user_id,
	created = EXCLUDED.created, last_seen = EXCLUDED.last_seen, deadline = EXCLUDED.deadline,
	expires = EXCLUDED.expires, persist = EXCLUDED.persist`
)

// TestUpgradeFromVersion2 creates a version-2 schema with rows, then
// starts several instances of this version at once on it: all succeed,
// one upgrades it in place to version 3 without rewriting the sessions
// table, the rows survive (never authenticated, on no known device), the
// new metadata round-trips on them, and the statements of a version-2
// instance still running keep working on the upgraded table.
func TestUpgradeFromVersion2(t *testing.T) {
	pool := testPool(t, 0)
	table := uniqueTable(t, pool)
	named := func(sql string) string { return strings.ReplaceAll(sql, `"T`, `"`+table) }
	for _, stmt := range version2DDL {
		if _, err := pool.Exec(t.Context(), named(stmt)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	_, err := pool.Exec(t.Context(), named(`INSERT INTO "T"
	(id, data, user_id, created, last_seen, deadline, expires, persist) VALUES
	('s1', '{"n":"1","cart":"[\"apple\"]"}', 'alice', $1, $1, $2, $3, true),
	('s2', '{"anon":"true"}', '', $1, $1, $2, $3, false),
	('s3', '{"n":"3"}', 'alice', $1, $1, $2, $4, false)`), now, now.Add(time.Hour), now.Add(30*time.Minute), now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(t.Context(), named(`INSERT INTO "T_renewed" (id, new_id, expires) VALUES ('s0', 's1', $1)`), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// A version-2 instance, running: its statements are prepared on its
	// connection before the upgrade.
	old, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Release()
	v2Save := func(id, user string) error {
		_, err := old.Exec(t.Context(), named(version2Save), id, `{"old":"true"}`, user, now, now, now.Add(time.Hour), now.Add(30*time.Minute), false)
		return err
	}
	v2Load := func(id string) error {
		var data []byte
		var user string
		var created, lastSeen, deadline, expires time.Time
		var persist bool
		return old.QueryRow(t.Context(), named(version2Load), id, now).Scan(&data, &user, &created, &lastSeen, &deadline, &expires, &persist)
	}
	if err := v2Save("s8", "carol"); err != nil {
		t.Fatal(err)
	}
	if err := v2Load("s8"); err != nil {
		t.Fatal(err)
	}
	var fileBefore uint32
	if err := pool.QueryRow(t.Context(), `SELECT relfilenode FROM pg_class WHERE oid = to_regclass($1)`, pgx.Identifier{table}.Sanitize()).Scan(&fileBefore); err != nil {
		t.Fatal(err)
	}

	stores := startTogether(t, table, 4, "version-2")
	if got := versions(t, pool, table); fmt.Sprint(got) != allVersions() {
		t.Errorf("schema versions after the upgrade: %v, want %s", got, allVersions())
	}
	var fileAfter uint32
	if err := pool.QueryRow(t.Context(), `SELECT relfilenode FROM pg_class WHERE oid = to_regclass($1)`, pgx.Identifier{table}.Sanitize()).Scan(&fileAfter); err != nil {
		t.Fatal(err)
	}
	if fileAfter != fileBefore {
		t.Errorf("the upgrade rewrote the sessions table (relfilenode %d, then %d)", fileBefore, fileAfter)
	}
	st := stores[0]
	ctx := t.Context()

	// The version-2 rows, as they were.
	rec, err := st.Load(ctx, "s1")
	if err != nil {
		t.Fatalf("Load of a version-2 row: %v", err)
	}
	if n, err := sesame.Decode[int](rec.Values["n"]); err != nil || n != 1 || rec.User != "alice" || !rec.Persist {
		t.Errorf("version-2 row loaded as %+v (n = %d, %v)", rec, n, err)
	}
	if cart, err := sesame.Decode[[]string](rec.Values["cart"]); err != nil || fmt.Sprint(cart) != "[apple]" {
		t.Errorf("cart = %v, %v", cart, err)
	}
	if !rec.AuthenticatedAt.IsZero() || rec.Device != (driver.Device{}) {
		t.Errorf("a version-2 row reads as authenticated at %v on %+v, want never and no device", rec.AuthenticatedAt, rec.Device)
	}
	if _, err := st.Load(ctx, "s0"); !errors.Is(err, driver.ErrRenewed) {
		t.Errorf("Load of a version-2 renewal: %v, want ErrRenewed", err)
	}
	if _, err := st.Load(ctx, "s3"); !errors.Is(err, driver.ErrNotFound) || !errors.Is(err, driver.ErrExpired) {
		t.Errorf("Load of an expired version-2 row: %v, want ErrNotFound and ErrExpired", err)
	}
	if list, err := st.Sessions(ctx, "alice"); err != nil || len(list) != 1 || list[0].ID != "s1" ||
		!list[0].AuthenticatedAt.IsZero() || list[0].Device != (driver.Device{}) {
		t.Errorf("Sessions(alice) = %+v, %v; want s1 alone, never authenticated, no device", list, err)
	}

	// The new metadata, on a version-2 row, through every write.
	auth := now.Add(-time.Minute).Truncate(time.Microsecond)
	dev := driver.Device{UserAgent: "Mozilla/5.0 ☃", IP: "2001:db8::1"}
	if _, err := st.Apply(ctx, "s1", delta(driver.Delta{AuthenticatedAt: auth, Device: &dev})); err != nil {
		t.Fatal(err)
	}
	if err := st.Renew(ctx, "s1", "s1b", delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline})); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].Apply(ctx, "s1b", delta(driver.Delta{Delete: []string{"cart"}})); err != nil {
		t.Fatal(err)
	}
	if v, err := stores[2].Update(ctx, "s1b", "n", func(old any, ok bool) (any, error) {
		n, err := sesame.Decode[int](old)
		return n + 1, err
	}); err != nil || v != 2 {
		t.Fatalf("Update of a version-2 row's value = %v, %v; want 2", v, err)
	}
	got, err := stores[3].Load(ctx, "s1b")
	if err != nil {
		t.Fatal(err)
	}
	if !got.AuthenticatedAt.Equal(auth) || got.Device != dev {
		t.Errorf("after Apply, Renew, Apply and Update: authenticated at %v on %+v, want %v on %+v", got.AuthenticatedAt, got.Device, auth, dev)
	}
	if n, err := sesame.Decode[int](got.Values["n"]); err != nil || n != 2 || len(got.Values) != 1 {
		t.Errorf("values after Apply, Renew, Apply and Update: %v (n = %d, %v), want n = 2 alone", got.Values, n, err)
	}
	if list, err := st.Sessions(ctx, "alice"); err != nil || len(list) != 1 || !list[0].AuthenticatedAt.Equal(auth) || list[0].Device != dev {
		t.Errorf("Sessions(alice) = %+v, %v; want s1b, authenticated at %v on %+v", list, err, auth, dev)
	}

	// The version-2 instance still running, with its statements prepared
	// before the upgrade: its Save writes the columns it knows (a new row
	// gets no metadata, an existing one keeps its), and its Load reads
	// them.
	for _, id := range []string{"s1b", "s9"} {
		if err := v2Save(id, "alice"); err != nil {
			t.Fatalf("version 2's Save of %s on the upgraded table: %v", id, err)
		}
	}
	if err := v2Load("s9"); err != nil {
		t.Fatalf("version 2's Load on the upgraded table: %v", err)
	}
	for id, want := range map[string]driver.Device{"s1b": dev, "s9": {}} {
		rec, err := st.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := rec.Values["old"]; !ok || rec.Device != want {
			t.Errorf("%s after version 2's Save: %v on %+v, want old on %+v", id, rec.Values, rec.Device, want)
		}
	}
	if ended, err := st.CapUser(ctx, "alice", "s9", 1, false); err != nil || len(ended) != 1 || ended[0].ID != "s1b" {
		t.Errorf("CapUser(alice, keep s9, 1) = %+v, %v; want s1b ended", ended, err)
	}
}

// TestKeyQueriesUseIndexes checks, with EXPLAIN, that the generic plans
// (prepared statements, the parameters unknown at planning) of the
// per-session statements read the sessions and renewals tables through
// their primary keys, never by a sequential scan, on tables big enough
// for that to matter.
func TestKeyQueriesUseIndexes(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	insertSessions(t, pool, st, "s", 20000, time.Hour)
	_, err := pool.Exec(t.Context(), `INSERT INTO `+st.q.renewedTable.Sanitize()+` (id, new_id, expires)
SELECT 'r' || i, 'r' || (i + 1), now() + interval '1 hour' FROM generate_series(0, 19999) AS i`)
	if err != nil {
		t.Fatal(err)
	}
	analyze(t, pool, st)
	if _, err := pool.Exec(t.Context(), `ANALYZE `+st.q.renewedTable.Sanitize()); err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(t.Context(), `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(t.Context(), `RESET plan_cache_mode; DEALLOCATE ALL`)
	delta := `('s7', false, '{}', '{"k":"1"}', NULL, NULL, NULL, NULL, now(), now(), now(), now(), 'ua', '192.0.2.1'`
	seq := regexp.MustCompile(`Seq Scan on (` + regexp.QuoteMeta(st.table[1]) + `|` + regexp.QuoteMeta(st.q.renewedTable[1]) + `)\b`)
	for _, q := range []struct{ name, sql, args string }{
		{"load", st.q.load, `('s7', now())`},
		{"missing", st.q.missing, `('s7', now())`},
		{"apply", st.q.apply, delta + `)`},
		{"applyEmptying", st.q.applyEmptying, delta + `)`},
		{"renew", st.q.renew, delta + `, 'new')`},
		{"delete", st.q.delete, `('r7', now())`},
		{"updateRead", st.q.updateRead, `('s7', 'n', now())`},
		{"updateWrite", st.q.updateWrite, `('s7', 'n', '2')`},
		{"capDelete", st.q.capDelete, `(ARRAY['s7', 's8'])`},
	} {
		if _, err := conn.Exec(t.Context(), `PREPARE check_`+q.name+` AS `+q.sql); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		rows, _ := conn.Query(t.Context(), `EXPLAIN EXECUTE check_`+q.name+q.args, pgx.QueryExecModeSimpleProtocol)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		plan := strings.Join(lines, "\n")
		if seq.MatchString(plan) {
			t.Errorf("%s: the generic plan scans a whole table:\n%s", q.name, plan)
		}
		t.Logf("%s generic plan:\n%s", q.name, plan)
	}
}

// startTogether starts n instances of the store on table at once, each on a
// pool of its own, as a rolling deploy does, and fails t unless every one
// starts. what names the schema they start on.
func startTogether(t *testing.T, table string, n int, what string) []*Store {
	t.Helper()
	stores := make([]*Store, n)
	errs := make([]error, n)
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		pools[i] = testPool(t, 0)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = New(t.Context(), pools[i], Options{Table: table})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: New on a %s schema: %v", i, what, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	return stores
}

// version3DDL is the exact schema that pgstore's version 3 created (the
// version-2 schema, then its version-3 step), with T for the
// (unqualified) table name.
var version3DDL = append(slices.Clone(version2DDL),
	`ALTER TABLE "T"
	ADD COLUMN authenticated_at timestamptz,
	ADD COLUMN user_agent       text NOT NULL DEFAULT '',
	ADD COLUMN ip               text NOT NULL DEFAULT ''`,
	`INSERT INTO "T_schema" (version) VALUES (3)`,
)

// Statements of pgstore's version 3 on the revocation tables, which
// instances not yet upgraded keep running after the upgrade.
const (
	version3SetRevocation = `INSERT INTO "T_revocations" (user_id, before, keep, expires) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id) DO UPDATE SET before = EXCLUDED.before, keep = EXCLUDED.keep, expires = EXCLUDED.expires`
	version3Deny = `INSERT INTO "T_denied" AS d (user_id, id, expires) VALUES ($1, $2, $3)
ON CONFLICT (user_id, id) DO UPDATE SET expires = GREATEST(d.expires, EXCLUDED.expires)`
	version3Revocation = `SELECT m.before, m.keep, m.expires, d.ids, d.exps
FROM (SELECT array_agg(id) AS ids, array_agg(expires) AS exps FROM "T_denied"
	WHERE user_id = $1::text AND expires > $2::timestamptz) AS d
LEFT JOIN "T_revocations" AS m ON m.user_id = $1::text AND m.expires > $2::timestamptz`
)

// TestUpgradeFromVersion3 creates a version-3 schema with marks and
// denied IDs, then starts several instances of this version at once on
// it: all succeed, one upgrades it in place to version 4 without
// rewriting any table, every mark stays as it was and every denied ID
// stays denied, as revoked, each user's denied IDs are counted into
// their row (so that a user who already has more than driver.MaxDenied is
// refused a Deny until a mark), the revocation table is purged through
// its new index, and the statements of a version-3 instance still running
// keep working on the upgraded tables.
func TestUpgradeFromVersion3(t *testing.T) {
	pool := testPool(t, 0)
	table := uniqueTable(t, pool)
	named := func(sql string) string { return strings.ReplaceAll(sql, `"T`, `"`+table) }
	for _, stmt := range version3DDL {
		if _, err := pool.Exec(t.Context(), named(stmt)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	now := time.Now().Truncate(time.Microsecond)
	live, past := now.Add(time.Hour), now.Add(-time.Minute)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO "T" (id, data, user_id, created, last_seen, deadline, expires, authenticated_at)
	VALUES ('s1', '{"n":"1"}', 'alice', $1, $1, $2, $2, $1)`, []any{now, live}},
		{`INSERT INTO "T_revocations" (user_id, before, keep, expires) VALUES ('alice', $1, 'keep', $2), ('dave', $1, '', $3)`, []any{now, live, past}},
		{`INSERT INTO "T_denied" (user_id, id, expires) VALUES ('alice', 'd1', $1), ('alice', 'd2', $1), ('bob', 'b0', $2), ('bob', 'b1', $1)`, []any{live, past}},
		{`INSERT INTO "T_denied" (user_id, id, expires) SELECT 'carol', 'c' || i, $1 FROM generate_series(1, 1500) AS i`, []any{live}},
	} {
		if _, err := pool.Exec(ctx, named(q.sql), q.args...); err != nil {
			t.Fatal(err)
		}
	}
	// A version-3 instance, running: its statements are prepared on its
	// connection before the upgrade.
	old, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Release()
	if _, err := old.Exec(ctx, named(version3Deny), "erin", "e1", live); err != nil {
		t.Fatal(err)
	}
	files := func() map[string]uint32 {
		m := map[string]uint32{}
		for _, suffix := range []string{"", revocationsSuffix, deniedSuffix} {
			var f uint32
			if err := pool.QueryRow(ctx, `SELECT relfilenode FROM pg_class WHERE oid = to_regclass($1)`, pgx.Identifier{table + suffix}.Sanitize()).Scan(&f); err != nil {
				t.Fatal(err)
			}
			m[table+suffix] = f
		}
		return m
	}
	before := files()

	stores := startTogether(t, table, 4, "version-3")
	if got := versions(t, pool, table); fmt.Sprint(got) != allVersions() {
		t.Errorf("schema versions after the upgrade: %v, want %s", got, allVersions())
	}
	if after := files(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the upgrade rewrote a table (relfilenodes %v, then %v)", before, after)
	}
	st := stores[0]

	r, err := st.Revocation(ctx, "alice", "d1", "d2", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Before.Equal(now) || r.Keep != "keep" || !r.Expires.Equal(live) {
		t.Errorf("alice's mark after the upgrade = %+v, want it as it was", r)
	}
	if renewed, ok := r.Denied["d1"]; !ok || renewed || len(r.Denied) != 2 {
		t.Errorf("alice's denied IDs after the upgrade = %v, want d1 and d2, revoked", r.Denied)
	}
	if r, err := stores[1].Revocation(ctx, "bob", "b0", "b1"); err != nil || !r.Before.IsZero() || len(r.Denied) != 1 || r.Denied["b1"] {
		t.Errorf("bob after the upgrade = %+v, %v; want no mark and b1 revoked", r, err)
	}
	rows, _ := pool.Query(ctx, `SELECT user_id, denied FROM `+st.q.revocationsTable.Sanitize()+` ORDER BY user_id`)
	counts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		var user string
		var n int
		err := row.Scan(&user, &n)
		return fmt.Sprint(user, "=", n), err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(counts, " "), "alice=2 bob=2 carol=1500 dave=0 erin=1"; got != want {
		t.Errorf("counts of denied IDs after the upgrade: %s, want %s", got, want)
	}
	if ok, err := st.Deny(ctx, "carol", "c0", false, live); err != nil || ok {
		t.Errorf("Deny for a user past MaxDenied = %v, %v; want false: the caller sets a mark", ok, err)
	}
	if err := stores[2].SetRevocation(ctx, "carol", driver.Revocation{Before: now, Expires: live}); err != nil {
		t.Fatal(err)
	}
	if ok, err := stores[3].Deny(ctx, "carol", "c0", true, live); err != nil || !ok {
		t.Errorf("Deny after a mark = %v, %v; want true", ok, err)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+st.q.deniedTable.Sanitize()+` WHERE user_id = 'carol'`).Scan(&left); err != nil || left != 1 {
		t.Errorf("carol has %d denied IDs after a mark and a Deny (%v), want 1", left, err)
	}
	if rec, err := st.Load(ctx, "s1"); err != nil || !rec.AuthenticatedAt.Equal(now) {
		t.Errorf("the version-3 session after the upgrade = %+v, %v", rec, err)
	}

	// Purge: bob's expired denied ID goes; dave's row, whose mark has
	// expired and who has no denied ID, goes, through the new index.
	if _, err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	var b0, dave int
	pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+st.q.deniedTable.Sanitize()+` WHERE id = 'b0'),
	(SELECT count(*) FROM `+st.q.revocationsTable.Sanitize()+` WHERE user_id = 'dave')`).Scan(&b0, &dave)
	if b0 != 0 || dave != 0 {
		t.Errorf("after Purge: %d expired denied IDs, %d expired marks; want 0, 0", b0, dave)
	}
	rows, _ = pool.Query(ctx, `SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`, table+revocationsSuffix)
	indexes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(indexes, " "), table+revocationsSuffix+"_pkey "+table+revocationsSuffix+purgeIdxSuffix; got != want {
		t.Errorf("indexes of the revocation table: %s, want %s", got, want)
	}

	// The version-3 instance still running, with statements prepared
	// before the upgrade: its Deny adds a revoked ID, its SetRevocation
	// sets a mark (keeping the count), its Revocation reads them.
	if _, err := old.Exec(ctx, named(version3Deny), "erin", "e2", live); err != nil {
		t.Fatalf("version 3's Deny on the upgraded table: %v", err)
	}
	if _, err := old.Exec(ctx, named(version3SetRevocation), "erin", now, "e0", live); err != nil {
		t.Fatalf("version 3's SetRevocation on the upgraded table: %v", err)
	}
	var (
		b4, exp pgtype.Timestamptz
		keep    pgtype.Text
		ids     []string
		exps    []time.Time
	)
	if err := old.QueryRow(ctx, named(version3Revocation), "erin", now).Scan(&b4, &keep, &exp, &ids, &exps); err != nil {
		t.Fatalf("version 3's Revocation on the upgraded table: %v", err)
	}
	if keep.String != "e0" || len(ids) != 2 {
		t.Errorf("version 3's Revocation of erin: keep %q, denied %v; want e0, e1 and e2", keep.String, ids)
	}
	if r, err := st.Revocation(ctx, "erin", "e1", "e2"); err != nil || r.Keep != "e0" || len(r.Denied) != 2 || r.Denied["e2"] {
		t.Errorf("erin, as version 4 reads what version 3 wrote: %+v, %v", r, err)
	}
}
