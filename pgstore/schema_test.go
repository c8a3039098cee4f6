package pgstore

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame"
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

	const instances = 4
	stores := make([]*Store, instances)
	errs := make([]error, instances)
	pools := make([]*pgxpool.Pool, instances)
	for i := range pools {
		pools[i] = testPool(t, 0)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = New(t.Context(), pools[i], Options{Table: table})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: New on a version-1 schema: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if got := versions(t, pool, table); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("schema versions after the upgrade: %v, want [1 2]", got)
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
	r, err := st.Revocation(t.Context(), "alice")
	if err != nil || !r.Before.Equal(now.Truncate(time.Millisecond)) || r.Keep != "s1" || len(r.Denied) != 0 {
		t.Errorf("the version-1 mark reads as %+v, %v", r, err)
	}

	// Version 2's capabilities, on version-1 rows.
	if err := st.Deny(t.Context(), "alice", "s9", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r, err := st.Revocation(t.Context(), "alice"); err != nil || !r.Revokes("s9", now) || r.Keep != "s1" {
		t.Errorf("after Deny: %+v, %v", r, err)
	}
	if err := st.Renew(t.Context(), "s1", "s1b", delta(sesame.Delta{User: &rec.User, Deadline: rec.Deadline})); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].Load(t.Context(), "s1"); !errors.Is(err, sesame.ErrRenewed) {
		t.Errorf("Load of the renewed version-1 ID: %v, want ErrRenewed", err)
	}
	if deleted, err := st.Apply(t.Context(), "s2", delta(sesame.Delta{Delete: []string{"anon"}})); err != nil || !deleted {
		t.Errorf("emptying Apply of a version-1 row = %v, %v; want deleted", deleted, err)
	}
	if found, err := stores[2].Delete(t.Context(), "s1"); err != nil || !found {
		t.Errorf("Delete of the renewed version-1 ID = %v, %v; want true", found, err)
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
	delta := `('s7', false, '{}', '{"k":"1"}', NULL, NULL, NULL, NULL, now(), now(), now()`
	seq := regexp.MustCompile(`Seq Scan on (` + regexp.QuoteMeta(st.table[1]) + `|` + regexp.QuoteMeta(st.q.renewedTable[1]) + `)\b`)
	for _, q := range []struct{ name, sql, args string }{
		{"load", st.q.load, `('s7', now())`},
		{"renewed", st.q.renewed, `('s7', now())`},
		{"apply", st.q.apply, delta + `)`},
		{"applyEmptying", st.q.applyEmptying, delta + `)`},
		{"renew", st.q.renew, delta + `, 'new')`},
		{"delete", st.q.delete, `('r7', now())`},
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
