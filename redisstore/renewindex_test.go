package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// stepTwoHold is a go-redis hook, on a server's client (a Cluster node's,
// or a standalone client), that holds step 2 of a Renew (renewIn) before
// it is sent, until every command sent with it to other nodes, in the same
// pipeline, has been answered (on a Cluster, go-redis sends each node's
// part in parallel), then calls before, sends it, and calls after once it
// is answered. Commands sent with it to the same node run after it anyway.
//
// batches, set by the hook on the Cluster's own client (see batchHook),
// maps a renewIn command to everything sent with it.
type stepTwoHold struct {
	before, after func()

	mu      sync.Mutex
	batches map[redis.Cmder][]redis.Cmder
	done    map[redis.Cmder]chan struct{}
}

// answered returns the channel closed once cmd has been answered.
func (h *stepTwoHold) answered(cmd redis.Cmder) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = map[redis.Cmder]chan struct{}{}
	}
	c, ok := h.done[cmd]
	if !ok {
		c = make(chan struct{})
		h.done[cmd] = c
	}
	return c
}

// answer marks the commands of part answered (once: go-redis may send a
// part again, after a redirection).
func (h *stepTwoHold) answer(part []redis.Cmder) {
	for _, c := range part {
		ch := h.answered(c)
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
}

func (h *stepTwoHold) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *stepTwoHold) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return h.ProcessPipelineHook(func(ctx context.Context, cmds []redis.Cmder) error {
			return next(ctx, cmds[0])
		})(ctx, []redis.Cmder{cmd})
	}
}

func (h *stepTwoHold) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, part []redis.Cmder) error {
		i := slices.IndexFunc(part, func(c redis.Cmder) bool { return isScript(c, renewInScript) })
		if i < 0 {
			err := next(ctx, part)
			h.answer(part)
			return err
		}
		h.mu.Lock()
		batch := h.batches[part[i]]
		h.mu.Unlock()
		for _, c := range batch {
			if !slices.Contains(part, c) {
				<-h.answered(c) // sent in parallel, to another node
			}
		}
		h.before()
		err := next(ctx, part)
		h.after()
		h.answer(part)
		return err
	}
}

// batchHook, on a Cluster's own client, tells hold what each pipeline
// that holds a renewIn sends with it, before go-redis splits it by node.
type batchHook struct{ hold *stepTwoHold }

func (b batchHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (b batchHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (b batchHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if isScript(c, renewInScript) {
				b.hold.mu.Lock()
				if b.hold.batches == nil {
					b.hold.batches = map[redis.Cmder][]redis.Cmder{}
				}
				b.hold.batches[c] = slices.Clone(cmds)
				b.hold.mu.Unlock()
			}
		}
		return next(ctx, cmds)
	}
}

// TestRenewUnindexesTheOldIDAfterStepTwo checks that a Renew removes the
// old ID from its user's index only once step 2 has returned: until the
// new ID is live, a listing must find the old one (a live forward
// pointer), or it counts the session under neither ID, and a concurrent
// login's CapUser lets the user keep one session too many. On a Cluster,
// the previous version sent that ZREM beside step 2, to another node, in
// parallel: the hook holds step 2 until the ZREM has been answered.
func TestRenewUnindexesTheOldIDAfterStepTwo(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		hold := &stepTwoHold{before: func() {}, after: func() {}}
		rdb := redis.NewClient(standalone(t).Options())
		t.Cleanup(func() { rdb.Close() })
		rdb.AddHook(hold)
		testRenewUnindexes(t, rdb, hold)
	})
	t.Run("cluster", func(t *testing.T) {
		hold := &stepTwoHold{before: func() {}, after: func() {}}
		rdb := redis.NewClusterClient(cluster(t).Options())
		t.Cleanup(func() { rdb.Close() })
		rdb.OnNewNode(func(node *redis.Client) { node.AddHook(hold) })
		rdb.AddHook(batchHook{hold})
		testRenewUnindexes(t, rdb, hold)
	})
}

func testRenewUnindexes(t *testing.T, rdb redis.UniversalClient, hold *stepTwoHold) {
	ctx := t.Context()
	st := testStore(t, rdb)
	if err := st.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	// newID picks an ID whose key a Cluster keeps on another node than
	// user's index, as most are: there the ZREM went in parallel.
	newID := func(user, prefix string) string {
		c, ok := rdb.(*redis.ClusterClient)
		if !ok {
			return prefix
		}
		index, err := c.MasterForKey(ctx, st.userKey(user))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			id := fmt.Sprint(prefix, i)
			node, err := c.MasterForKey(ctx, st.sessionKey(id))
			if err != nil {
				t.Fatal(err)
			}
			if node.Options().Addr != index.Options().Addr {
				return id
			}
		}
	}
	indexed := func(user, id string) bool { return rdb.ZScore(ctx, st.userKey(user), id).Err() == nil }
	now := time.Now()
	rec := func(user string, seen time.Time) *driver.Record {
		return &driver.Record{User: user, Values: map[string]any{"a": 1}, Created: seen, LastSeen: seen,
			Expires: now.Add(30 * time.Minute), Deadline: now.Add(time.Hour)}
	}
	delta := func(user string) *driver.Delta {
		return &driver.Delta{User: &user, Deadline: now.Add(time.Hour), LastSeen: now, Expires: now.Add(30 * time.Minute)}
	}

	t.Run("IndexedUntilStepTwoReturned", func(t *testing.T) {
		if err := st.Save(ctx, "old", rec("alice", now)); err != nil {
			t.Fatal(err)
		}
		id := newID("alice", "new")
		held := 0
		hold.before = func() {
			held++
			if !indexed("alice", "old") {
				t.Error("the old ID left the index before step 2 ran: a listing now finds the session under neither ID")
			}
			_, moving, err := st.live(ctx, "alice", time.Now())
			if err != nil || len(moving) != 1 || moving[0].ID != "old" {
				t.Errorf("a listing before step 2 found the pointers %v, %v; want the old ID's", moving, err)
			}
		}
		hold.after = func() {
			if !indexed("alice", "old") {
				t.Error("the old ID left the index before step 2 returned")
			}
		}
		defer func() { hold.before, hold.after = func() {}, func() {} }()
		if err := st.Renew(ctx, "old", id, delta("alice")); err != nil || held != 1 {
			t.Fatalf("Renew = %v (step 2 held %d times)", err, held)
		}
		if indexed("alice", "old") || !indexed("alice", id) {
			t.Errorf("after Renew the index holds old %v, new %v; want the new ID alone", indexed("alice", "old"), indexed("alice", id))
		}
	})

	t.Run("CapUserDuringStepTwoCountsTheSession", func(t *testing.T) {
		// MaxSessionsPerUser = 1: bob logs in on another device (its
		// CapUser, keeping it, runs while his first session is being
		// renewed).
		if err := st.Save(ctx, "bob-1", rec("bob", now.Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
		if err := st.Save(ctx, "bob-2", rec("bob", now)); err != nil {
			t.Fatal(err)
		}
		id := newID("bob", "bob-1b")
		var ended []driver.Info
		hold.before = func() {
			var err error
			if ended, err = st.CapUser(ctx, "bob", "bob-2", 1, false); err != nil {
				t.Error(err)
			}
		}
		hold.after = func() {}
		defer func() { hold.before = func() {} }()
		err := st.Renew(ctx, "bob-1", id, delta("bob"))
		if err != nil && !errors.Is(err, driver.ErrNotFound) {
			t.Fatal(err)
		}
		list, err := st.Sessions(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != "bob-2" {
			t.Errorf("under a cap of 1, bob has %d sessions (%v) after the CapUser that ended %d; want bob-2 alone",
				len(list), ids(list), len(ended))
		}
	})
}

// ids returns the IDs of list.
func ids(list []driver.Info) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}
