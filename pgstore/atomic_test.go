package pgstore

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// These tests force the interleavings that PostgreSQL's READ COMMITTED
// re-checks decide: a statement of the store that finds its row locked by
// another transaction waits for it, then works on the row's latest
// version. A held transaction runs one of the store's own statements and
// keeps the row locked; the store's method then runs in a goroutine, the
// test waits until PostgreSQL reports it blocked by the held transaction
// (pg_blocking_pids: no sleep decides the order), and commits.

// held is a transaction that ran one of the store's statements and holds
// its row locks until Commit.
type held struct {
	t  *testing.T
	tx pgx.Tx
}

// hold runs sql with args in a new transaction, which it leaves open.
func hold(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) *held {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(t.Context(), sql, args...); err != nil {
		t.Fatal(err)
	}
	return &held{t: t, tx: tx}
}

// holdDelta runs the store's apply, applyEmptying or renew statement for
// d in a held transaction.
func holdDelta(t *testing.T, st *Store, sql, id string, d *driver.Delta, extra ...any) *held {
	t.Helper()
	args, err := deltaArgs(id, d, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return hold(t, st.pool, sql, append(args, extra...)...)
}

// waitBlocked waits until another backend waits for a lock h holds.
func (h *held) waitBlocked(pool *pgxpool.Pool) {
	h.t.Helper()
	pid := h.tx.Conn().PgConn().PID()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		var blocked bool
		err := pool.QueryRow(h.t.Context(),
			`SELECT EXISTS (SELECT FROM pg_stat_activity WHERE $1::integer = ANY (pg_blocking_pids(pid)))`, pid).Scan(&blocked)
		if err != nil {
			h.t.Fatal(err)
		}
		if blocked {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatal("the store's statement never waited for the held transaction")
		}
	}
}

func (h *held) commit() {
	h.t.Helper()
	if err := h.tx.Commit(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
}

// race runs op in a goroutine, waits until it is blocked by h, commits h,
// and waits for op to return.
func race(t *testing.T, pool *pgxpool.Pool, h *held, op func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		op()
	}()
	h.waitBlocked(pool)
	h.commit()
	<-done
}

func delta(d driver.Delta) *driver.Delta {
	now := time.Now()
	d.LastSeen, d.Expires = now, now.Add(30*time.Minute)
	return &d
}

// rowCount returns how many rows, expired or not, the sessions table
// holds under id.
func rowCount(t *testing.T, st *Store, id string) int {
	t.Helper()
	var n int
	if err := st.pool.QueryRow(t.Context(), `SELECT count(*) FROM `+st.table.Sanitize()+` WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two requests each pop one of the last two keys. The second statement
// started before the first committed, so its snapshot still holds both
// keys: judged on that snapshot the result would not be empty, and an
// empty row would stay. The lock makes it judge the latest version.
func TestEmptyingAppliesRacingEachOtherDeleteTheRecord(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	if err := st.Save(t.Context(), "id1", liveRecord("", map[string]any{"a": 1, "b": 2})); err != nil {
		t.Fatal(err)
	}
	h := holdDelta(t, st, st.q.applyEmptying, "id1", delta(driver.Delta{Delete: []string{"a"}}))
	var deleted bool
	var err error
	race(t, pool, h, func() { deleted, err = st.Apply(t.Context(), "id1", delta(driver.Delta{Delete: []string{"b"}})) })
	if err != nil || !deleted {
		t.Errorf("the Apply that popped the last key = %v, %v; want deleted", deleted, err)
	}
	if n := rowCount(t, st, "id1"); n != 0 {
		t.Errorf("%d rows left under the emptied ID, want 0", n)
	}
}

// An emptying delta waits for a commit that adds a key: the key survives,
// and so does the record.
func TestEmptyingApplyRacingASetKeepsTheNewKey(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	if err := st.Save(t.Context(), "id1", liveRecord("", map[string]any{"a": 1})); err != nil {
		t.Fatal(err)
	}
	h := holdDelta(t, st, st.q.apply, "id1", delta(driver.Delta{Set: map[string]any{"cart": "apples"}}))
	var deleted bool
	var err error
	race(t, pool, h, func() { deleted, err = st.Apply(t.Context(), "id1", delta(driver.Delta{Delete: []string{"a"}})) })
	if err != nil || deleted {
		t.Errorf("the Apply that popped a = %v, %v; want not deleted: cart was added meanwhile", deleted, err)
	}
	rec, err := st.Load(t.Context(), "id1")
	if err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(rec.Values)); !slices.Equal(keys, []string{"cart"}) {
		t.Errorf("keys after the race: %v, want [cart]", keys)
	}
}

// A Delete of the old ID that waited for a Renew follows the renewal: it
// reports the session, and nothing is left under either ID.
func TestDeleteRacingRenewEndsTheRenewedSession(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	rec := liveRecord("alice", map[string]any{"a": 1})
	if err := st.Save(t.Context(), "old", rec); err != nil {
		t.Fatal(err)
	}
	h := holdDelta(t, st, st.q.renew, "old", delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline}), "new")
	var found bool
	var err error
	race(t, pool, h, func() { found, err = st.Delete(t.Context(), "old") })
	if err != nil || !found {
		t.Errorf("Delete(old) racing a Renew = %v, %v; want true", found, err)
	}
	for _, id := range []string{"old", "new"} {
		if n := rowCount(t, st, id); n != 0 {
			t.Errorf("%d rows under %s after the Delete", n, id)
		}
	}
	_, err = st.Load(t.Context(), "old")
	if !errors.Is(err, driver.ErrRenewed) {
		t.Errorf("Load(old) = %v, want ErrRenewed", err)
	}
}

// A DeleteUser that waited for a Renew deletes the moved row: it matches
// on the user, which the Renew kept.
func TestDeleteUserRacingRenewDeletesTheMovedRow(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	rec := liveRecord("alice", map[string]any{"a": 1})
	if err := st.Save(t.Context(), "old", rec); err != nil {
		t.Fatal(err)
	}
	h := holdDelta(t, st, st.q.renew, "old", delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline}), "new")
	var n int
	var err error
	race(t, pool, h, func() { n, err = st.DeleteUser(t.Context(), "alice", "") })
	if err != nil || n != 1 {
		t.Errorf("DeleteUser(alice) racing a Renew = %d, %v; want 1", n, err)
	}
	if c := rowCount(t, st, "new"); c != 0 {
		t.Error("the renewed session survived DeleteUser")
	}
}

// An Apply or a Renew of the old ID that waited for a Renew reports
// ErrRenewed and changes nothing.
func TestApplyAndRenewRacingRenewAreRenewed(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	for _, tt := range []struct {
		name string
		op   func(id string) error
	}{
		{"Apply", func(id string) error {
			_, err := st.Apply(t.Context(), id, delta(driver.Delta{Set: map[string]any{"late": true}}))
			return err
		}},
		{"EmptyingApply", func(id string) error {
			_, err := st.Apply(t.Context(), id, delta(driver.Delta{Clear: true, Set: map[string]any{"late": true}}))
			return err
		}},
		{"Renew", func(id string) error {
			alice := "alice"
			return st.Renew(t.Context(), id, id+"-other", delta(driver.Delta{User: &alice, Deadline: time.Now().Add(time.Hour)}))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			old, moved := tt.name+"-old", tt.name+"-new"
			rec := liveRecord("alice", map[string]any{"a": 1})
			if err := st.Save(t.Context(), old, rec); err != nil {
				t.Fatal(err)
			}
			h := holdDelta(t, st, st.q.renew, old, delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline}), moved)
			var err error
			race(t, pool, h, func() { err = tt.op(old) })
			if !errors.Is(err, driver.ErrNotFound) || !errors.Is(err, driver.ErrRenewed) {
				t.Errorf("%s(old) racing a Renew = %v, want ErrNotFound and ErrRenewed", tt.name, err)
			}
			got, err := st.Load(t.Context(), moved)
			if err != nil {
				t.Fatal(err)
			}
			if keys := slices.Sorted(maps.Keys(got.Values)); !slices.Equal(keys, []string{"a"}) {
				t.Errorf("the renewed session's keys: %v, want [a]", keys)
			}
			if n := rowCount(t, st, old+"-other"); n != 0 {
				t.Error("the losing Renew created a record")
			}
		})
	}
}

// A Renew that waited for a touch remembers the old ID until the touched
// expiry, the old record's latest, not the one of its snapshot.
func TestRenewRacingATouchRemembersTheLatestExpiry(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	rec := liveRecord("alice", map[string]any{"a": 1})
	rec.Expires = time.Now().Add(10 * time.Minute)
	if err := st.Save(t.Context(), "old", rec); err != nil {
		t.Fatal(err)
	}
	touched := time.Now().Add(20 * time.Minute).Truncate(time.Microsecond)
	h := holdDelta(t, st, st.q.apply, "old", &driver.Delta{LastSeen: time.Now(), Expires: touched})
	var err error
	race(t, pool, h, func() {
		err = st.Renew(t.Context(), "old", "new", delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline}))
	})
	if err != nil {
		t.Fatal(err)
	}
	var until time.Time
	if err := pool.QueryRow(t.Context(), `SELECT expires FROM `+st.q.renewedTable.Sanitize()+` WHERE id = 'old'`).Scan(&until); err != nil {
		t.Fatal(err)
	}
	if !until.Equal(touched) {
		t.Errorf("the renewal is remembered until %v, want the touched expiry %v", until, touched)
	}
}

// An Update that waited for an Apply of another key reads the row's
// latest version: its new value joins the Apply's, and neither is lost.
func TestUpdateRacingApplyKeepsBoth(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	if err := st.Save(t.Context(), "id1", liveRecord("", map[string]any{"n": 1})); err != nil {
		t.Fatal(err)
	}
	h := holdDelta(t, st, st.q.apply, "id1", delta(driver.Delta{Set: map[string]any{"n": 10, "cart": "apples"}}))
	var v any
	var err error
	race(t, pool, h, func() {
		v, err = st.Update(t.Context(), "id1", "n", func(old any, ok bool) (any, error) {
			n, err := sesame.Decode[int](old)
			return n + 1, err
		})
	})
	if err != nil || v != 11 {
		t.Fatalf("Update racing an Apply that set n to 10 = %v, %v; want 11", v, err)
	}
	rec, err := st.Load(t.Context(), "id1")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := sesame.Decode[int](rec.Values["n"])
	cart, _ := sesame.Decode[string](rec.Values["cart"])
	if n != 11 || cart != "apples" {
		t.Errorf("after the race n = %d, cart = %q; want 11, apples", n, cart)
	}
}

// An Update of the old ID that waited for a Renew reports ErrRenewed,
// never calls f, and changes nothing.
func TestUpdateRacingRenewIsRenewed(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	rec := liveRecord("alice", map[string]any{"n": 1})
	if err := st.Save(t.Context(), "old", rec); err != nil {
		t.Fatal(err)
	}
	h := holdDelta(t, st, st.q.renew, "old", delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline}), "new")
	called := false
	var err error
	race(t, pool, h, func() {
		_, err = st.Update(t.Context(), "old", "n", func(any, bool) (any, error) { called = true; return 2, nil })
	})
	if !errors.Is(err, driver.ErrNotFound) || !errors.Is(err, driver.ErrRenewed) || called {
		t.Errorf("Update(old) racing a Renew = %v (f called: %v), want ErrNotFound and ErrRenewed, f not called", err, called)
	}
	got, err := st.Load(t.Context(), "new")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := sesame.Decode[int](got.Values["n"]); n != 1 {
		t.Errorf("the renewed session's n = %d, want 1", n)
	}
}

// CapUser takes its lock before it lists: a CapUser that waited for
// another's lock lists what that one committed, here a session it added,
// and trims to the cap. A CapUser of another user does not wait.
func TestCapUserListsAfterTheLock(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	old := liveRecord("alice", nil)
	old.LastSeen = old.LastSeen.Add(-time.Minute)
	if err := st.Save(t.Context(), "a1", old); err != nil {
		t.Fatal(err)
	}
	h := hold(t, pool, st.q.capLock, lockKey(capLock, st.table, "alice"))
	rec := liveRecord("alice", nil)
	if _, err := h.tx.Exec(t.Context(), st.q.save, "a2", "{}", rec.User, rec.Created, rec.LastSeen,
		rec.Deadline, rec.Expires, false, nil, "", ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := st.Save(ctx, "b1", liveRecord("bob", nil)); err != nil {
		t.Fatal(err)
	}
	if ended, err := st.CapUser(ctx, "bob", "", 0, false); err != nil || len(ended) != 1 {
		t.Fatalf("CapUser(bob) while alice's lock is held = %v, %v; want b1 ended at once", ended, err)
	}
	var ended []driver.Info
	var err error
	race(t, pool, h, func() { ended, err = st.CapUser(t.Context(), "alice", "a2", 1, false) })
	if err != nil || len(ended) != 1 || ended[0].ID != "a1" || !ended[0].Deadline.Equal(old.Deadline.Truncate(time.Microsecond)) {
		t.Fatalf("CapUser(alice, keep a2, 1) after the held one = %+v, %v; want a1 ended, with its deadline %v", ended, err, old.Deadline)
	}
	if list, err := st.Sessions(t.Context(), "alice"); err != nil || len(list) != 1 || list[0].ID != "a2" ||
		!list[0].Deadline.Equal(rec.Deadline.Truncate(time.Microsecond)) {
		t.Errorf("alice's sessions after the cap: %+v, %v; want a2 alone, with its deadline %v", list, err, rec.Deadline)
	}
}

// A CapUser that waited for a Renew of one of the user's sessions ends
// the session under its new ID: its list locks the rows, and reads the
// moved row's latest version.
func TestCapUserRacingRenewEndsTheMovedRow(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	old := liveRecord("alice", nil)
	old.LastSeen = old.LastSeen.Add(-time.Minute)
	if err := st.Save(t.Context(), "old", old); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(t.Context(), "keep", liveRecord("alice", nil)); err != nil {
		t.Fatal(err)
	}
	h := holdDelta(t, st, st.q.renew, "old", &driver.Delta{User: &old.User, Deadline: old.Deadline, LastSeen: old.LastSeen, Expires: old.Expires}, "new")
	var ended []driver.Info
	var err error
	race(t, pool, h, func() { ended, err = st.CapUser(t.Context(), "alice", "keep", 1, false) })
	if err != nil || len(ended) != 1 || ended[0].ID != "new" {
		t.Fatalf("CapUser racing a Renew = %+v, %v; want the renewed session ended under its new ID", ended, err)
	}
	if n := rowCount(t, st, "new"); n != 0 {
		t.Error("the renewed session survived the cap")
	}
}
