// Package sesametest is a conformance suite for session stores. A store's
// own test is then a few lines:
//
//	func TestConformance(t *testing.T) {
//		sesametest.Run(t, func(t *testing.T) driver.Store {
//			st := mystore.New(...)
//			t.Cleanup(func() { st.Close() })
//			return st
//		})
//	}
//
// Each behaviour is a named subtest that gets a new, empty store. Optional
// capabilities (DeltaStore, Renewer, Updater, UserStore, UserCapper, Purger,
// RevocationStore) are
// tested when the store implements them; where a behaviour cannot apply, the subtest says which
// capability is missing and skips. Client-side stores run [RunSealer].
package sesametest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// Dumper is implemented by a store (usually a test wrapper of one) that can
// return its raw stored contents. The suite then checks that no token is
// ever kept at rest.
type Dumper interface {
	Dump(ctx context.Context) ([]byte, error)
}

// backend is what a subtest runs against: a server store or a sealer.
type backend struct {
	store  driver.Store
	sealer driver.Sealer
}

func (b backend) config(c sesame.Config) sesame.Config {
	c.Store, c.Sealer = b.store, b.sealer
	return c
}

// impl returns the backend as an any, for capability checks.
func (b backend) impl() any {
	if b.store != nil {
		return b.store
	}
	return b.sealer
}

type test struct {
	name string
	run  func(t *testing.T, b backend)
}

// Run runs the suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) driver.Store) {
	run(t, func(t *testing.T) backend { return backend{store: newStore(t)} }, slices.Concat(storeTests, contractTests, metadataTests, storeRaceTests, httpTests, raceTests, logoutTests, limitTests, manageTests, manageRaceTests))
}

// RunSealer runs the suite against the client-side stores newSealer
// returns.
func RunSealer(t *testing.T, newSealer func(t *testing.T) driver.Sealer) {
	run(t, func(t *testing.T) backend { return backend{sealer: newSealer(t)} }, slices.Concat(httpTests, raceTests, logoutTests, limitTests, manageTests))
}

func run(t *testing.T, newBackend func(t *testing.T) backend, tests []test) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newBackend(t)) })
	}
}

// needs returns the backend as a T, or skips t naming the capability.
func needs[T any](t *testing.T, b backend, capability string) T {
	t.Helper()
	v, ok := b.impl().(T)
	if !ok {
		t.Skipf("not applicable: %T does not implement %s", b.impl(), capability)
	}
	return v
}

func needStore(t *testing.T, b backend, why string) {
	t.Helper()
	if b.store == nil {
		t.Skipf("not applicable to a client-side Sealer: %s", why)
	}
}

// Record returns a live record of user holding vals: created now, expiring
// in 30 minutes, with a deadline in an hour. Store tests use it to Save.
func Record(user string, vals map[string]any) *driver.Record {
	now := time.Now()
	return &driver.Record{
		Values: vals, User: user, Created: now, LastSeen: now,
		Deadline: now.Add(time.Hour), Expires: now.Add(30 * time.Minute),
	}
}

// MustNotFound fails t unless err wraps driver.ErrNotFound.
func MustNotFound(t testing.TB, err error, what string) {
	t.Helper()
	if !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("%s: got %v, want an error wrapping driver.ErrNotFound", what, err)
	}
}

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
	{"SaveReplacesTheRecord", func(t *testing.T, b backend) {
		u := unique()
		b.store.Save(t.Context(), u("id1"), Record("", map[string]any{"a": 1}))
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
		b.store.Save(t.Context(), u("id1"), Record("", map[string]any{"a": 1}))
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
		b.store.Save(t.Context(), u("id2"), Record(u("alice"), map[string]any{"a": 1}))
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
		ds.Save(t.Context(), u("id1"), Record(u("alice"), map[string]any{"a": 1}))
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
		ds.Save(t.Context(), u("id1"), rec)
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
		ds.Save(t.Context(), u("id1"), Record("", map[string]any{"base": 0}))
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
		ds.Save(t.Context(), u("id1"), Record(u("alice"), map[string]any{"a": 1}))
		ds.Delete(t.Context(), u("id1"))
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
			us.Save(t.Context(), id, Record(u("alice"), map[string]any{"x": id}))
		}
		us.Save(t.Context(), u("b1"), Record(u("bob"), nil))
		expired := Record(u("alice"), nil)
		expired.Expires = time.Now().Add(-time.Second)
		us.Save(t.Context(), u("a0"), expired)
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
		us.Save(t.Context(), u("id1"), Record(u("alice"), nil))
		us.Save(t.Context(), u("id1"), Record(u("bob"), nil))
		if list, _ := us.Sessions(t.Context(), u("alice")); len(list) != 0 {
			t.Errorf("Sessions(alice) = %v after the session moved to bob", ids(list))
		}
		if list, _ := us.Sessions(t.Context(), u("bob")); !slices.Equal(ids(list), []string{u("id1")}) {
			t.Errorf("Sessions(bob) = %v, want [id1]", ids(list))
		}
		us.Delete(t.Context(), u("id1"))
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
		rs.SetRevocation(t.Context(), u("carol"), driver.Revocation{Before: now, Expires: short})
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
		b.store.Save(t.Context(), u("live"), live)
		b.store.Save(t.Context(), u("dead"), dead)
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

func key(i int) string { return "k" + string(rune('A'+i/26)) + string(rune('a'+i%26)) }

func ids(list []sesame.Info) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	slices.Sort(out)
	return out
}

// unique returns a function that makes a name unique to one test, so tests
// sharing a server (or a table) never see each other's IDs or users.
func unique() func(string) string {
	var b [6]byte
	rand.Read(b[:])
	p := hex.EncodeToString(b[:]) + "-"
	return func(name string) string { return p + name }
}
