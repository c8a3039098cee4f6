package sqlitestore_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
	"github.com/sesame-go/sesame/sqlitestore"
)

// deferredStore opens a second Store on path through a caller-owned pool
// whose transactions begin DEFERRED (no _txlock=immediate), as another
// process might.
func deferredStore(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := sqlitestore.New(t.Context(), db, sqlitestore.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// increment is an Update function that adds one to an int counter.
func increment(old any, ok bool) (any, error) {
	if !ok {
		return 1, nil
	}
	n, err := sesame.Decode[int](old)
	return n + 1, err
}

// TestConcurrentUpdatesOfOneKeyLoseNothing runs 64 goroutines of 50
// Updates each of one key through one Store: the counter ends at exactly
// 3200 and no Update fails (writes wait their turn, never SQLITE_BUSY).
func TestConcurrentUpdatesOfOneKeyLoseNothing(t *testing.T) {
	st := open(t, tempDB(t))
	ctx := t.Context()
	if err := st.Save(ctx, "id1", sesametest.Record("alice", map[string]any{"other": "x"})); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 64, 50
	var wg sync.WaitGroup
	seen := make(chan int, goroutines*each)
	for range goroutines {
		wg.Go(func() {
			for range each {
				v, err := st.Update(ctx, "id1", "n", increment)
				if err != nil {
					t.Error(err)
					return
				}
				seen <- v.(int)
			}
		})
	}
	wg.Wait()
	close(seen)
	rec, err := st.Load(ctx, "id1")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := sesame.Decode[int](rec.Values["n"]); err != nil || n != goroutines*each {
		t.Errorf("after %d x %d parallel Updates n = %d, %v; want %d", goroutines, each, n, err, goroutines*each)
	}
	if s, _ := sesame.Decode[string](rec.Values["other"]); s != "x" {
		t.Errorf("Update changed another key: other = %q", s)
	}
	got := map[int]bool{}
	for v := range seen {
		if got[v] {
			t.Errorf("two Updates returned %d", v)
		}
		got[v] = true
	}
}

// TestUpdatesFromTwoStoresOnOneFileLoseNothing runs parallel Updates of
// one key from two Stores on one file, one of them on a pool whose
// transactions begin DEFERRED, as two processes would: they meet at
// SQLite's lock, every Update takes it with its first statement, and none
// is lost or fails.
func TestUpdatesFromTwoStoresOnOneFileLoseNothing(t *testing.T) {
	path := tempDB(t)
	stores := []*sqlitestore.Store{open(t, path), deferredStore(t, path)}
	ctx := t.Context()
	if err := stores[0].Save(ctx, "id1", sesametest.Record("", map[string]any{"n": 0})); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 16, 25
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			for range each {
				if _, err := stores[i%2].Update(ctx, "id1", "n", increment); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rec, err := stores[1].Load(ctx, "id1")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := sesame.Decode[int](rec.Values["n"]); n != goroutines*each {
		t.Errorf("after %d parallel Updates from two stores n = %d, want %d", goroutines*each, n, goroutines*each)
	}
}

// TestUpdateReadsAndWritesOneValueExactly checks what Update passes to f
// and what it stores: the current encoding byte for byte, ok false for a
// missing key, keys that JSON escapes or that a JSON path could not name,
// and nothing else of the record changed.
func TestUpdateReadsAndWritesOneValueExactly(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	ctx := t.Context()
	odd := []string{"<b>", "k\u2028", `"quoted"`, "a.b", "$x", "[0]", "é", "tab\t", "ключ"}
	vals := map[string]any{"big": json.RawMessage(`9007199254740993`), "exp": json.RawMessage(`1e2`), "m": map[string]int{"a": 1}}
	for i, k := range odd {
		vals[k] = i
	}
	in := sesametest.Record("alice", vals)
	in.LastSeen = in.LastSeen.Add(-time.Minute)
	if err := st.Save(ctx, "id1", in); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"big": `9007199254740993`, "exp": `1e2`, "m": `{"a":1}`} {
		var got any
		v, err := st.Update(ctx, "id1", key, func(old any, ok bool) (any, error) {
			if !ok {
				t.Errorf("%s: f got ok false for a stored key", key)
			}
			got = old
			return old, nil // a json.RawMessage back: stored as it is
		})
		if err != nil {
			t.Fatal(err)
		}
		if raw, ok := got.(json.RawMessage); !ok || string(raw) != want {
			t.Errorf("%s: f got %#v, want json.RawMessage(%s)", key, got, want)
		}
		if raw, _ := v.(json.RawMessage); string(raw) != want {
			t.Errorf("%s: Update returned %#v, want %s", key, v, want)
		}
	}
	for i, k := range odd {
		if v, err := st.Update(ctx, "id1", k, increment); err != nil || v != i+1 {
			t.Errorf("Update of %q = %v, %v; want %d", k, v, err, i+1)
		}
	}
	if _, err := st.Update(ctx, "id1", "new", func(old any, ok bool) (any, error) {
		if ok || old != nil {
			t.Errorf("f of a missing key got %v, %v; want nil, false", old, ok)
		}
		return []string{"a"}, nil
	}); err != nil {
		t.Fatal(err)
	}

	rec, err := st.Load(ctx, "id1")
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range odd {
		if n, err := sesame.Decode[int](rec.Values[k]); err != nil || n != i+1 {
			t.Errorf("%q after its Update = %d, %v; want %d", k, n, err, i+1)
		}
	}
	if len(rec.Values) != len(vals)+1 {
		t.Errorf("%d values after the Updates, want %d: %s", len(rec.Values), len(vals)+1, dumpValues(rec.Values))
	}
	if got := string(rec.Values["big"].(json.RawMessage)) + " " + string(rec.Values["new"].(json.RawMessage)); got != `9007199254740993 ["a"]` {
		t.Errorf("big and new = %s", got)
	}
	if !rec.LastSeen.Equal(in.LastSeen.Truncate(time.Millisecond)) || !rec.Expires.Equal(in.Expires.Truncate(time.Millisecond)) || rec.User != "alice" {
		t.Errorf("Update changed the metadata: LastSeen %v (was %v), Expires %v (was %v), user %q",
			rec.LastSeen, in.LastSeen, rec.Expires, in.Expires, rec.User)
	}
	var stored string
	if err := rawDB(t, path).QueryRow(`SELECT vals ->> '$.new' FROM sesame_sessions WHERE id = 'id1'`).Scan(&stored); err != nil || stored != `["a"]` {
		t.Errorf("stored new = %s, %v; want the encoding as a JSON string", stored, err)
	}
}

// TestFailedUpdateChangesNothing checks that an Update whose f fails
// returns f's error as it is, one whose result cannot be encoded fails,
// and neither changes the record.
func TestFailedUpdateChangesNothing(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	ctx := t.Context()
	if err := st.Save(ctx, "id1", sesametest.Record("", map[string]any{"n": 1})); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	before := tableText(t, db, "sesame_sessions")
	boom := errors.New("boom")
	if _, err := st.Update(ctx, "id1", "n", func(any, bool) (any, error) { return 2, boom }); err != boom {
		t.Errorf("Update whose f fails: %v, want f's error itself", err)
	}
	if _, err := st.Update(ctx, "id1", "n", func(any, bool) (any, error) { return func() {}, nil }); err == nil {
		t.Error("Update to a value that cannot be encoded succeeded")
	}
	if after := tableText(t, db, "sesame_sessions"); after != before {
		t.Errorf("failed Updates changed the record: %s, was %s", after, before)
	}
	// The write lock was released: the store still writes.
	if v, err := st.Update(ctx, "id1", "n", increment); err != nil || v != 2 {
		t.Errorf("Update after the failures = %v, %v; want 2", v, err)
	}
}

// TestExpiredRecordIsReportedAsExpired checks that Load, Apply, Update
// and Renew of a record still held past its expiry report ErrNotFound and
// ErrExpired and change nothing, that an unknown or renewed ID is not
// reported as expired, and that a purged record is simply not found.
func TestExpiredRecordIsReportedAsExpired(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	ctx := t.Context()
	rec := sesametest.Record("alice", map[string]any{"n": 1})
	rec.Expires = time.Now().Add(-time.Second)
	if err := st.Save(ctx, "old", rec); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	before := tableText(t, db, "sesame_sessions")
	now := time.Now()
	user := "alice"
	for name, op := range map[string]func(id string) error{
		"Load":  func(id string) error { _, err := st.Load(ctx, id); return err },
		"Apply": func(id string) error { _, err := st.Apply(ctx, id, delta(map[string]any{"n": 2})); return err },
		"Apply, emptying": func(id string) error {
			_, err := st.Apply(ctx, id, &driver.Delta{Clear: true, LastSeen: now, Expires: now.Add(time.Hour)})
			return err
		},
		"Update": func(id string) error { _, err := st.Update(ctx, id, "n", increment); return err },
		"Renew": func(id string) error {
			return st.Renew(ctx, id, id+"-new", &driver.Delta{User: &user, Deadline: rec.Deadline, LastSeen: now, Expires: now.Add(time.Hour)})
		},
	} {
		if err := op("old"); !errors.Is(err, driver.ErrNotFound) || !errors.Is(err, driver.ErrExpired) || errors.Is(err, driver.ErrRenewed) {
			t.Errorf("%s of an expired record: %v, want ErrNotFound and ErrExpired", name, err)
		}
		if err := op("unknown"); !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrExpired) {
			t.Errorf("%s of an unknown ID: %v, want ErrNotFound alone", name, err)
		}
	}
	if after := tableText(t, db, "sesame_sessions"); after != before {
		t.Errorf("operations on an expired record changed it: %s, was %s", after, before)
	}

	if err := st.Save(ctx, "live", sesametest.Record("alice", map[string]any{"n": 1})); err != nil {
		t.Fatal(err)
	}
	if err := st.Renew(ctx, "live", "renewed", &driver.Delta{User: &user, Deadline: rec.Deadline, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, "live"); !errors.Is(err, driver.ErrRenewed) || errors.Is(err, driver.ErrExpired) {
		t.Errorf("Load of a renewed ID: %v, want ErrRenewed and not ErrExpired", err)
	}
	if n, err := st.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	if _, err := st.Load(ctx, "old"); !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrExpired) {
		t.Errorf("Load of a purged record: %v, want ErrNotFound alone", err)
	}
}

// TestCapUserEndsTheLeastRecentlySeen checks CapUser on one store: it
// ends the least recently seen sessions other than keep, returns their
// Info with the device, or ends keep alone with refuse, does nothing under
// the cap, and removes the user's expired sessions.
func TestCapUserEndsTheLeastRecentlySeen(t *testing.T) {
	st := open(t, tempDB(t))
	ctx := t.Context()
	base := time.Now().Add(-time.Hour)
	deadlines := map[string]time.Time{}
	for i := range 5 {
		rec := sesametest.Record("alice", map[string]any{"i": i})
		rec.LastSeen = base.Add(time.Duration(i) * time.Minute) // s0 is the least recently seen
		rec.Device = driver.Device{UserAgent: fmt.Sprint("agent ", i), IP: "192.0.2.1"}
		rec.Deadline = rec.Deadline.Add(time.Duration(i) * time.Minute)
		deadlines[fmt.Sprint("s", i)] = rec.Deadline.Truncate(time.Millisecond)
		if err := st.Save(ctx, fmt.Sprint("s", i), rec); err != nil {
			t.Fatal(err)
		}
	}
	expired := sesametest.Record("alice", nil)
	expired.Expires = time.Now().Add(-time.Second)
	if err := st.Save(ctx, "expired", expired); err != nil {
		t.Fatal(err)
	}
	mustSave(t, st, "bob", sesametest.Record("bob", map[string]any{"a": 1}))

	ids := func(list []driver.Info) []string {
		var s []string
		for _, in := range list {
			s = append(s, in.ID)
		}
		slices.Sort(s)
		return s
	}
	ended, err := st.CapUser(ctx, "alice", "s0", 5, false)
	if err != nil || len(ended) != 0 {
		t.Errorf("CapUser at the cap = %v, %v; want none ended", ids(ended), err)
	}
	if _, err := st.Load(ctx, "expired"); !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrExpired) {
		t.Errorf("the user's expired session after CapUser: %v, want it deleted", err)
	}
	ended, err = st.CapUser(ctx, "alice", "s0", 3, false)
	if err != nil || !slices.Equal(ids(ended), []string{"s1", "s2"}) {
		t.Fatalf("CapUser(3, keep s0) ended %v, %v; want [s1 s2]", ids(ended), err)
	}
	for _, in := range ended {
		if in.User != "alice" || in.Device.IP != "192.0.2.1" || in.Device.UserAgent != "agent "+in.ID[1:] || in.LastSeen.IsZero() ||
			!in.Deadline.Equal(deadlines[in.ID]) {
			t.Errorf("CapUser returned %+v, want the session's Info", in)
		}
	}
	list, err := st.Sessions(ctx, "alice")
	if err != nil || !slices.Equal(ids(list), []string{"s0", "s3", "s4"}) {
		t.Errorf("alice's sessions after CapUser(3) = %v, %v; want [s0 s3 s4]", ids(list), err)
	}
	for _, in := range list {
		if !in.Deadline.Equal(deadlines[in.ID]) {
			t.Errorf("Sessions: %s has Deadline %v, want %v", in.ID, in.Deadline, deadlines[in.ID])
		}
	}
	ended, err = st.CapUser(ctx, "alice", "s4", 2, true)
	if err != nil || !slices.Equal(ids(ended), []string{"s4"}) {
		t.Fatalf("CapUser(2, refuse s4) ended %v, %v; want [s4]", ids(ended), err)
	}
	list, _ = st.Sessions(ctx, "alice")
	if !slices.Equal(ids(list), []string{"s0", "s3"}) {
		t.Errorf("alice's sessions after a refusal = %v, want [s0 s3]", ids(list))
	}
	if list, _ := st.Sessions(ctx, "bob"); len(list) != 1 {
		t.Errorf("CapUser of alice changed bob's sessions: %v", ids(list))
	}
}

// TestCapUserIsAtomicAcrossStores logs in 2N sessions of one user in
// parallel from two Stores on one file (one on a DEFERRED pool), each
// followed by a CapUser of N keeping itself: once all have returned, the
// user has at most N live sessions, and every session not listed was
// reported ended by exactly one CapUser.
func TestCapUserIsAtomicAcrossStores(t *testing.T) {
	path := tempDB(t)
	stores := []*sqlitestore.Store{open(t, path), deferredStore(t, path)}
	ctx := t.Context()
	const n = 4
	for round := range 5 {
		user := fmt.Sprint("user", round)
		var mu sync.Mutex
		endedBy := map[string]int{}
		var wg sync.WaitGroup
		for i := range 2 * n {
			wg.Go(func() {
				st, id := stores[i%2], fmt.Sprint(user, "-", i)
				if err := st.Save(ctx, id, sesametest.Record(user, map[string]any{"i": i})); err != nil {
					t.Error(err)
					return
				}
				ended, err := st.CapUser(ctx, user, id, n, false)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, in := range ended {
					endedBy[in.ID]++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		list, err := stores[0].Sessions(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 || len(list) > n {
			t.Errorf("round %d: %d live sessions after %d parallel capped logins, want 1 to %d", round, len(list), 2*n, n)
		}
		if len(list)+len(endedBy) != 2*n {
			t.Errorf("round %d: %d live and %d ended, want %d in all", round, len(list), len(endedBy), 2*n)
		}
		for id, k := range endedBy {
			if k != 1 {
				t.Errorf("round %d: %s reported ended by %d CapUsers, want 1", round, id, k)
			}
		}
	}
}
