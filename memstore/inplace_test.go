package memstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/benchkit"
	"github.com/sesame-go/sesame/memstore"
)

// oneKey returns a live delta that sets key-00000 to v.
func oneKey(v string) *driver.Delta {
	now := time.Now()
	return &driver.Delta{Set: map[string]any{"key-00000": v}, LastSeen: now, Expires: now.Add(time.Hour)}
}

// TestBlindWriteCostsTheDelta checks that a one-key write into a large
// session that no one has read since its last write copies nothing: its
// cost is the delta's, not the session's.
func TestBlindWriteCostsTheDelta(t *testing.T) {
	st := memstore.New(memstore.Options{CleanupInterval: -1})
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	if err := st.Save(ctx, "big", benchkit.Record("", benchkit.Values(10_000))); err != nil {
		t.Fatal(err)
	}
	d := oneKey("new")
	if _, err := st.Apply(ctx, "big", d); err != nil { // copies the saved record, once
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := st.Apply(ctx, "big", d); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("a one-key Apply into a 10,000-key session allocates %v times; want at most 1 (no copy of the session)", allocs)
	}
}

// TestLoadedRecordNeverChanges checks that the record a Load returns keeps
// its values while later writes change the stored session, in place or
// not: readers are never handed a record the store goes on changing.
func TestLoadedRecordNeverChanges(t *testing.T) {
	for _, keys := range []int{1, 10_000} {
		st := memstore.New(memstore.Options{CleanupInterval: -1})
		t.Cleanup(func() { st.Close() })
		ctx := t.Context()
		if err := st.Save(ctx, "id", benchkit.Record("alice", benchkit.Values(keys))); err != nil {
			t.Fatal(err)
		}
		// The second write, with no read since the first, is in place for
		// a large session.
		for _, v := range []string{"first", "second"} {
			if _, err := st.Apply(ctx, "id", oneKey(v)); err != nil {
				t.Fatal(err)
			}
		}
		seen, err := st.Load(ctx, "id")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Apply(ctx, "id", oneKey("third")); err != nil {
			t.Fatal(err)
		}
		if got := seen.Values["key-00000"]; got != "second" {
			t.Errorf("%d keys: the record loaded before a write now holds %v; want second", keys, got)
		}
		now, err := st.Load(ctx, "id")
		if err != nil {
			t.Fatal(err)
		}
		if got := now.Values["key-00000"]; got != "third" || len(now.Values) != keys {
			t.Errorf("%d keys: after the write Load returns %d values, key-00000 = %v; want %d and third", keys, len(now.Values), got, keys)
		}
		if n, err := st.Sessions(ctx, "alice"); err != nil || len(n) != 1 {
			t.Errorf("%d keys: Sessions(alice) = %d, %v; want the one session", keys, len(n), err)
		}
	}
}

// TestLoadsRaceWrites reads every value of records that parallel writes
// change, in place where the store may: under the race detector a reader
// that is handed a record the store still changes fails the test.
func TestLoadsRaceWrites(t *testing.T) {
	st := memstore.New(memstore.Options{CleanupInterval: -1})
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	if err := st.Save(ctx, "id", benchkit.Record("", benchkit.Values(64))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 500 {
			if _, err := st.Apply(ctx, "id", oneKey("w")); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for range 500 {
			rec, err := st.Load(ctx, "id")
			if err != nil {
				t.Error(err)
				return
			}
			n := 0
			for _, v := range rec.Values {
				if v != nil {
					n++
				}
			}
			if n != 64 || rec.Expires.IsZero() {
				t.Errorf("read %d values, expiry %v; want 64 and a time", n, rec.Expires)
				return
			}
		}
	})
	wg.Wait()
}
