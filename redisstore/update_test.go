package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
)

// lostRaces counts, through the store's hook, the races its Updates lose,
// and the most tries one Update took.
type lostRaces struct{ lost, most atomic.Int64 }

func (l *lostRaces) hook(try int) {
	l.lost.Add(1)
	for n := l.most.Load(); int64(try+1) > n && !l.most.CompareAndSwap(n, int64(try+1)); n = l.most.Load() {
	}
}

// TestUpdateUnderContention runs 64 clients x 50 Updates of one key of one
// session through Managers, on one Store (one process: its Updates of the
// key take turns, so none loses a race) and on 4 Stores of one prefix
// (four processes: 16 clients each, whose Updates race through the
// compare-and-swap). The counter must end at exactly 3200, every Update
// must succeed and return a value no other returned, and the session's
// other value must stay.
func TestUpdateUnderContention(t *testing.T) {
	for _, tc := range []struct {
		name string
		rdb  func(t *testing.T) redis.UniversalClient
	}{
		{"standalone", func(t *testing.T) redis.UniversalClient { return standalone(t) }},
		{"cluster", func(t *testing.T) redis.UniversalClient { return cluster(t) }},
	} {
		t.Run(tc.name+"/one process", func(t *testing.T) {
			lost := testUpdateUnderContention(t, tc.rdb(t), 1)
			if lost != 0 {
				t.Errorf("%d Updates lost a race in one process, want none: they take turns", lost)
			}
		})
		t.Run(tc.name+"/four processes", func(t *testing.T) { testUpdateUnderContention(t, tc.rdb(t), 4) })
	}
}

// testUpdateUnderContention returns how many races were lost.
func testUpdateUnderContention(t *testing.T, rdb redis.UniversalClient, processes int) int64 {
	const clients, each = 64, 50
	first := testStore(t, rdb)
	var races lostRaces
	managers := make([]*sesame.Manager, processes)
	for i := range managers {
		st := New(rdb, Options{Prefix: first.Prefix()})
		st.updateLost = races.hook
		managers[i] = sesame.New(sesame.Config{Store: st, Insecure: true})
	}
	c := sesametest.NewClient(t, managers[0])
	c.Put("n", 0)
	c.Put("other", "kept")
	seen := make([]atomic.Bool, clients*each+1)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Go(func() {
			cc := &sesametest.Client{Test: t, Manager: managers[i%processes], Cookie: c.Cookie}
			for range each {
				cc.Do(func(w http.ResponseWriter, r *http.Request) {
					n, err := sesame.Update(sesame.FromContext(r.Context()), "n", func(n int) (int, error) { return n + 1, nil })
					switch {
					case err != nil:
						t.Errorf("Update: %v", err)
					case n < 1 || n > clients*each:
						t.Errorf("Update returned %d, want 1 to %d", n, clients*each)
					case seen[n].Swap(true):
						t.Errorf("two Updates both returned %d", n)
					}
				})
			}
		})
	}
	wg.Wait()
	lost := races.lost.Load()
	t.Logf("%d Updates in %v, %d lost races: %.2f tries per Update, at most %d (of %d allowed)",
		clients*each, time.Since(start), lost, 1+float64(lost)/(clients*each), max(races.most.Load(), 1), maxUpdateTries)
	c.Session(func(s *sesame.Session) {
		if n, _ := sesame.Get[int](s, "n"); n != clients*each {
			t.Errorf("%d clients x %d Updates ended at %d, want %d", clients, each, n, clients*each)
		}
		if v, _ := sesame.Get[string](s, "other"); v != "kept" {
			t.Errorf("the other value is %q, want kept", v)
		}
	})
	return lost
}

// TestUpdateRaces forces what can come between an Update's read and its
// compare-and-swap, with an f that changes the store under it (an f must
// have no side effects; this one is a test's), and checks the keys.
func TestUpdateRaces(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testUpdateRaces(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testUpdateRaces(t, cluster(t)) })
}

func testUpdateRaces(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	setup := func(t *testing.T, values map[string]any) (*Store, *lostRaces) {
		st := testStore(t, rdb)
		races := &lostRaces{}
		st.updateLost = races.hook
		now := time.Now()
		rec := &driver.Record{User: "alice", Values: values, Created: now, LastSeen: now,
			Expires: now.Add(30 * time.Minute), Deadline: now.Add(time.Hour)}
		if err := st.Save(ctx, "id", rec); err != nil {
			t.Fatal(err)
		}
		return st, races
	}
	field := func(st *Store, key string) string { return rdb.HGet(ctx, st.sessionKey("id"), valuePrefix+key).Val() }
	// counter is an f that adds one to an int, and records what it got.
	type call struct {
		old any
		ok  bool
	}
	counter := func(calls *[]call, between func(n int)) func(any, bool) (any, error) {
		return func(old any, ok bool) (any, error) {
			*calls = append(*calls, call{old, ok})
			n := 0
			if ok {
				if err := json.Unmarshal(old.(json.RawMessage), &n); err != nil {
					return nil, err
				}
			}
			if between != nil {
				between(len(*calls))
			}
			return n + 1, nil
		}
	}

	t.Run("ValueChangedMeanwhile", func(t *testing.T) {
		st, races := setup(t, map[string]any{"n": 1})
		var calls []call
		v, err := st.Update(ctx, "id", "n", counter(&calls, func(i int) {
			if i == 1 {
				rdb.HSet(ctx, st.sessionKey("id"), valuePrefix+"n", "41")
			}
		}))
		if err != nil || v != 42 || field(st, "n") != "42" {
			t.Errorf("Update = %v, %v, stored %q; want 42 (41 + 1), stored", v, err, field(st, "n"))
		}
		if len(calls) != 2 || races.lost.Load() != 1 || string(calls[1].old.(json.RawMessage)) != "41" {
			t.Errorf("f got %+v, %d races lost; want two calls, the second with 41, and one lost race", calls, races.lost.Load())
		}
	})
	t.Run("ValueSetMeanwhile", func(t *testing.T) {
		st, races := setup(t, map[string]any{"other": 1})
		var calls []call
		v, err := st.Update(ctx, "id", "n", counter(&calls, func(i int) {
			if i == 1 {
				rdb.HSet(ctx, st.sessionKey("id"), valuePrefix+"n", "7")
			}
		}))
		if err != nil || v != 8 || races.lost.Load() != 1 || len(calls) != 2 || calls[0].ok || !calls[1].ok {
			t.Errorf("Update = %v, %v after %+v, %d races lost; want 8, after a call without a value, then one with 7",
				v, err, calls, races.lost.Load())
		}
	})
	t.Run("KeepsEverythingElse", func(t *testing.T) {
		st, _ := setup(t, map[string]any{"n": 1, "other": "x"})
		key := st.sessionKey("id")
		before := rdb.HGetAll(ctx, key).Val()
		ttl := rdb.PExpireTime(ctx, key).Val()
		var calls []call
		if _, err := st.Update(ctx, "id", "n", counter(&calls, nil)); err != nil {
			t.Fatal(err)
		}
		after := rdb.HGetAll(ctx, key).Val()
		before[valuePrefix+"n"] = "2"
		if len(after) != len(before) {
			t.Errorf("fields %v after Update, want %v", after, before)
		}
		for k, v := range before {
			if after[k] != v {
				t.Errorf("field %s = %q after Update, want %q", k, after[k], v)
			}
		}
		if got := rdb.PExpireTime(ctx, key).Val(); got != ttl {
			t.Errorf("Update moved the expiry from %v to %v", ttl, got)
		}
	})
	t.Run("DeletedMeanwhile", func(t *testing.T) {
		st, _ := setup(t, map[string]any{"n": 1})
		var calls []call
		_, err := st.Update(ctx, "id", "n", counter(&calls, func(int) {
			if _, err := st.Delete(ctx, "id"); err != nil {
				t.Error(err)
			}
		}))
		if !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrRenewed) || len(calls) != 1 {
			t.Errorf("Update of a session deleted meanwhile = %v after %d calls; want ErrNotFound after one", err, len(calls))
		}
		if rdb.Exists(ctx, st.sessionKey("id")).Val() != 0 {
			t.Error("Update brought a deleted session back")
		}
	})
	t.Run("RenewedMeanwhile", func(t *testing.T) {
		st, _ := setup(t, map[string]any{"n": 1})
		var calls []call
		_, err := st.Update(ctx, "id", "n", counter(&calls, func(int) {
			now := time.Now()
			if err := st.Renew(ctx, "id", "id2", &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}))
		if !errors.Is(err, driver.ErrRenewed) || !errors.Is(err, driver.ErrNotFound) || len(calls) != 1 {
			t.Errorf("Update of a session renewed meanwhile = %v after %d calls; want ErrNotFound and ErrRenewed after one", err, len(calls))
		}
		if rec, err := st.Load(ctx, "id2"); err != nil || string(rec.Values["n"].(json.RawMessage)) != "1" {
			t.Errorf("the renewed session: %+v, %v; want n still 1", rec, err)
		}
	})
	t.Run("NoLiveSession", func(t *testing.T) {
		st, _ := setup(t, map[string]any{"n": 1})
		now := time.Now()
		if err := st.Renew(ctx, "id", "id2", &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		called := false
		f := func(any, bool) (any, error) { called = true; return 1, nil }
		if _, err := st.Update(ctx, "id", "n", f); !errors.Is(err, driver.ErrRenewed) {
			t.Errorf("Update of a renewed ID = %v, want ErrRenewed", err)
		}
		if _, err := st.Update(ctx, "missing", "n", f); !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrRenewed) {
			t.Errorf("Update of a missing ID = %v, want ErrNotFound alone", err)
		}
		if called {
			t.Error("f was called without a live session")
		}
	})
	t.Run("FuncFails", func(t *testing.T) {
		st, _ := setup(t, map[string]any{"n": 1})
		boom := errors.New("boom")
		if _, err := st.Update(ctx, "id", "n", func(any, bool) (any, error) { return 5, boom }); err != boom {
			t.Errorf("Update whose f fails = %v, want f's error as is", err)
		}
		if _, err := st.Update(ctx, "id", "n", func(any, bool) (any, error) { return func() {}, nil }); err == nil || errors.Is(err, driver.ErrNotFound) {
			t.Errorf("Update to a value JSON cannot encode = %v, want an encoding error", err)
		}
		if got := field(st, "n"); got != "1" {
			t.Errorf("n = %q after the failed Updates, want 1", got)
		}
	})
	t.Run("BoundedByContext", func(t *testing.T) {
		st, races := setup(t, map[string]any{"n": 1})
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		var calls []call
		_, err := st.Update(ctx, "id", "n", counter(&calls, func(i int) {
			rdb.HIncrBy(context.Background(), st.sessionKey("id"), valuePrefix+"n", 100) // every race lost
		}))
		if !errors.Is(err, context.DeadlineExceeded) || races.lost.Load() == 0 {
			t.Errorf("Update losing every race = %v after %d lost, want the context's deadline", err, races.lost.Load())
		}
	})
	t.Run("BoundedByTries", func(t *testing.T) {
		if testing.Short() {
			t.Skip("takes seconds of backoff")
		}
		st, races := setup(t, map[string]any{"n": 1})
		var calls []call
		start := time.Now()
		_, err := st.Update(ctx, "id", "n", counter(&calls, func(i int) {
			rdb.HIncrBy(ctx, st.sessionKey("id"), valuePrefix+"n", 100) // every race lost
		}))
		if err == nil || errors.Is(err, driver.ErrNotFound) || len(calls) != maxUpdateTries || races.lost.Load() != maxUpdateTries-1 {
			t.Errorf("Update losing every race = %v after %d calls of f; want an error after %d", err, len(calls), maxUpdateTries)
		}
		t.Logf("%d tries in %v: %v", len(calls), time.Since(start), err)
	})
}
