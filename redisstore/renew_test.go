package redisstore

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// TestRenewInterleavings forces, with the store's hook between the two
// steps of a Renew, every operation that can come between them, and checks
// the keys themselves: the pointer, the tombstone, the index and the TTLs.
func TestRenewInterleavings(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testRenewInterleavings(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testRenewInterleavings(t, cluster(t)) })
}

func testRenewInterleavings(t *testing.T, rdb redis.UniversalClient) {
	type env struct {
		st  *Store
		rec *driver.Record
	}
	setup := func(t *testing.T) env {
		st := testStore(t, rdb)
		now := time.Now()
		rec := &driver.Record{User: "alice", Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
			Expires: now.Add(30 * time.Minute), Deadline: now.Add(time.Hour)}
		if err := st.Save(t.Context(), "old", rec); err != nil {
			t.Fatal(err)
		}
		return env{st, rec}
	}
	delta := func(rec *driver.Record) *driver.Delta {
		now := time.Now()
		return &driver.Delta{User: &rec.User, Deadline: rec.Deadline, LastSeen: now, Expires: now.Add(30 * time.Minute)}
	}
	ctx := t.Context()
	indexed := func(st *Store, user, id string) bool {
		return rdb.ZScore(ctx, st.userKey(user), id).Err() == nil
	}
	expireTime := func(t *testing.T, key string) time.Time {
		t.Helper()
		d, err := rdb.PExpireTime(ctx, key).Result()
		if err != nil || d < 0 {
			t.Fatalf("PEXPIRETIME %s = %v, %v: every key must have a TTL", key, d, err)
		}
		return time.UnixMilli(d.Milliseconds())
	}
	near := func(t *testing.T, what string, got, want time.Time) {
		t.Helper()
		if d := got.Sub(want).Abs(); d > time.Millisecond {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	// checkDead checks that the session is live under neither ID and
	// listed nowhere.
	checkDead := func(t *testing.T, st *Store) {
		t.Helper()
		if _, err := st.Load(ctx, "new"); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("Load(new) = %v, want not found", err)
		}
		if _, err := st.Load(ctx, "old"); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("Load(old) = %v, want not found", err)
		}
		if list, err := st.Sessions(ctx, "alice"); err != nil || len(list) != 0 {
			t.Errorf("Sessions(alice) = %+v, %v; want none", list, err)
		}
		if indexed(st, "alice", "new") || indexed(st, "alice", "old") {
			t.Errorf("alice's index keeps old %v, new %v; want neither", indexed(st, "alice", "old"), indexed(st, "alice", "new"))
		}
	}

	t.Run("NothingBetween", func(t *testing.T) {
		e := setup(t)
		between := 0
		e.st.betweenSteps = func() {
			between++
			// Step 1 is done: old is a pointer until the old expiry,
			// and new is indexed already.
			if !indexed(e.st, "alice", "new") {
				t.Error("the new ID is not indexed before step 2")
			}
			h := rdb.HGetAll(ctx, e.st.sessionKey("old")).Val()
			if h["f"] != "new" || h["u"] != "alice" || len(h) != 3 {
				t.Errorf("old key between the steps = %v, want a pointer {f: new, u: alice, e}", h)
			}
			near(t, "pointer expiry", expireTime(t, e.st.sessionKey("old")), e.rec.Expires)
		}
		d := delta(e.rec)
		if err := e.st.Renew(ctx, "old", "new", d); err != nil || between != 1 {
			t.Fatalf("Renew = %v (hook ran %d times)", err, between)
		}
		got, err := e.st.Load(ctx, "new")
		if err != nil {
			t.Fatal(err)
		}
		near(t, "new key expiry", expireTime(t, e.st.sessionKey("new")), got.Expires)
		near(t, "new record's deadline", got.Deadline, e.rec.Deadline)
		if indexed(e.st, "alice", "old") || !indexed(e.st, "alice", "new") {
			t.Error("after Renew the index does not hold exactly the new ID")
		}
		_, err = e.st.Load(ctx, "old")
		if !errors.Is(err, driver.ErrRenewed) {
			t.Errorf("Load(old) = %v, want ErrRenewed", err)
		}
	})

	t.Run("DeleteOfTheOldID", func(t *testing.T) {
		e := setup(t)
		e.st.betweenSteps = func() {
			if found, err := e.st.Delete(ctx, "old"); err != nil || !found {
				t.Errorf("Delete(old) between the steps = %v, %v; want true", found, err)
			}
			h := rdb.HGetAll(ctx, e.st.sessionKey("new")).Val()
			if h["t"] != "1" || len(h) != 1 {
				t.Errorf("new key after the Delete = %v, want a tombstone", h)
			}
			near(t, "tombstone expiry", expireTime(t, e.st.sessionKey("new")), e.rec.Expires)
			if found, _ := e.st.Delete(ctx, "old"); found {
				t.Error("a second Delete(old) reported a live session too")
			}
		}
		err := e.st.Renew(ctx, "old", "new", delta(e.rec))
		if !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrRenewed) {
			t.Errorf("Renew refused at step 2 = %v, want ErrNotFound only", err)
		}
		checkDead(t, e.st)
	})

	t.Run("DeleteUser", func(t *testing.T) {
		e := setup(t)
		e.st.betweenSteps = func() {
			if n, err := e.st.DeleteUser(ctx, "alice", ""); err != nil || n != 1 {
				t.Errorf("DeleteUser(alice) between the steps = %d, %v; want 1", n, err)
			}
			if h := rdb.HGetAll(ctx, e.st.sessionKey("new")).Val(); h["t"] != "1" {
				t.Errorf("new key after DeleteUser = %v, want a tombstone", h)
			}
			expireTime(t, e.st.sessionKey("new"))
		}
		mustNotFoundOnly(t, e.st.Renew(ctx, "old", "new", delta(e.rec)))
		checkDead(t, e.st)
	})

	t.Run("DeleteUserThatListedOnlyTheOldID", func(t *testing.T) {
		// As if DeleteUser read the index before step 1 added the new
		// ID: it must follow the pointer.
		e := setup(t)
		e.st.betweenSteps = func() {
			rdb.ZRem(ctx, e.st.userKey("alice"), "new")
			if n, err := e.st.DeleteUser(ctx, "alice", ""); err != nil || n != 1 {
				t.Errorf("DeleteUser(alice) = %d, %v; want 1", n, err)
			}
		}
		mustNotFoundOnly(t, e.st.Renew(ctx, "old", "new", delta(e.rec)))
		checkDead(t, e.st)
	})

	t.Run("FallbackWithoutUserOrDeadline", func(t *testing.T) {
		e := setup(t)
		now := time.Now()
		d := &driver.Delta{Set: map[string]any{"b": 2}, LastSeen: now, Expires: now.Add(30 * time.Minute)}
		e.st.betweenSteps = func() {
			if !indexed(e.st, "alice", "new") {
				t.Error("the new ID is not indexed before step 2")
			}
		}
		if err := e.st.Renew(ctx, "old", "new", d); err != nil {
			t.Fatal(err)
		}
		if list, err := e.st.Sessions(ctx, "alice"); err != nil || len(list) != 1 || list[0].ID != "new" {
			t.Errorf("Sessions(alice) = %+v, %v; want [new]", list, err)
		}
		e2 := setup(t)
		e2.st.betweenSteps = func() {
			if _, err := e2.st.DeleteUser(ctx, "alice", ""); err != nil {
				t.Error(err)
			}
		}
		mustNotFoundOnly(t, e2.st.Renew(ctx, "old", "new", d))
		checkDead(t, e2.st)
	})

	t.Run("StepTwoAfterThePointerExpired", func(t *testing.T) {
		// A Delete's tombstone lasts as long as the pointer: a step 2
		// that comes later (a stalled process) must refuse on its own.
		st := testStore(t, rdb)
		now := time.Now()
		rec := &driver.Record{User: "alice", Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
			Expires: now.Add(300 * time.Millisecond), Deadline: now.Add(time.Hour)}
		must(t, st.Save(ctx, "old", rec))
		st.betweenSteps = func() {
			if found, err := st.Delete(ctx, "old"); err != nil || !found {
				t.Errorf("Delete(old) = %v, %v; want true", found, err)
			}
			time.Sleep(time.Until(rec.Expires) + 50*time.Millisecond) // the tombstone is gone
			if n := rdb.Exists(ctx, st.sessionKey("new")).Val(); n != 0 {
				t.Error("the tombstone outlived the pointer")
			}
		}
		mustNotFoundOnly(t, st.Renew(ctx, "old", "new", delta(rec)))
		if _, err := st.Load(ctx, "new"); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("a late step 2 brought the session back: Load(new) = %v", err)
		}
	})

	t.Run("ConcurrentDeletesOfBothIDsReportOnce", func(t *testing.T) {
		for range 20 {
			e := setup(t)
			if err := e.st.Renew(ctx, "old", "new", delta(e.rec)); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			found := 0
			for _, id := range []string{"old", "new", "old", "new"} {
				wg.Go(func() {
					ok, err := e.st.Delete(ctx, id)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						found++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if found != 1 {
				t.Fatalf("%d of 4 concurrent Deletes of a renewed session (by either ID) reported it, want 1", found)
			}
			checkDead(t, e.st)
		}
	})
}

func mustNotFoundOnly(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrRenewed) {
		t.Errorf("Renew = %v, want an error wrapping ErrNotFound (not ErrRenewed)", err)
	}
}

// TestApplyThatEmptiesUnindexes checks that an Apply that deletes the
// record also removes its index entry, and leaves no key behind.
func TestApplyThatEmptiesUnindexes(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testApplyEmpties(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testApplyEmpties(t, cluster(t)) })
}

func testApplyEmpties(t *testing.T, rdb redis.UniversalClient) {
	st := testStore(t, rdb)
	ctx := t.Context()
	now := time.Now()
	must(t, st.Save(ctx, "s1", &driver.Record{User: "alice", Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
		Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}))
	empty := ""
	deleted, err := st.Apply(ctx, "s1", &driver.Delta{Clear: true, User: &empty, LastSeen: now, Expires: now.Add(time.Hour)})
	if err != nil || !deleted {
		t.Fatalf("Apply emptying = %v, %v; want deleted", deleted, err)
	}
	keys, _ := scanPrefix(ctx, rdb, st.Prefix())
	if len(keys) != 0 {
		t.Errorf("keys left after the emptied session: %v", keys)
	}
	// A touch on an anonymous session is not emptying, whatever it holds.
	must(t, st.Save(ctx, "s2", &driver.Record{Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
		Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}))
	if deleted, err := st.Apply(ctx, "s2", &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour)}); err != nil || deleted {
		t.Errorf("a touch = %v, %v; want applied, not deleted", deleted, err)
	}
}
