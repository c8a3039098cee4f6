package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/testenv"
	"github.com/sesame-go/sesame/sesametest"
)

// testPool connects to the test PostgreSQL, or skips (fails in CI) when it
// is unreachable. mode, if non-zero, sets the query exec mode.
func testPool(t testing.TB, mode pgx.QueryExecMode) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	if mode != 0 {
		cfg.ConnConfig.DefaultQueryExecMode = mode
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// uniqueTable returns a new table name and drops its tables when the test
// ends, so that tests sharing the server never see each other's rows.
func uniqueTable(t testing.TB, pool *pgxpool.Pool) string {
	var b [6]byte
	rand.Read(b[:])
	name := "sesame_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		table := pgx.Identifier{name}
		names := []string{table.Sanitize()}
		for _, suffix := range []string{revocationsSuffix, renewedSuffix, deniedSuffix, schemaSuffix} {
			names = append(names, suffixed(table, suffix).Sanitize())
		}
		_, err := pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+strings.Join(names, ", "))
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	return name
}

// newStore returns a Store on a new table of its own.
func newStore(t testing.TB, pool *pgxpool.Pool, opts Options) *Store {
	t.Helper()
	if opts.Table == "" {
		opts.Table = uniqueTable(t, pool)
	}
	st, err := New(context.Background(), pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// dumpStore is a Store whose Dump returns its table's rows as text.
type dumpStore struct{ *Store }

func (d dumpStore) Dump(ctx context.Context) ([]byte, error) {
	var out strings.Builder
	for _, table := range []pgx.Identifier{d.table, d.q.revocationsTable, d.q.renewedTable, d.q.deniedTable} {
		rows, err := d.pool.Query(ctx, `SELECT r::text FROM `+table.Sanitize()+` r`)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return nil, err
			}
			out.WriteString(line + "\n")
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return []byte(out.String()), nil
}

func TestConformance(t *testing.T) {
	for _, mode := range []struct {
		name string
		mode pgx.QueryExecMode
	}{
		// pgx's default: prepared statements, cached per connection.
		{"CacheStatement", pgx.QueryExecModeCacheStatement},
		// The modes to use behind PgBouncer in transaction mode.
		{"Exec", pgx.QueryExecModeExec},
		{"SimpleProtocol", pgx.QueryExecModeSimpleProtocol},
	} {
		t.Run(mode.name, func(t *testing.T) {
			pool := testPool(t, mode.mode)
			sesametest.Run(t, func(t *testing.T) driver.Store {
				return dumpStore{newStore(t, pool, Options{})}
			})
		})
	}
}

func TestConcurrentNewOnANewTableAllSucceed(t *testing.T) {
	const instances = 8
	pool := testPool(t, 0)
	table := uniqueTable(t, pool)
	// Each instance has its own pool, as separate app processes would.
	pools := make([]*pgxpool.Pool, instances)
	for i := range pools {
		pools[i] = testPool(t, 0)
	}
	start := make(chan struct{})
	errs := make([]error, instances)
	stores := make([]*Store, instances)
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
			t.Errorf("instance %d: New: %v", i, err)
		}
	}
	if t.Failed() {
		return
	}
	if got := versions(t, pool, table); fmt.Sprint(got) != allVersions() {
		t.Errorf("schema versions recorded: %v, want %s", got, allVersions())
	}
	// Every instance works on the one table.
	for i, st := range stores {
		id := fmt.Sprintf("id%d", i)
		if err := st.Save(t.Context(), id, liveRecord("", map[string]any{"i": i})); err != nil {
			t.Fatal(err)
		}
		if _, err := stores[(i+1)%instances].Load(t.Context(), id); err != nil {
			t.Errorf("instance %d cannot load what instance %d saved: %v", (i+1)%instances, i, err)
		}
	}
}

func versions(t *testing.T, pool *pgxpool.Pool, table string) []int {
	t.Helper()
	rows, _ := pool.Query(t.Context(), `SELECT version FROM `+suffixed(pgx.Identifier{table}, schemaSuffix).Sanitize()+` ORDER BY version`)
	v, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// allVersions returns the schema versions a current schema records, as
// fmt prints them: "[1 2 ... SchemaVersion]".
func allVersions() string {
	v := make([]int, SchemaVersion)
	for i := range v {
		v[i] = i + 1
	}
	return fmt.Sprint(v)
}

func liveRecord(user string, vals map[string]any) *driver.Record {
	now := time.Now()
	return &driver.Record{Values: vals, User: user, Created: now, LastSeen: now,
		Deadline: now.Add(time.Hour), Expires: now.Add(30 * time.Minute)}
}

// mustSave saves rec under id in st, and fails t if the store fails.
func mustSave(t testing.TB, st driver.Store, id string, rec *driver.Record) {
	t.Helper()
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatalf("Save(%s): %v", id, err)
	}
}

func TestSchemaIsCreatedOnceAndNewOnAnExistingTableIsANoOp(t *testing.T) {
	pool := testPool(t, 0)
	first := newStore(t, pool, Options{})
	table := first.table[1]
	if err := first.Save(t.Context(), "id1", liveRecord("alice", map[string]any{"a": 1})); err != nil {
		t.Fatal(err)
	}
	type state struct {
		oid      uint32
		versions string // version, applied and xmin of each row
	}
	read := func() state {
		var s state
		err := pool.QueryRow(t.Context(), `SELECT to_regclass($1)::oid, (SELECT string_agg(format('%s@%s/%s', version, applied, xmin), ',') FROM `+
			first.q.versionTable.Sanitize()+`)`, first.table.Sanitize()).Scan(&s.oid, &s.versions)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := read()

	// While another session holds the migration lock, New on the
	// existing table must still return at once: it takes no lock and
	// runs no DDL when the schema is current.
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(t.Context(), `SELECT pg_advisory_lock($1)`, lockKey(migrateLock, first.table)); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, lockKey(migrateLock, first.table))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	second, err := New(ctx, pool, Options{Table: table})
	if err != nil {
		t.Fatalf("New on an existing table: %v", err)
	}
	defer second.Close()

	if after := read(); after != before {
		t.Errorf("New on an existing table changed the schema: before %+v, after %+v", before, after)
	}
	if got := versions(t, pool, table); fmt.Sprint(got) != allVersions() {
		t.Errorf("schema versions recorded: %v, want %s", got, allVersions())
	}
	if _, err := second.Load(t.Context(), "id1"); err != nil {
		t.Errorf("the record saved before the second New: %v", err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	newer := SchemaVersion + 1
	if _, err := pool.Exec(t.Context(), `INSERT INTO `+st.q.versionTable.Sanitize()+` (version) VALUES ($1)`, newer); err != nil {
		t.Fatal(err)
	}
	_, err := New(t.Context(), pool, Options{Table: st.table[1]})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("New on a version-%d schema: %v, want ErrNewerSchema", newer, err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("version %d", newer)) {
		t.Errorf("error %q does not name the version found", err)
	}
	t.Log(err)
}

func TestTableNamesAreValidated(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"", true},
		{"sessions", true},
		{"Auth_2.Sessions_v2", true},
		{strings.Repeat("x", maxTableLen), true},
		{strings.Repeat("x", maxTableLen+1), false},
		{"1sessions", false},
		{"sessions; DROP TABLE users", false},
		{`ses"sions`, false},
		{"a.b.c", false},
		{"a.", false},
		{"sessions-1", false},
	} {
		_, err := parseTable(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("parseTable(%q): %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if _, err := New(context.Background(), nil, Options{}); err == nil {
		t.Error("New with a nil pool succeeded")
	}
}

func TestValuesRoundTripByteForByte(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	when := time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.UTC)
	vals := map[string]any{
		"int64":  int64(1<<62 + 1),
		"time":   when,
		"raw":    json.RawMessage(`{"dark":true,"n":9007199254740993,"f":1e2}`), // jsonb would reorder and rewrite
		"nul":    "a\x00b",                                                      // jsonb rejects \u0000
		"html":   "<b>&</b>",
		"nested": map[string]any{"z": 1, "a": []int{3, 2, 1}},
	}
	if err := st.Save(t.Context(), "id1", liveRecord("", vals)); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := st.Apply(t.Context(), "id1", &driver.Delta{Set: map[string]any{"applied": json.RawMessage(`{"b":1,"a":2}`)}, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	vals["applied"] = json.RawMessage(`{"b":1,"a":2}`)
	rec, err := st.Load(t.Context(), "id1")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range vals {
		want, _ := driver.MarshalValue(v)
		got, ok := rec.Values[k].(json.RawMessage)
		if !ok || string(got) != string(want) {
			t.Errorf("%s: loaded %#v, want %s", k, rec.Values[k], want)
		}
	}
	if n, err := sesame.Decode[int64](rec.Values["int64"]); err != nil || n != 1<<62+1 {
		t.Errorf("int64 = %d, %v", n, err)
	}
	if got, err := sesame.Decode[time.Time](rec.Values["time"]); err != nil || !got.Equal(when) {
		t.Errorf("time = %v, %v; want %v", got, err, when)
	}
}

func TestExpiredRecordIsNotFoundBeforePurge(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	rec := liveRecord("alice", map[string]any{"a": 1})
	rec.Expires = time.Now().Add(-time.Millisecond)
	if err := st.Save(t.Context(), "id1", rec); err != nil {
		t.Fatal(err)
	}
	expired := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, driver.ErrNotFound) || !errors.Is(err, driver.ErrExpired) {
			t.Errorf("%s of an expired record: %v, want ErrNotFound and ErrExpired", op, err)
		}
	}
	_, err := st.Load(t.Context(), "id1")
	expired("Load", err)
	_, err = st.Apply(t.Context(), "id1", delta(driver.Delta{Set: map[string]any{"b": 2}}))
	expired("Apply", err)
	_, err = st.Apply(t.Context(), "id1", delta(driver.Delta{Clear: true}))
	expired("Emptying Apply", err)
	_, err = st.Update(t.Context(), "id1", "a", func(any, bool) (any, error) { return 2, nil })
	expired("Update", err)
	expired("Renew", st.Renew(t.Context(), "id1", "id2", delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline})))
	if _, err := st.Load(t.Context(), "never"); !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrExpired) {
		t.Errorf("Load of an unknown ID: %v, want ErrNotFound alone", err)
	}
	if list, err := st.Sessions(t.Context(), "alice"); err != nil || len(list) != 0 {
		t.Errorf("Sessions lists an expired record: %v, %v", list, err)
	}
	if ended, err := st.CapUser(t.Context(), "alice", "", 0, false); err != nil || len(ended) != 0 {
		t.Errorf("CapUser ends an expired record: %v, %v", ended, err)
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM `+st.table.Sanitize()).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows in the table: %d, %v; want the expired row still there (not purged)", n, err)
	}
}

// TestUpdateKeepsValuesExactlyAndFailsCleanly checks what Update adds to
// the conformance suite's checks: f gets the stored encoding byte for
// byte (or ok false for a missing key), its result is stored byte for
// byte, nothing else in the row changes, and a failing f or an
// unencodable result changes nothing, returns f's error itself, and
// leaves no transaction open on a pool connection.
func TestUpdateKeepsValuesExactlyAndFailsCleanly(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	ctx := t.Context()
	in := liveRecord("alice", map[string]any{"raw": json.RawMessage(`{"b":1,"a":2e0}`), "other": "x"})
	in.AuthenticatedAt = in.Created
	in.Device = driver.Device{UserAgent: "ua", IP: "192.0.2.1"}
	if err := st.Save(ctx, "id1", in); err != nil {
		t.Fatal(err)
	}
	before, err := st.Load(ctx, "id1")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	v, err := st.Update(ctx, "id1", "raw", func(old any, ok bool) (any, error) {
		raw, _ := old.(json.RawMessage)
		seen = append(seen, fmt.Sprint(ok, " ", string(raw)))
		return json.RawMessage(`{"z":1e2,  "a":"\u0000"}`), nil
	})
	if err != nil || string(v.(json.RawMessage)) != `{"z":1e2,  "a":"\u0000"}` {
		t.Fatalf("Update = %v, %v", v, err)
	}
	if _, err := st.Update(ctx, "id1", "new", func(old any, ok bool) (any, error) {
		seen = append(seen, fmt.Sprint(ok, " ", old))
		return int64(1<<62 + 1), nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{`true {"b":1,"a":2e0}`, `false <nil>`}; !slices.Equal(seen, want) {
		t.Errorf("f was called with %q, want %q", seen, want)
	}
	after, err := st.Load(ctx, "id1")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(after.Values["raw"].(json.RawMessage)); got != `{"z":1e2,  "a":"\u0000"}` {
		t.Errorf("raw after Update: %s", got)
	}
	if n, err := sesame.Decode[int64](after.Values["new"]); err != nil || n != 1<<62+1 {
		t.Errorf("new after Update: %d, %v", n, err)
	}
	delete(after.Values, "raw")
	delete(after.Values, "new")
	delete(before.Values, "raw")
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("Update changed more than its key:\nbefore %+v\nafter  %+v", before, after)
	}

	boom := errors.New("boom")
	for name, f := range map[string]func(any, bool) (any, error){
		"f fails":          func(any, bool) (any, error) { return nil, boom },
		"result is a func": func(any, bool) (any, error) { return func() {}, nil },
	} {
		_, err := st.Update(ctx, "id1", "other", f)
		if err == nil || name == "f fails" && err != boom {
			t.Errorf("Update where %s: %v, want an error (boom itself if f failed)", name, err)
		}
		rec, err := st.Load(ctx, "id1")
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := sesame.Decode[string](rec.Values["other"]); s != "x" {
			t.Errorf("Update where %s changed the value to %q", name, s)
		}
	}
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("%d pool connections still acquired after the Updates", n)
	}
	var open int
	err = pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE state LIKE 'idle in transaction%' AND strpos(query, $1) > 0`, st.table[1]).Scan(&open)
	if err != nil || open != 0 {
		t.Errorf("%d connections idle in a transaction (%v), want none", open, err)
	}
}

// TestUpdateWhoseContextEndsReleasesTheRow ends an Update's context while
// f runs, with the row locked: Update fails with the context's error,
// changes nothing, and the next Update of the row does not wait for a
// lock left behind.
func TestUpdateWhoseContextEndsReleasesTheRow(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	if err := st.Save(t.Context(), "id1", liveRecord("", map[string]any{"n": 1})); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	_, err := st.Update(ctx, "id1", "n", func(any, bool) (any, error) {
		cancel()
		return 2, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update whose context ended in f: %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	v, err := st.Update(ctx, "id1", "n", func(old any, ok bool) (any, error) {
		n, err := sesame.Decode[int](old)
		return n + 1, err
	})
	if err != nil || v != 2 {
		t.Errorf("the next Update = %v, %v; want 2 (n unchanged by the cancelled one, then incremented)", v, err)
	}
}

func TestPurgeDeletesInBatches(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	const expired, live = 2*purgeBatch + 7, 3
	insertSessions(t, pool, st, "expired-", expired, -time.Hour)
	insertSessions(t, pool, st, "live-", live, time.Hour)
	past := time.Now().Add(-time.Second)
	if err := st.SetRevocation(t.Context(), "alice", driver.Revocation{Before: past, Expires: past}); err != nil {
		t.Fatal(err)
	}
	n, err := st.Purge(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != expired {
		t.Errorf("Purge deleted %d, want %d", n, expired)
	}
	var sessions, marks int
	err = pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM `+st.table.Sanitize()+`), (SELECT count(*) FROM `+st.q.revocationsTable.Sanitize()+`)`).Scan(&sessions, &marks)
	if err != nil {
		t.Fatal(err)
	}
	if sessions != live || marks != 0 {
		t.Errorf("after Purge: %d sessions, %d marks; want %d, 0", sessions, marks, live)
	}
}

// insertSessions bulk-inserts n sessions with IDs prefix0..prefixN-1,
// expiring in ttl, in one statement. Each user (prefix+"user-0", ...)
// holds 5 of them.
func insertSessions(t testing.TB, pool *pgxpool.Pool, st *Store, prefix string, n int, ttl time.Duration) {
	t.Helper()
	now := time.Now()
	_, err := pool.Exec(context.Background(), `INSERT INTO `+st.table.Sanitize()+`
	(id, data, user_id, created, last_seen, deadline, expires)
SELECT $1 || i, '{"n":"1"}', $1 || 'user-' || (i / 5), $2, $2, $3, $3
FROM generate_series(0, $4 - 1) AS i`, prefix, now, now.Add(ttl), n)
	if err != nil {
		t.Fatal(err)
	}
}

// analyze updates the planner's statistics of the sessions table.
func analyze(t testing.TB, pool *pgxpool.Pool, st *Store) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `ANALYZE `+st.table.Sanitize()); err != nil {
		t.Fatal(err)
	}
}

func TestJanitorPurgesUntilClose(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{CleanupInterval: 20 * time.Millisecond})
	rec := liveRecord("", map[string]any{"a": 1})
	rec.Expires = time.Now().Add(-time.Second)
	if err := st.Save(t.Context(), "dead", rec); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM `+st.table.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); count() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the janitor did not purge the expired record")
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// After Close the janitor is gone: an expired row stays.
	if err := st.Save(t.Context(), "dead", rec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if count() != 1 {
		t.Error("something purged after Close")
	}
}

// TestUserQueriesUseTheUserIndex checks, with EXPLAIN, that listing and
// revoking a user's sessions read the user index, not the table, even as
// generic plans of prepared statements (the user unknown at planning).
func TestUserQueriesUseTheUserIndex(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	insertSessions(t, pool, st, "s", 20000, time.Hour)
	analyze(t, pool, st)
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(t.Context(), `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), `RESET plan_cache_mode; DEALLOCATE ALL`)
	index := st.table[1] + userIndexSuffix
	for name, q := range map[string]struct{ sql, args string }{
		"Sessions":   {st.q.sessions, `('suser-7', now())`},
		"DeleteUser": {st.q.deleteUser, `('suser-7', '')`},
		"CapUser":    {st.q.capList, `('suser-7', now())`},
	} {
		stmt := "check_" + strings.ToLower(name)
		if _, err := conn.Exec(t.Context(), `PREPARE `+stmt+` AS `+q.sql); err != nil {
			t.Fatal(err)
		}
		rows, _ := conn.Query(t.Context(), `EXPLAIN EXECUTE `+stmt+q.args, pgx.QueryExecModeSimpleProtocol)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, index) || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: the generic plan does not use %s:\n%s", name, index, plan)
		}
		t.Logf("%s generic plan:\n%s", name, plan)
	}
}

// BenchmarkRevokeUser measures DeleteUser of one user's 5 sessions in a
// table that holds others sessions of other users. With the user index,
// the cost does not grow with others.
func BenchmarkRevokeUser(b *testing.B) {
	pool := testPool(b, 0)
	for _, others := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			st := newStore(b, pool, Options{})
			insertSessions(b, pool, st, "other-", others, time.Hour)
			analyze(b, pool, st) // as autovacuum would, on a table this size
			ctx := context.Background()
			const mine = 5
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				// A new user each time, as revoking is rare for one user.
				prefix := fmt.Sprintf("victim%d-", i)
				user := prefix + "user-0"
				insertSessions(b, pool, st, prefix, mine, time.Hour)
				b.StartTimer()
				n, err := st.DeleteUser(ctx, user, "")
				if err != nil || n != mine {
					b.Fatalf("DeleteUser = %d, %v; want %d", n, err, mine)
				}
			}
		})
	}
}

// counter is a pgx tracer that counts the round trips: each statement
// sent alone, and each batch of statements.
type counter struct{ n atomic.Int64 }

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestStatementsPerOperation counts the round trips each operation makes
// (a statement, or a batch of them): one, and a second only where the
// package doc says so (telling a renewed ID on the not-found path).
func TestStatementsPerOperation(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	var c counter
	cfg.ConnConfig.Tracer = &c
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(t.Context()); err != nil {
		testenv.Unavailable(t, "PostgreSQL", err)
	}
	st := newStore(t, pool, Options{})
	ctx := t.Context()
	alice := "alice"
	rec := liveRecord(alice, map[string]any{"a": 1, "b": 2})
	check := func(name string, want int64, op func() error) {
		t.Helper()
		before := c.n.Load()
		if err := op(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := c.n.Load() - before; got != want {
			t.Errorf("%s sent %d statements, want %d", name, got, want)
		}
	}
	notFound := func(err error) error {
		if errors.Is(err, driver.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("got %v, want ErrNotFound", err)
	}
	check("Save", 1, func() error { return st.Save(ctx, "id1", rec) })
	check("Load", 1, func() error { _, err := st.Load(ctx, "id1"); return err })
	check("Load of a missing ID", 2, func() error { _, err := st.Load(ctx, "missing"); return notFound(err) })
	check("Apply (a touch)", 1, func() error { _, err := st.Apply(ctx, "id1", delta(driver.Delta{})); return err })
	check("Apply (a set)", 1, func() error {
		_, err := st.Apply(ctx, "id1", delta(driver.Delta{Set: map[string]any{"c": 3}}))
		return err
	})
	check("Apply (emptying, not empty)", 1, func() error {
		_, err := st.Apply(ctx, "id1", delta(driver.Delta{Delete: []string{"c"}}))
		return err
	})
	check("Apply of a missing ID", 2, func() error {
		_, err := st.Apply(ctx, "missing", delta(driver.Delta{Set: map[string]any{"c": 3}}))
		return notFound(err)
	})
	check("Renew", 1, func() error {
		return st.Renew(ctx, "id1", "id2", delta(driver.Delta{User: &alice, Deadline: rec.Deadline}))
	})
	check("Load of a renewed ID", 2, func() error {
		_, err := st.Load(ctx, "id1")
		if !errors.Is(err, driver.ErrRenewed) {
			return fmt.Errorf("got %v, want ErrRenewed", err)
		}
		return nil
	})
	check("Renew of a missing ID", 2, func() error {
		return notFound(st.Renew(ctx, "missing", "id3", delta(driver.Delta{User: &alice, Deadline: rec.Deadline})))
	})
	check("Sessions", 1, func() error { _, err := st.Sessions(ctx, alice); return err })
	check("Delete of a renewed ID", 1, func() error {
		found, err := st.Delete(ctx, "id1")
		if err == nil && !found {
			err = errors.New("found nothing")
		}
		return err
	})
	check("Delete of a missing ID", 1, func() error { _, err := st.Delete(ctx, "missing"); return err })
	mustSave(t, st, "id4", liveRecord("", map[string]any{"a": 1}))
	check("Apply (emptying, deletes)", 1, func() error {
		deleted, err := st.Apply(ctx, "id4", delta(driver.Delta{Clear: true}))
		if err == nil && !deleted {
			err = errors.New("not deleted")
		}
		return err
	})
	// Update and CapUser are transactions: BEGIN and COMMIT (or
	// ROLLBACK) are statements too.
	mustSave(t, st, "id6", liveRecord(alice, nil))
	check("Update", 4, func() error {
		_, err := st.Update(ctx, "id6", "n", func(any, bool) (any, error) { return 1, nil })
		return err
	})
	check("Update of a missing ID", 4, func() error {
		_, err := st.Update(ctx, "missing", "n", func(any, bool) (any, error) { return 1, nil })
		return notFound(err)
	})
	check("CapUser (under the cap)", 4, func() error { _, err := st.CapUser(ctx, alice, "", 5, false); return err })
	mustSave(t, st, "id5", liveRecord(alice, nil))
	check("CapUser (ending one)", 5, func() error {
		ended, err := st.CapUser(ctx, alice, "id5", 1, false)
		if err == nil && len(ended) != 1 {
			err = fmt.Errorf("ended %v, want one session", ended)
		}
		return err
	})
	check("DeleteUser", 1, func() error { _, err := st.DeleteUser(ctx, alice, ""); return err })
	now := time.Now()
	check("Deny", 1, func() error {
		ok, err := st.Deny(ctx, alice, "id9", false, now.Add(time.Hour))
		if err == nil && !ok {
			err = errors.New("refused")
		}
		return err
	})
	check("SetRevocation (a batch)", 1, func() error {
		return st.SetRevocation(ctx, alice, driver.Revocation{Before: now, Keep: "id9", Expires: now.Add(time.Hour)})
	})
	check("Revocation", 1, func() error {
		r, err := st.Revocation(ctx, alice, "id9", "id8")
		if err == nil && (len(r.Denied) != 1 || r.Before.IsZero()) {
			err = fmt.Errorf("got %+v, want the mark and one denied ID", r)
		}
		return err
	})
}

// TestPurgeRemovesExpiredRenewalsAndDeniedIDs checks that Purge also
// empties the renewal and denied-ID tables of their expired rows, in
// batches, and keeps the live ones and the denied IDs of an expired mark.
func TestPurgeRemovesExpiredRenewalsAndDeniedIDs(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	const expired = purgeBatch + 3
	now := time.Now()
	_, err := pool.Exec(t.Context(), `INSERT INTO `+st.q.renewedTable.Sanitize()+` (id, new_id, expires)
SELECT 'dead' || i, 'x', $1 FROM generate_series(1, $2) AS i`, now.Add(-time.Minute), expired)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(t.Context(), `INSERT INTO `+st.q.deniedTable.Sanitize()+` (user_id, id, expires)
SELECT 'u' || (i % 7), 'dead' || i, $1 FROM generate_series(1, $2) AS i`, now.Add(-time.Minute), expired)
	if err != nil {
		t.Fatal(err)
	}
	rec := liveRecord("alice", map[string]any{"a": 1})
	mustSave(t, st, "old", rec)
	if err := st.Renew(t.Context(), "old", "new", delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline})); err != nil {
		t.Fatal(err)
	}
	if err := st.SetRevocation(t.Context(), "alice", driver.Revocation{Before: now, Expires: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Deny(t.Context(), "alice", "live", false, now.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("Deny(alice, live) = %v, %v", ok, err)
	}
	// carol's row: all expired.
	if ok, err := st.Deny(t.Context(), "carol", "dead", false, now.Add(-time.Second)); err != nil || !ok {
		t.Fatalf("Deny(carol, dead) = %v, %v", ok, err)
	}
	if _, err := st.Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
	var renewed, denied, marks int
	err = pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM `+st.q.renewedTable.Sanitize()+`),
	(SELECT count(*) FROM `+st.q.deniedTable.Sanitize()+`), (SELECT count(*) FROM `+st.q.revocationsTable.Sanitize()+`)`).Scan(&renewed, &denied, &marks)
	if err != nil {
		t.Fatal(err)
	}
	if renewed != 1 || denied != 1 || marks != 1 {
		t.Errorf("after Purge: %d renewals, %d denied IDs, %d rows of marks; want 1, 1, 1 (alice's: her mark expired, not her denied ID)", renewed, denied, marks)
	}
	if _, err := st.Load(t.Context(), "old"); !errors.Is(err, driver.ErrRenewed) {
		t.Errorf("Load(old) after Purge: %v, want ErrRenewed (the renewal is live)", err)
	}
	if r, err := st.Revocation(t.Context(), "alice", "live"); err != nil || !r.Revokes("live", "", now) || !r.Before.IsZero() {
		t.Errorf("Revocation(alice) after Purge = %+v, %v; want the live denied ID", r, err)
	}
}

// BenchmarkOperations measures one call of each per-session operation,
// on a table that holds 10000 other sessions: its time is one statement's
// round trip to the server and its work there.
func BenchmarkOperations(b *testing.B) {
	pool := testPool(b, 0)
	st := newStore(b, pool, Options{})
	insertSessions(b, pool, st, "other-", 10000, time.Hour)
	analyze(b, pool, st)
	ctx := context.Background()
	alice := "alice"
	rec := liveRecord(alice, map[string]any{"a": 1, "cart": []string{"apple"}})
	if err := st.Save(ctx, "bench", rec); err != nil {
		b.Fatal(err)
	}
	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.Load(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Apply", func(b *testing.B) { // a set: one UPDATE
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := st.Apply(ctx, "bench", delta(driver.Delta{Set: map[string]any{"n": i}})); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ApplyEmptying", func(b *testing.B) { // a delete of a key: lock, then update
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := st.Apply(ctx, "bench", delta(driver.Delta{Delete: []string{"n"}, Set: map[string]any{"n": i}})); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Update", func(b *testing.B) { // a transaction: BEGIN, lock and read, UPDATE, COMMIT
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.Update(ctx, "bench", "a", func(old any, ok bool) (any, error) {
				n, err := sesame.Decode[int](old)
				return n + 1, err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CapUser", func(b *testing.B) { // under the cap: BEGIN, lock, list, COMMIT
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.CapUser(ctx, alice, "bench", 10, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Renew", func(b *testing.B) { // along a chain of renewals
		b.ReportAllocs()
		id := "bench"
		for i := 0; b.Loop(); i++ {
			next := fmt.Sprint("bench-", i)
			if err := st.Renew(ctx, id, next, delta(driver.Delta{User: &alice, Deadline: rec.Deadline})); err != nil {
				b.Fatal(err)
			}
			id = next
		}
	})
	b.Run("Delete", func(b *testing.B) {
		insertSessions(b, pool, st, "victim-", b.N, time.Hour)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if found, err := st.Delete(ctx, fmt.Sprint("victim-", i)); err != nil || !found {
				b.Fatalf("Delete = %v, %v", found, err)
			}
		}
	})
}
