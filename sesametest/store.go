package sesametest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// storeTests exercise the Store interfaces directly.
var storeTests = []test{
	{"LoadOfUnknownIDIsNotFound", func(t *testing.T, b backend) {
		u := unique()
		_, err := b.store.Load(t.Context(), u("unknown-id"))
		MustNotFound(t, err, "Load(unknown)")
	}},
	{"SaveThenLoadReturnsTheRecord", func(t *testing.T, b backend) {
		u := unique()
		in := Record(u("alice"), map[string]any{"n": int64(7), "s": "x"})
		in.Persist = true
		if err := b.store.Save(t.Context(), u("id1"), in); err != nil {
			t.Fatal(err)
		}
		out, err := b.store.Load(t.Context(), u("id1"))
		if err != nil {
			t.Fatal(err)
		}
		if out.User != u("alice") || !out.Persist || len(out.Values) != 2 {
			t.Errorf("loaded %+v, want user alice, persist, 2 values", out)
		}
		for name, pair := range map[string][2]time.Time{
			"Created": {in.Created, out.Created}, "LastSeen": {in.LastSeen, out.LastSeen},
			"Deadline": {in.Deadline, out.Deadline}, "Expires": {in.Expires, out.Expires},
		} {
			if d := pair[0].Sub(pair[1]).Abs(); d > time.Millisecond {
				t.Errorf("%s: saved %v, loaded %v", name, pair[0], pair[1])
			}
		}
	}},
	{"CreateThenLoadReturnsTheRecord", func(t *testing.T, b backend) {
		u := unique()
		c := needs[driver.Creator](t, b, "driver.Creator")
		now := time.Now()
		full := Record(u("alice"), map[string]any{"n": int64(7), "s": "x"})
		full.Persist, full.AuthenticatedAt = true, now.Add(-time.Minute)
		full.Device = driver.Device{UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", IP: "192.0.2.1"}
		bare := Record("", map[string]any{"k": "v"})
		bare.Deadline = time.Time{}
		for name, in := range map[string]*driver.Record{"every field set": full, "zero fields": bare} {
			id := u("id-" + strings.ReplaceAll(name, " ", "-"))
			if err := c.Create(t.Context(), id, in); err != nil {
				t.Fatalf("%s: Create: %v", name, err)
			}
			out, err := b.store.Load(t.Context(), id)
			if err != nil {
				t.Fatalf("%s: Load after Create: %v", name, err)
			}
			if out.User != in.User || out.Persist != in.Persist || out.Device != in.Device || len(out.Values) != len(in.Values) {
				t.Errorf("%s: loaded %+v, want %+v", name, out, in)
			}
			for field, pair := range map[string][2]time.Time{
				"Created": {in.Created, out.Created}, "LastSeen": {in.LastSeen, out.LastSeen},
				"Deadline": {in.Deadline, out.Deadline}, "Expires": {in.Expires, out.Expires},
				"AuthenticatedAt": {in.AuthenticatedAt, out.AuthenticatedAt},
			} {
				if pair[0].IsZero() != pair[1].IsZero() || pair[0].Sub(pair[1]).Abs() > time.Millisecond {
					t.Errorf("%s: %s: created %v, loaded %v", name, field, pair[0], pair[1])
				}
			}
		}
		if us, ok := b.store.(driver.UserStore); ok {
			ids, err := us.Sessions(t.Context(), u("alice"))
			if err != nil || len(ids) != 1 {
				t.Errorf("Sessions(alice) after Create = %v, %v; want the created session", ids, err)
			}
		}
		expired := Record("", map[string]any{"k": "v"})
		expired.Expires = now.Add(-time.Second)
		if err := c.Create(t.Context(), u("gone"), expired); err != nil {
			t.Fatalf("Create of an expired record: %v", err)
		}
		_, err := b.store.Load(t.Context(), u("gone"))
		MustNotFound(t, err, "Load of a record created expired")
	}},
	{"SaveReplacesTheRecord", func(t *testing.T, b backend) {
		u := unique()
		mustSave(t, b.store, u("id1"), Record("", map[string]any{"a": 1}))
		if err := b.store.Save(t.Context(), u("id1"), Record("", map[string]any{"b": 2})); err != nil {
			t.Fatal(err)
		}
		out, err := b.store.Load(t.Context(), u("id1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out.Values["a"]; ok || len(out.Values) != 1 {
			t.Errorf("values after replace: %v, want only b", out.Values)
		}
	}},
	{"DeleteRemovesAndToleratesMissing", func(t *testing.T, b backend) {
		u := unique()
		mustSave(t, b.store, u("id1"), Record("", map[string]any{"a": 1}))
		if _, err := b.store.Delete(t.Context(), u("id1")); err != nil {
			t.Fatal(err)
		}
		_, err := b.store.Load(t.Context(), u("id1"))
		MustNotFound(t, err, "Load after Delete")
		if _, err := b.store.Delete(t.Context(), u("id1")); err != nil {
			t.Errorf("Delete of a missing record: %v, want nil", err)
		}
	}},
	{"ExpiredRecordIsNotFound", func(t *testing.T, b backend) {
		u := unique()
		rec := Record("", map[string]any{"a": 1})
		start := time.Now()
		rec.Expires = start.Add(500 * time.Millisecond)
		if err := b.store.Save(t.Context(), u("id1"), rec); err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.Load(t.Context(), u("id1")); err != nil && time.Now().Before(rec.Expires) {
			t.Fatalf("Load before expiry: %v", err)
		}
		time.Sleep(time.Until(rec.Expires.Add(deadMargin)))
		_, err := b.store.Load(t.Context(), u("id1"))
		MustNotFound(t, err, "Load after expiry")
	}},
	{"CancelledContextIsHonoured", func(t *testing.T, b backend) {
		u := unique()
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := b.store.Load(c, u("id1")); err == nil || errors.Is(err, driver.ErrNotFound) {
			t.Errorf("Load with a cancelled context: %v, want a context error", err)
		}
		if err := b.store.Save(c, u("id1"), Record("", map[string]any{"a": 1})); err == nil {
			t.Error("Save with a cancelled context succeeded")
		}
		if _, err := b.store.Load(t.Context(), u("id1")); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("a Save with a cancelled context stored the record (Load: %v)", err)
		}
		mustSave(t, b.store, u("id2"), Record(u("alice"), map[string]any{"a": 1}))
		if _, err := b.store.Delete(c, u("id2")); err == nil {
			t.Error("Delete with a cancelled context succeeded")
		}
		if ds, ok := b.store.(driver.DeltaStore); ok {
			now := time.Now()
			_, err := ds.Apply(c, u("id2"), &driver.Delta{Set: map[string]any{"b": 2}, LastSeen: now, Expires: now.Add(time.Hour)})
			if err == nil || errors.Is(err, driver.ErrNotFound) {
				t.Errorf("Apply with a cancelled context: %v, want a context error", err)
			}
		}
		if us, ok := b.store.(driver.UserStore); ok {
			if _, err := us.Sessions(c, u("alice")); err == nil {
				t.Error("Sessions with a cancelled context succeeded")
			}
			if _, err := us.DeleteUser(c, u("alice"), ""); err == nil {
				t.Error("DeleteUser with a cancelled context succeeded")
			}
		}
		if p, ok := b.store.(driver.Purger); ok {
			if _, err := p.Purge(c); err == nil {
				t.Error("Purge with a cancelled context succeeded")
			}
		}
		rec, err := b.store.Load(t.Context(), u("id2"))
		if err != nil || len(rec.Values) != 1 {
			t.Errorf("after cancelled calls the record is %+v, %v; want it unchanged", rec, err)
		}
	}},
	{"ApplyAfterRevokeDoesNotResurrect", func(t *testing.T, b backend) {
		u := unique()
		ds := needs[driver.DeltaStore](t, b, "driver.DeltaStore")
		us := needs[driver.UserStore](t, b, "driver.UserStore")
		mustSave(t, ds, u("id1"), Record(u("alice"), map[string]any{"a": 1}))
		if _, err := us.DeleteUser(t.Context(), u("alice"), ""); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		_, err := ds.Apply(t.Context(), u("id1"), &driver.Delta{Set: map[string]any{"late": true}, LastSeen: now, Expires: now.Add(time.Hour)})
		MustNotFound(t, err, "Apply after DeleteUser")
		_, err = ds.Load(t.Context(), u("id1"))
		MustNotFound(t, err, "Load after the late Apply")
		if list, _ := us.Sessions(t.Context(), u("alice")); len(list) != 0 {
			t.Errorf("Sessions(alice) = %v after revoke and a late Apply, want none", ids(list))
		}
	}},
	{"ApplyToMissingRecordCreatesNothing", func(t *testing.T, b backend) {
		u := unique()
		ds := needs[driver.DeltaStore](t, b, "driver.DeltaStore")
		now := time.Now()
		_, err := ds.Apply(t.Context(), u("id1"), &driver.Delta{Set: map[string]any{"a": 1}, LastSeen: now, Expires: now.Add(time.Hour)})
		MustNotFound(t, err, "Apply(missing)")
		_, err = ds.Load(t.Context(), u("id1"))
		MustNotFound(t, err, "Load after Apply(missing)")
	}},
	{"ApplyMergesChangesAndKeepsDeadline", func(t *testing.T, b backend) {
		u := unique()
		ds := needs[driver.DeltaStore](t, b, "driver.DeltaStore")
		rec := Record(u("alice"), map[string]any{"keep": "k", "drop": "d", "over": 1})
		mustSave(t, ds, u("id1"), rec)
		bob := u("bob")
		now := time.Now()
		_, err := ds.Apply(t.Context(), u("id1"), &driver.Delta{
			Delete: []string{"drop"}, Set: map[string]any{"over": 2, "new": "n"},
			User: &bob, LastSeen: now, Expires: now.Add(48 * time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := ds.Load(t.Context(), u("id1"))
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Sorted(maps.Keys(out.Values)); !slices.Equal(got, []string{"keep", "new", "over"}) {
			t.Errorf("keys after Apply: %v", got)
		}
		if v, _ := sesame.Decode[int](out.Values["over"]); v != 2 {
			t.Errorf("over = %v, want 2", out.Values["over"])
		}
		if out.User != u("bob") {
			t.Errorf("user = %q, want bob", out.User)
		}
		if d := out.Expires.Sub(rec.Deadline).Abs(); d > time.Millisecond {
			t.Errorf("Expires = %v, want it capped at the deadline %v", out.Expires, rec.Deadline)
		}
		_, err = ds.Apply(t.Context(), u("id1"), &driver.Delta{Clear: true, Set: map[string]any{"only": true}, LastSeen: now, Expires: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		out, _ = ds.Load(t.Context(), u("id1"))
		if got := slices.Sorted(maps.Keys(out.Values)); !slices.Equal(got, []string{"only"}) {
			t.Errorf("keys after Clear+Set: %v", got)
		}
	}},
	{"ParallelDeltasAllSurvive", func(t *testing.T, b backend) {
		u := unique()
		ds := needs[driver.DeltaStore](t, b, "driver.DeltaStore")
		mustSave(t, ds, u("id1"), Record("", map[string]any{"base": 0}))
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				now := time.Now()
				if _, err := ds.Apply(t.Context(), u("id1"), &driver.Delta{Set: map[string]any{key(i): i}, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		out, err := ds.Load(t.Context(), u("id1"))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Values) != 33 {
			t.Errorf("%d values after 32 parallel deltas, want 33: %v", len(out.Values), slices.Sorted(maps.Keys(out.Values)))
		}
	}},
	{"ApplyAfterDeleteDoesNotResurrect", func(t *testing.T, b backend) {
		u := unique()
		ds := needs[driver.DeltaStore](t, b, "driver.DeltaStore")
		mustSave(t, ds, u("id1"), Record(u("alice"), map[string]any{"a": 1}))
		mustDelete(t, ds, u("id1"))
		now := time.Now()
		_, err := ds.Apply(t.Context(), u("id1"), &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour)}) // a touch
		MustNotFound(t, err, "touch after Delete")
		_, err = ds.Load(t.Context(), u("id1"))
		MustNotFound(t, err, "Load after the touch")
	}},
	{"UserIndexListsAndDeletes", func(t *testing.T, b backend) {
		u := unique()
		us := needs[driver.UserStore](t, b, "driver.UserStore")
		for _, id := range []string{u("a1"), u("a2"), u("a3")} {
			mustSave(t, us, id, Record(u("alice"), map[string]any{"x": id}))
		}
		mustSave(t, us, u("b1"), Record(u("bob"), nil))
		expired := Record(u("alice"), nil)
		expired.Expires = time.Now().Add(-time.Second)
		mustSave(t, us, u("a0"), expired)
		list, err := us.Sessions(t.Context(), u("alice"))
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(list); !slices.Equal(got, []string{u("a1"), u("a2"), u("a3")}) {
			t.Errorf("Sessions(alice) = %v, want [a1 a2 a3]", got)
		}
		if list, _ := us.Sessions(t.Context(), u("nobody")); len(list) != 0 {
			t.Errorf("Sessions(nobody) = %v, want none", list)
		}
		n, err := us.DeleteUser(t.Context(), u("alice"), u("a2"))
		if err != nil {
			t.Fatal(err)
		}
		if n < 2 {
			t.Errorf("DeleteUser deleted %d, want at least 2", n)
		}
		for _, id := range []string{u("a1"), u("a3")} {
			_, err := us.Load(t.Context(), id)
			MustNotFound(t, err, "Load of a revoked session")
		}
		for _, id := range []string{u("a2"), u("b1")} {
			if _, err := us.Load(t.Context(), id); err != nil {
				t.Errorf("Load(%s) after DeleteUser(alice, keep a2): %v", id, err)
			}
		}
		if list, _ := us.Sessions(t.Context(), u("alice")); !slices.Equal(ids(list), []string{u("a2")}) {
			t.Errorf("Sessions(alice) after DeleteUser = %v, want [a2]", ids(list))
		}
	}},
	{"UserChangeMovesTheIndexEntry", func(t *testing.T, b backend) {
		u := unique()
		us := needs[driver.UserStore](t, b, "driver.UserStore")
		mustSave(t, us, u("id1"), Record(u("alice"), nil))
		mustSave(t, us, u("id1"), Record(u("bob"), nil))
		if list, _ := us.Sessions(t.Context(), u("alice")); len(list) != 0 {
			t.Errorf("Sessions(alice) = %v after the session moved to bob", ids(list))
		}
		if list, _ := us.Sessions(t.Context(), u("bob")); !slices.Equal(ids(list), []string{u("id1")}) {
			t.Errorf("Sessions(bob) = %v, want [id1]", ids(list))
		}
		mustDelete(t, us, u("id1"))
		if list, _ := us.Sessions(t.Context(), u("bob")); len(list) != 0 {
			t.Errorf("Sessions(bob) = %v after Delete, want none", ids(list))
		}
	}},
	{"RevocationMarksRoundTrip", func(t *testing.T, b backend) {
		u := unique()
		rs := needs[driver.RevocationStore](t, b, "driver.RevocationStore")
		r, err := rs.Revocation(t.Context(), u("alice"))
		if err != nil || !r.Before.IsZero() {
			t.Fatalf("Revocation of a user without a mark = %+v, %v; want zero, nil", r, err)
		}
		now := time.Now().Truncate(time.Millisecond)
		for _, want := range []driver.Revocation{
			{Before: now, Keep: u("keep"), Expires: now.Add(time.Hour)},
			{Before: now.Add(time.Second), Expires: now.Add(time.Hour)}, // replaces the first
		} {
			if err := rs.SetRevocation(t.Context(), u("alice"), want); err != nil {
				t.Fatal(err)
			}
			got, err := rs.Revocation(t.Context(), u("alice"))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Before.Equal(want.Before) || got.Keep != want.Keep {
				t.Errorf("Revocation = {%v %q}, want {%v %q}", got.Before, got.Keep, want.Before, want.Keep)
			}
		}
		if r, _ := rs.Revocation(t.Context(), u("bob")); !r.Before.IsZero() {
			t.Errorf("bob has alice's mark: %+v", r)
		}
		short := time.Now().Add(300 * time.Millisecond)
		if err := rs.SetRevocation(t.Context(), u("carol"), driver.Revocation{Before: now, Expires: short}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(short.Add(deadMargin)))
		if r, err := rs.Revocation(t.Context(), u("carol")); err != nil || !r.Before.IsZero() {
			t.Errorf("an expired mark is still returned: %+v, %v", r, err)
		}
	}},
	{"PurgeRemovesExpiredRecords", func(t *testing.T, b backend) {
		u := unique()
		p := needs[driver.Purger](t, b, "driver.Purger")
		live, dead := Record("", map[string]any{"a": 1}), Record("", map[string]any{"a": 1})
		dead.Expires = time.Now().Add(-time.Second)
		mustSave(t, b.store, u("live"), live)
		mustSave(t, b.store, u("dead"), dead)
		n, err := p.Purge(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("Purge removed %d, want 1", n)
		}
		if _, err := b.store.Load(t.Context(), u("live")); err != nil {
			t.Errorf("a live record was purged: %v", err)
		}
	}},
}
