package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
	"github.com/sesame-go/sesame/sqlitestore"
)

// dumpStore is a Store that can dump its raw tables, for the suite's
// "tokens are never stored" check.
type dumpStore struct {
	*sqlitestore.Store
	raw *sql.DB // a second pool on the same file
}

// Dump implements sesametest.Dumper: every row of the store's tables.
func (d dumpStore) Dump(ctx context.Context) ([]byte, error) {
	var b strings.Builder
	for _, table := range []string{"sesame_sessions", "sesame_renewals", "sesame_revocations", "sesame_denied"} {
		rows, err := d.raw.QueryContext(ctx, "SELECT * FROM "+table)
		if err != nil {
			return nil, err
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			fmt.Fprintf(&b, "%s: %q\n", table, vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return []byte(b.String()), nil
}

// open opens a Store on path and closes it when the test ends.
func open(t testing.TB, path string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// rawDB opens a plain pool on path, closed when the test ends.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqlitestore.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func tempDB(t testing.TB) string { return filepath.Join(t.TempDir(), "sessions.db") }

// mustSave saves rec under id in st, and fails t if the store fails.
func mustSave(t testing.TB, st driver.Store, id string, rec *driver.Record) {
	t.Helper()
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatalf("Save(%s): %v", id, err)
	}
}

func TestConformance(t *testing.T) {
	sesametest.Run(t, func(t *testing.T) driver.Store {
		path := tempDB(t)
		return dumpStore{open(t, path), rawDB(t, path)}
	})
}

func delta(set map[string]any) *driver.Delta {
	now := time.Now()
	return &driver.Delta{Set: set, LastSeen: now, Expires: now.Add(time.Hour)}
}

func TestTwoStoresOnOneFileShareData(t *testing.T) {
	path := tempDB(t)
	a, b := open(t, path), open(t, path)
	ctx := t.Context()

	if err := a.Save(ctx, "id1", sesametest.Record("alice", map[string]any{"base": 0})); err != nil {
		t.Fatal(err)
	}
	rec, err := b.Load(ctx, "id1")
	if err != nil || rec.User != "alice" {
		t.Fatalf("b.Load of a's record: %+v, %v", rec, err)
	}

	// 32 parallel delta commits, alternating between the two pools, so
	// writers meet at SQLite's lock as two processes would.
	var wg sync.WaitGroup
	for i := range 32 {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			if _, err := st.Apply(ctx, "id1", delta(map[string]any{fmt.Sprintf("k%02d", i): i})); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for name, st := range map[string]*sqlitestore.Store{"a": a, "b": b} {
		rec, err := st.Load(ctx, "id1")
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Values) != 33 {
			t.Errorf("%s sees %d values after 32 parallel deltas on two stores, want 33", name, len(rec.Values))
		}
	}

	if n, err := b.DeleteUser(ctx, "alice", ""); err != nil || n != 1 {
		t.Fatalf("b.DeleteUser = %d, %v; want 1", n, err)
	}
	if _, err := a.Load(ctx, "id1"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("a.Load after b revoked the user: %v, want ErrNotFound", err)
	}
	if _, err := a.Apply(ctx, "id1", delta(map[string]any{"late": true})); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("a.Apply after b revoked the user: %v, want ErrNotFound", err)
	}
}

func TestReopenKeepsSessions(t *testing.T) {
	path := tempDB(t)
	ctx := t.Context()
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := sesametest.Record("alice", map[string]any{"cart": []string{"apple"}})
	if err := st.Save(ctx, "id1", in); err != nil {
		t.Fatal(err)
	}
	r := driver.Revocation{Before: time.Now(), Keep: "id1", Expires: time.Now().Add(time.Hour)}
	if err := st.SetRevocation(ctx, "alice", r); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open(t, path) // the schema exists: migrating again is a no-op
	out, err := st.Load(ctx, "id1")
	if err != nil {
		t.Fatal(err)
	}
	if cart, err := sesame.Decode[[]string](out.Values["cart"]); err != nil || !slices.Equal(cart, []string{"apple"}) {
		t.Errorf("cart after reopen = %v, %v", cart, err)
	}
	if got, _ := st.Revocation(ctx, "alice", "id1"); got.Keep != "id1" || got.Before.UnixMilli() != r.Before.UnixMilli() {
		t.Errorf("revocation after reopen = %+v, want %+v", got, r)
	}
}

func TestConcurrentOpensOfANewFileMigrateOnce(t *testing.T) {
	path := tempDB(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			st, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{CleanupInterval: -1})
			if err != nil {
				t.Error(err)
				return
			}
			st.Close()
		})
	}
	wg.Wait()
	var v int
	if err := rawDB(t, path).QueryRow(`SELECT version FROM sesame_schema`).Scan(&v); err != nil || v != 4 {
		t.Errorf("schema version = %d, %v; want 4", v, err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := tempDB(t)
	open(t, path)
	db := rawDB(t, path)
	if _, err := db.Exec(`UPDATE sesame_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{})
	if err == nil {
		st.Close()
		t.Fatal("Open of a database with schema version 99 succeeded")
	}
	if !strings.Contains(err.Error(), "schema version 99 is newer") {
		t.Errorf("error %q does not say the schema is newer", err)
	}
	var v int
	db.QueryRow(`SELECT version FROM sesame_schema`).Scan(&v)
	if v != 99 {
		t.Errorf("the refused Open changed the schema version to %d", v)
	}
}

// TestNewOnCallerOwnedDeferredPools runs two Stores on caller-owned pools
// whose transactions begin DEFERRED (no _txlock=immediate): parallel delta
// commits from both still all survive, since every transaction the store
// runs starts with a write. Close leaves the caller's pool open.
func TestNewOnCallerOwnedDeferredPools(t *testing.T) {
	path := tempDB(t)
	var st [2]*sqlitestore.Store
	var dbs [2]*sql.DB
	for i := range st {
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
		if st[i], err = sqlitestore.New(t.Context(), db, sqlitestore.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	if err := st[0].Save(ctx, "id1", sesametest.Record("", map[string]any{"base": 0})); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			if _, err := st[i%2].Apply(ctx, "id1", delta(map[string]any{fmt.Sprintf("k%02d", i): i})); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if rec, err := st[1].Load(ctx, "id1"); err != nil || len(rec.Values) != 33 {
		t.Errorf("after 32 parallel deltas on two deferred pools: %d values, %v; want 33", len(rec.Values), err)
	}
	for i := range st {
		if err := st[i].Close(); err != nil {
			t.Fatal(err)
		}
		if err := dbs[i].Ping(); err != nil {
			t.Errorf("Close closed the caller's DB: %v", err)
		}
	}
}

// TestRenewsAndDeletesAcrossStoresAreAtomic races Renews, then Deletes,
// of one session from four Stores on one file, two of them on
// caller-owned pools whose transactions begin DEFERRED, as separate
// processes would: exactly one Renew wins, every other reports
// ErrNotFound and ErrRenewed, and exactly one Delete of the old ID reports
// the (renewed) session.
func TestRenewsAndDeletesAcrossStoresAreAtomic(t *testing.T) {
	path := tempDB(t)
	stores := []*sqlitestore.Store{open(t, path), open(t, path)}
	for range 2 {
		stores = append(stores, deferredStore(t, path))
	}
	ctx := t.Context()
	for round := range 5 {
		old := fmt.Sprint("old", round)
		rec := sesametest.Record("alice", map[string]any{"a": 1})
		if err := stores[0].Save(ctx, old, rec); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, 16)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				now := time.Now()
				errs[i] = stores[i%len(stores)].Renew(ctx, old, fmt.Sprint(old, "-new", i),
					&driver.Delta{User: &rec.User, Deadline: rec.Deadline, LastSeen: now, Expires: now.Add(time.Hour)})
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, driver.ErrNotFound) || !errors.Is(err, driver.ErrRenewed):
				t.Errorf("round %d: Renew %d: %v, want ErrNotFound and ErrRenewed", round, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of 16 Renews across 4 stores succeeded, want 1", round, won)
		}
		found := make([]bool, 16)
		for i := range found {
			wg.Go(func() {
				var err error
				if found[i], err = stores[i%len(stores)].Delete(ctx, old); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := len(slices.DeleteFunc(found, func(f bool) bool { return !f })); n != 1 {
			t.Errorf("round %d: %d of 16 Deletes of the renewed ID reported a live session, want 1", round, n)
		}
		if list, _ := stores[1].Sessions(ctx, "alice"); len(list) != 0 {
			t.Errorf("round %d: alice has %d sessions after the Delete", round, len(list))
		}
	}
}

func TestCloseClosesTheDBItOpened(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), tempDB(t), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := st.Load(t.Context(), "id1"); err == nil || errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Load after Close: %v, want a closed-database error", err)
	}
}

func TestJanitorPurgesExpiredSessions(t *testing.T) {
	path := tempDB(t)
	st, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{CleanupInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := sesametest.Record("alice", map[string]any{"a": 1})
	rec.Expires = time.Now().Add(50 * time.Millisecond)
	mustSave(t, st, "short", rec)
	mustSave(t, st, "long", sesametest.Record("alice", nil))
	db := rawDB(t, path)
	for deadline := time.Now().Add(5 * time.Second); ; {
		var ids []string
		rows, err := db.Query(`SELECT id FROM sesame_sessions ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if slices.Equal(ids, []string{"long"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rows 5s after expiry: %v, want [long]", ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPurgeDeletesInBatches(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	db := rawDB(t, path)
	// 2,500 expired rows, more than two purge batches.
	past := time.Now().Add(-time.Minute).UnixMilli()
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
		INSERT INTO sesame_sessions (id, created, last_seen, deadline, expires)
		SELECT 'x' || i, ?1, ?1, ?1, ?1 FROM n`, past); err != nil {
		t.Fatal(err)
	}
	mustSave(t, st, "live", sesametest.Record("", map[string]any{"a": 1}))
	n, err := st.Purge(t.Context())
	if err != nil || n != 2500 {
		t.Fatalf("Purge = %d, %v; want 2500", n, err)
	}
	if _, err := st.Load(t.Context(), "live"); err != nil {
		t.Errorf("the live session was purged: %v", err)
	}
}

func TestContextEndsAWaitForTheWriteLock(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	// Another process holds the write lock.
	conn, err := rawDB(t, path).Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = st.Save(ctx, "id1", sesametest.Record("", map[string]any{"a": 1}))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Save while another connection holds the lock: %v, want context.DeadlineExceeded", err)
	}
	// The busy timeout is 5s; giving up well before it shows the context
	// ended the wait.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Save gave up after %v, not when its context ended", d)
	}
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(t.Context(), "id1"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("the abandoned Save stored the record (Load: %v)", err)
	}
}

func TestValuesAreStoredAsJSON(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	type cart struct{ Items []string }
	if err := st.Save(t.Context(), "id1", sesametest.Record("", map[string]any{"cart": cart{Items: []string{"a"}}, "n": 9007199254740993})); err != nil {
		t.Fatal(err)
	}
	var vals string
	if err := rawDB(t, path).QueryRow(`SELECT vals FROM sesame_sessions WHERE id = 'id1'`).Scan(&vals); err != nil {
		t.Fatal(err)
	}
	if want := `{"cart":"{\"Items\":[\"a\"]}","n":"9007199254740993"}`; vals != want {
		t.Errorf("stored vals = %s, want %s", vals, want)
	}
	rec, err := st.Load(t.Context(), "id1")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := sesame.Decode[int64](rec.Values["n"]); err != nil || n != 9007199254740993 {
		t.Errorf("n = %d, %v", n, err)
	}
	if c, err := sesame.Decode[cart](rec.Values["cart"]); err != nil || !slices.Equal(c.Items, []string{"a"}) {
		t.Errorf("cart = %+v, %v", c, err)
	}
}

// BenchmarkRevokeUser measures DeleteUser of one user's 5 sessions while
// the store holds N other sessions: the cost must not depend on N.
func BenchmarkRevokeUser(b *testing.B) {
	for _, others := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			path := tempDB(b)
			st := open(b, path)
			ctx := b.Context()
			// The others: 5 sessions each for others/5 users.
			db := rawDB(b, path)
			now := time.Now()
			if _, err := db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
				INSERT INTO sesame_sessions (id, user_id, vals, created, last_seen, deadline, expires)
				SELECT 'other-' || i, 'user-' || (i / 5), '{"user_id":"1"}', ?2, ?2, ?3, ?3 FROM n`,
				others, now.UnixMilli(), now.Add(time.Hour).UnixMilli()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for j := range 5 {
					if err := st.Save(ctx, fmt.Sprintf("victim-%d", j), sesametest.Record("victim", map[string]any{"user_id": 1})); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				n, err := st.DeleteUser(ctx, "victim", "")
				if err != nil || n != 5 {
					b.Fatalf("DeleteUser = %d, %v; want 5", n, err)
				}
			}
		})
	}
}

// BenchmarkApplyOneKey measures an Apply that writes one key into a
// session of 1 or 1,000 keys: json_patch parses and rewrites the whole
// values object, so the cost grows with the session.
func BenchmarkApplyOneKey(b *testing.B) {
	for _, keys := range []int{1, 1000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			st := open(b, tempDB(b))
			ctx := b.Context()
			vals := make(map[string]any, keys)
			for i := range keys {
				vals[fmt.Sprintf("key-%04d", i)] = fmt.Sprintf("a value of about 32 bytes, #%04d", i)
			}
			if err := st.Save(ctx, "id1", sesametest.Record("alice", vals)); err != nil {
				b.Fatal(err)
			}
			d := delta(map[string]any{"key-0000": "a new value of about 32 bytes ok"})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Apply(ctx, "id1", d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
