package sesametest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// mustRenewed checks that err reports a renewed-away ID.
func mustRenewed(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, driver.ErrNotFound) || !errors.Is(err, sesame.ErrRenewed) {
		t.Errorf("%s: got %v, want an error wrapping driver.ErrNotFound and sesame.ErrRenewed", what, err)
	}
}

// renewDelta is the delta a Manager sends with a Renew of rec.
func renewDelta(rec *driver.Record, set map[string]any) *driver.Delta {
	now := time.Now()
	return &driver.Delta{Set: set, User: &rec.User, Deadline: rec.Deadline, LastSeen: now, Expires: now.Add(30 * time.Minute)}
}

// contractTests check the store contracts that the Manager's atomicity
// rests on: Delete's report, Apply's deletion of an emptied record, the
// Renewer, and revocation marks.
var contractTests = []test{
	{"DeleteReportsALiveRecordOnce", func(t *testing.T, b backend) {
		u := unique()
		mustSave(t, b.store, u("id1"), Record("", map[string]any{"a": 1}))
		var wg sync.WaitGroup
		var mu sync.Mutex
		found := 0
		for range 8 {
			wg.Go(func() {
				ok, err := b.store.Delete(t.Context(), u("id1"))
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
			t.Errorf("%d of 8 concurrent Deletes of one record reported it, want exactly 1", found)
		}
		if ok, err := b.store.Delete(t.Context(), u("missing")); ok || err != nil {
			t.Errorf("Delete(missing) = %v, %v; want false, nil", ok, err)
		}
	}},
	{"ApplyThatEmptiesARecordDeletesIt", func(t *testing.T, b backend) {
		u := unique()
		ds := needs[driver.DeltaStore](t, b, "driver.DeltaStore")
		now := time.Now()
		mustSave(t, ds, u("anon"), Record("", map[string]any{"flash": "x", "cart": 1}))
		deleted, err := ds.Apply(t.Context(), u("anon"), &driver.Delta{Delete: []string{"flash"}, LastSeen: now, Expires: now.Add(time.Hour)})
		if err != nil || deleted {
			t.Fatalf("Apply leaving cart = %v, %v; want false, nil", deleted, err)
		}
		deleted, err = ds.Apply(t.Context(), u("anon"), &driver.Delta{Delete: []string{"cart"}, LastSeen: now, Expires: now.Add(time.Hour)})
		if err != nil || !deleted {
			t.Fatalf("Apply emptying the record = %v, %v; want true, nil", deleted, err)
		}
		_, err = ds.Load(t.Context(), u("anon"))
		MustNotFound(t, err, "Load of the emptied record")
		mustSave(t, ds, u("user"), Record(u("alice"), map[string]any{"a": 1}))
		if deleted, err := ds.Apply(t.Context(), u("user"), &driver.Delta{Clear: true, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil || deleted {
			t.Errorf("Apply clearing a record that keeps its user = %v, %v; want false, nil", deleted, err)
		}
		empty := ""
		if deleted, err := ds.Apply(t.Context(), u("user"), &driver.Delta{User: &empty, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil || !deleted {
			t.Errorf("Apply removing the last thing, the user = %v, %v; want true, nil", deleted, err)
		}
	}},
	{"RenewMovesTheRecordAndRemembersTheOldID", func(t *testing.T, b backend) {
		u := unique()
		r := needs[driver.Renewer](t, b, "driver.Renewer")
		old := Record(u("alice"), map[string]any{"a": 1, "b": 2})
		mustSave(t, r, u("old"), old)
		d := renewDelta(old, map[string]any{"c": 3})
		d.Delete = []string{"b"}
		if err := r.Renew(t.Context(), u("old"), u("new"), d); err != nil {
			t.Fatal(err)
		}
		got, err := r.Load(t.Context(), u("new"))
		if err != nil {
			t.Fatal(err)
		}
		if keys := slices.Sorted(maps.Keys(got.Values)); !slices.Equal(keys, []string{"a", "c"}) || got.User != u("alice") {
			t.Errorf("renewed record: keys %v, user %q; want [a c], alice", keys, got.User)
		}
		if dd := got.Deadline.Sub(old.Deadline).Abs(); dd > time.Millisecond {
			t.Errorf("deadline moved by %v at Renew", dd)
		}
		_, err = r.Load(t.Context(), u("old"))
		mustRenewed(t, err, "Load(old) after Renew")
		if ds, ok := r.(driver.DeltaStore); ok {
			now := time.Now()
			_, err := ds.Apply(t.Context(), u("old"), &driver.Delta{Set: map[string]any{"late": 1}, LastSeen: now, Expires: now.Add(time.Hour)})
			mustRenewed(t, err, "Apply(old) after Renew")
		}
		mustRenewed(t, r.Renew(t.Context(), u("old"), u("other"), renewDelta(old, nil)), "a second Renew(old)")
		if _, err := r.Load(t.Context(), u("other")); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("the losing Renew created a record: %v", err)
		}
		if us, ok := r.(driver.UserStore); ok {
			if list, _ := us.Sessions(t.Context(), u("alice")); !slices.Equal(ids(list), []string{u("new")}) {
				t.Errorf("Sessions(alice) after Renew = %v, want [new]", ids(list))
			}
		}
	}},
	{"RenewOfAMissingIDChangesNothing", func(t *testing.T, b backend) {
		u := unique()
		r := needs[driver.Renewer](t, b, "driver.Renewer")
		rec := Record(u("alice"), nil)
		err := r.Renew(t.Context(), u("missing"), u("new"), renewDelta(rec, map[string]any{"a": 1}))
		MustNotFound(t, err, "Renew(missing)")
		if errors.Is(err, sesame.ErrRenewed) {
			t.Errorf("Renew(missing) = %v: an ID never renewed is not ErrRenewed", err)
		}
		_, err = r.Load(t.Context(), u("new"))
		MustNotFound(t, err, "Load(new) after Renew(missing)")
	}},
	{"RenewAfterDeleteOrDeleteUserChangesNothing", func(t *testing.T, b backend) {
		u := unique()
		r := needs[driver.Renewer](t, b, "driver.Renewer")
		rec := Record(u("alice"), map[string]any{"a": 1})
		mustSave(t, r, u("id1"), rec)
		mustDelete(t, r, u("id1"))
		MustNotFound(t, r.Renew(t.Context(), u("id1"), u("new1"), renewDelta(rec, nil)), "Renew after Delete")
		if us, ok := r.(driver.UserStore); ok {
			mustSave(t, r, u("id2"), Record(u("alice"), map[string]any{"a": 1}))
			if _, err := us.DeleteUser(t.Context(), u("alice"), ""); err != nil {
				t.Fatal(err)
			}
			MustNotFound(t, r.Renew(t.Context(), u("id2"), u("new2"), renewDelta(rec, nil)), "Renew after DeleteUser")
			if list, _ := us.Sessions(t.Context(), u("alice")); len(list) != 0 {
				t.Errorf("Sessions(alice) = %v after DeleteUser and a late Renew", ids(list))
			}
		}
		for _, id := range []string{u("new1"), u("new2")} {
			_, err := r.Load(t.Context(), id)
			MustNotFound(t, err, "Load of a late Renew's new ID")
		}
	}},
	{"DeleteOfARenewedIDEndsTheRenewedSession", func(t *testing.T, b backend) {
		// A Revoke that listed the old ID, then lost the race to a Renew,
		// still ends the session.
		u := unique()
		r := needs[driver.Renewer](t, b, "driver.Renewer")
		rec := Record(u("alice"), map[string]any{"a": 1})
		mustSave(t, r, u("a"), rec)
		if err := r.Renew(t.Context(), u("a"), u("b"), renewDelta(rec, nil)); err != nil {
			t.Fatal(err)
		}
		if err := r.Renew(t.Context(), u("b"), u("c"), renewDelta(rec, nil)); err != nil {
			t.Fatal(err)
		}
		found, err := r.Delete(t.Context(), u("a"))
		if err != nil || !found {
			t.Errorf("Delete of a twice-renewed ID = %v, %v; want true, nil", found, err)
		}
		_, err = r.Load(t.Context(), u("c"))
		MustNotFound(t, err, "Load of the session renewed from a deleted ID")
	}},
	{"ParallelRenewsOfOneIDLeaveOne", func(t *testing.T, b backend) {
		u := unique()
		r := needs[driver.Renewer](t, b, "driver.Renewer")
		rec := Record(u("alice"), map[string]any{"a": 1})
		mustSave(t, r, u("old"), rec)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = r.Renew(t.Context(), u("old"), u(key(i)), renewDelta(rec, nil)) })
		}
		wg.Wait()
		won, live := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, driver.ErrNotFound):
				t.Errorf("Renew %d: %v", i, err)
			}
			if _, err := r.Load(t.Context(), u(key(i))); err == nil {
				live++
			}
		}
		if won != 1 || live != 1 {
			t.Errorf("8 parallel Renews of one ID: %d succeeded, %d records live; want 1 and 1", won, live)
		}
	}},
	{"LoginDeltaStartsANewLifetime", func(t *testing.T, b backend) {
		u := unique()
		r := needs[driver.Renewer](t, b, "driver.Renewer")
		rec := Record("", map[string]any{"a": 1})
		mustSave(t, r, u("old"), rec)
		alice := u("alice")
		now := time.Now().Add(time.Second).Truncate(time.Millisecond)
		d := &driver.Delta{User: &alice, Created: now, Deadline: now.Add(2 * time.Hour), LastSeen: now, Expires: now.Add(90 * time.Minute)}
		if err := r.Renew(t.Context(), u("old"), u("new"), d); err != nil {
			t.Fatal(err)
		}
		got, err := r.Load(t.Context(), u("new"))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Created.Equal(d.Created) || !got.Deadline.Equal(d.Deadline) || !got.Expires.Equal(d.Expires) || got.User != alice {
			t.Errorf("after a Login's Renew: created %v deadline %v expires %v user %q; want %v %v %v alice",
				got.Created, got.Deadline, got.Expires, got.User, d.Created, d.Deadline, d.Expires)
		}
	}},
	{"DeniedIDsAreReadByIDAndExpire", func(t *testing.T, b backend) {
		u := unique()
		rs := needs[driver.RevocationStore](t, b, "driver.RevocationStore")
		now := time.Now().Truncate(time.Millisecond)
		mustDeny(t, rs, u("alice"), u("s1"), false, now.Add(time.Hour))
		shortUntil := now.Add(time.Second)
		mustDeny(t, rs, u("alice"), u("s2"), true, shortUntil)
		r, err := rs.Revocation(t.Context(), u("alice"), u("s1"), u("s2"), u("s3"))
		if err != nil {
			t.Fatal(err)
		}
		if renewed, ok := r.Denied[u("s1")]; !ok || renewed {
			t.Errorf("s1, denied as revoked: Denied = %v", r.Denied)
		}
		if renewed, ok := r.Denied[u("s2")]; !ok || !renewed {
			t.Errorf("s2, denied as renewed away: Denied = %v", r.Denied)
		}
		if len(r.Denied) != 2 {
			t.Errorf("Denied = %v, want s1 and s2 only", r.Denied)
		}
		if r, _ := rs.Revocation(t.Context(), u("alice"), u("s3")); len(r.Denied) != 0 {
			t.Errorf("asked for s3 only: Denied = %v, want none", r.Denied)
		}
		if r, _ := rs.Revocation(t.Context(), u("bob"), u("s1")); len(r.Denied) != 0 {
			t.Errorf("bob has alice's denied IDs: %v", r.Denied)
		}
		mustDeny(t, rs, u("alice"), u("s2"), false, shortUntil) // a logout after a renewal
		if r, _ := rs.Revocation(t.Context(), u("alice"), u("s2")); r.Denied[u("s2")] {
			t.Errorf("s2 denied again as revoked: Denied = %v, want revoked", r.Denied)
		}
		mustDeny(t, rs, u("alice"), u("s1"), true, now.Add(time.Hour)) // a renewal racing the logout
		if r, _ := rs.Revocation(t.Context(), u("alice"), u("s1")); r.Denied[u("s1")] {
			t.Errorf("s1, revoked, then denied as renewed away: Denied = %v, want it still revoked", r.Denied)
		}
		time.Sleep(time.Until(shortUntil.Add(deadMargin)))
		r, err = rs.Revocation(t.Context(), u("alice"), u("s1"), u("s2"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Denied[u("s2")]; ok || !r.Revokes(u("s1"), "", now) {
			t.Errorf("denied after s2's expiry: %v; want only s1", r.Denied)
		}
	}},
	{"DenyIsBoundedAndANewMarkStartsAgain", func(t *testing.T, b backend) {
		u := unique()
		rs := needs[driver.RevocationStore](t, b, "driver.RevocationStore")
		alice := u("alice")
		until := time.Now().Add(time.Hour)
		for i := range driver.MaxDenied {
			mustDeny(t, rs, alice, fmt.Sprint("id", i), i%2 == 0, until)
		}
		ok, err := rs.Deny(t.Context(), alice, "one-too-many", false, until)
		if err != nil || ok {
			t.Fatalf("Deny past MaxDenied = %v, %v; want false, nil", ok, err)
		}
		if r, _ := rs.Revocation(t.Context(), alice, "one-too-many"); len(r.Denied) != 0 {
			t.Errorf("a refused Deny denied its ID: %v", r.Denied)
		}
		if r, _ := rs.Revocation(t.Context(), alice, "id0", "id1"); len(r.Denied) != 2 {
			t.Errorf("Denied = %v, want id0 and id1", r.Denied)
		}
		now := time.Now().Truncate(time.Millisecond)
		if err := rs.SetRevocation(t.Context(), alice, driver.Revocation{Before: now, Keep: "id1", Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		r, err := rs.Revocation(t.Context(), alice, "id0", "id1")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Denied["id0"]; ok {
			t.Errorf("a denied ID the new mark revokes is kept: %v", r.Denied)
		}
		if _, ok := r.Denied["id1"]; !ok {
			t.Errorf("the denial of the mark's Keep was dropped: %v; want it kept", r.Denied)
		}
		if !r.Before.Equal(now) || r.Keep != "id1" {
			t.Errorf("mark = {%v %q}, want {%v id1}", r.Before, r.Keep, now)
		}
		mustDeny(t, rs, alice, "after-the-mark", false, until)
		if r, _ := rs.Revocation(t.Context(), alice, "after-the-mark"); len(r.Denied) != 1 {
			t.Errorf("Deny after a new mark: Denied = %v, want it", r.Denied)
		}
	}},
}

// mustDeny denies id of user and fails the test unless it is added.
func mustDeny(t *testing.T, rs driver.RevocationStore, user, id string, renewed bool, until time.Time) {
	t.Helper()
	if ok, err := rs.Deny(t.Context(), user, id, renewed, until); err != nil || !ok {
		t.Fatalf("Deny(%s) = %v, %v; want true, nil", id, ok, err)
	}
}
