package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// chainLength is how many renewals the chain tests make: far more than
// the 32 hops the previous version followed.
const chainLength = 1000

// TestDeleteFollowsLongChains checks that Delete and DeleteUser follow a
// chain of chainLength renewals to its end and end the session there, and
// that a Delete that cannot reach the end (ctx ends) never reports
// success: with a limit on the hops, a logout left the session of an
// attacker who renewed it often enough alive.
func TestDeleteFollowsLongChains(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testLongChains(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testLongChains(t, cluster(t)) })
}

// chain saves a session of user under prefix-0 and renews it chainLength
// times, directly on the Store, with the Manager's delta: prefix-0 ->
// prefix-1 -> ... It returns the IDs.
func chain(t *testing.T, st *Store, user, prefix string) []string {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	rec := &driver.Record{User: user, Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
		Expires: now.Add(30 * time.Minute), Deadline: now.Add(time.Hour)}
	ids := []string{prefix + "-0"}
	if err := st.Save(ctx, ids[0], rec); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= chainLength; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		d := &driver.Delta{User: &rec.User, Deadline: rec.Deadline, LastSeen: now, Expires: now.Add(30 * time.Minute)}
		if err := st.Renew(ctx, ids[len(ids)-1], id, d); err != nil {
			t.Fatalf("Renew %d: %v", i, err)
		}
		ids = append(ids, id)
	}
	return ids
}

func testLongChains(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	mustEnded := func(t *testing.T, st *Store, user, last string) {
		t.Helper()
		if _, err := st.Load(ctx, last); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("Load of the chain's last ID = %v, want ErrNotFound: the session outlived its revocation", err)
		}
		if list, err := st.Sessions(ctx, user); err != nil || len(list) != 0 {
			t.Errorf("Sessions(%s) = %v, %v; want none", user, list, err)
		}
	}

	t.Run("Delete", func(t *testing.T) {
		st := testStore(t, rdb)
		ids := chain(t, st, "alice", "c")
		start := time.Now()
		found, err := st.Delete(ctx, ids[0])
		took := time.Since(start)
		if err != nil || !found {
			t.Fatalf("Delete of the chain's first ID = %v, %v; want true, nil", found, err)
		}
		t.Logf("Delete through a chain of %d renewals: %v (%v per hop)", chainLength, took, took/chainLength)
		mustEnded(t, st, "alice", ids[len(ids)-1])
		if found, err := st.Delete(ctx, ids[chainLength/2]); err != nil || found {
			t.Errorf("a second Delete, from the chain's middle = %v, %v; want false, nil", found, err)
		}
	})

	t.Run("DeleteUserThatListedAnEarlyID", func(t *testing.T) {
		// As if the index held an ID of the chain's start only (DeleteUser
		// read it while the renewals went on).
		st := testStore(t, rdb)
		ids := chain(t, st, "bob", "b")
		last := ids[len(ids)-1]
		score := rdb.ZScore(ctx, st.userKey("bob"), last).Val()
		rdb.ZRem(ctx, st.userKey("bob"), last)
		rdb.ZAdd(ctx, st.userKey("bob"), redis.Z{Score: score, Member: ids[1]})
		n, err := st.DeleteUser(ctx, "bob", "")
		if err != nil || n != 1 {
			t.Fatalf("DeleteUser(bob) = %d, %v; want 1, nil", n, err)
		}
		mustEnded(t, st, "bob", last)
	})

	t.Run("DeleteThatCannotReachTheEndFails", func(t *testing.T) {
		// A context that ends halfway: the Delete fails, and the session
		// is still live, as reported.
		st := testStore(t, rdb)
		ids := chain(t, st, "carol", "k")
		if err := st.LoadScripts(ctx); err != nil {
			t.Fatal(err)
		}
		var hops atomic.Int64
		dctx, cancel := context.WithCancel(ctx)
		defer cancel()
		h := &onCommand{f: func(cmd redis.Cmder) {
			if isScript(cmd, deleteScript) && hops.Add(1) == chainLength/2 {
				cancel()
			}
		}}
		rdb.AddHook(h)
		defer h.off.Store(true)
		found, err := st.Delete(dctx, ids[0])
		if err == nil || found || !errors.Is(err, context.Canceled) {
			t.Fatalf("Delete whose context ends halfway = %v, %v; want false and an error wrapping context.Canceled", found, err)
		}
		t.Logf("Delete cut halfway: %v", err)
		if _, err := st.Load(ctx, ids[len(ids)-1]); err != nil {
			t.Errorf("Load of the chain's last ID = %v: the session ended though Delete failed", err)
		}
		if found, err := st.Delete(ctx, ids[0]); err != nil || !found {
			t.Errorf("Delete again = %v, %v; want true, nil", found, err)
		}
		mustEnded(t, st, "carol", ids[len(ids)-1])
	})
}

// TestDeleteOfALoopingChainEnds checks that a chain of forward pointers
// that loops back (which only reused IDs could make: the pointers are
// written directly here) ends a Delete and a DeleteUser, with an error
// and with nothing deleted: no session is live in it.
func TestDeleteOfALoopingChainEnds(t *testing.T) {
	rdb := standalone(t)
	st := testStore(t, rdb)
	ctx := t.Context()
	until := time.Now().Add(time.Hour)
	for _, p := range [][2]string{{"a", "b"}, {"b", "c"}, {"c", "a"}} {
		rdb.HSet(ctx, st.sessionKey(p[0]), "f", p[1], "u", "alice", "e", ms(until))
		rdb.PExpireAt(ctx, st.sessionKey(p[0]), until)
	}
	rdb.ZAdd(ctx, st.userKey("alice"), redis.Z{Score: float64(until.UnixMilli()), Member: "a"})
	found, err := st.Delete(ctx, "a")
	if err == nil || found {
		t.Errorf("Delete of a looping chain = %v, %v; want false and an error", found, err)
	}
	t.Logf("Delete: %v", err)
	if n, err := st.DeleteUser(ctx, "alice", ""); err != nil || n != 0 {
		t.Errorf("DeleteUser listing a looping chain = %d, %v; want 0, nil", n, err)
	}
}

// onCommand is a go-redis hook that calls f with each command sent,
// before it is sent, until off is set.
type onCommand struct {
	f   func(cmd redis.Cmder)
	off atomic.Bool
}

func (h *onCommand) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *onCommand) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !h.off.Load() {
			h.f(cmd)
		}
		return next(ctx, cmd)
	}
}

func (h *onCommand) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !h.off.Load() {
			for _, cmd := range cmds {
				h.f(cmd)
			}
		}
		return next(ctx, cmds)
	}
}

// isScript reports whether cmd runs sc as EVALSHA, as the store sends
// every script (and, once the script is cached, only so).
func isScript(cmd redis.Cmder, sc *redis.Script) bool {
	args := cmd.Args()
	return cmd.Name() == "evalsha" && len(args) > 1 && args[1] == sc.Hash()
}
