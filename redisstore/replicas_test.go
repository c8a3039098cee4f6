package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/testenv"
)

// startReplicated starts a redis-server of the test's own with a replica
// (another redis-server, --replicaof), waits until the replica is online,
// and returns both.
func startReplicated(t *testing.T) (master, replica *testenv.RedisServer) {
	t.Helper()
	// A full sync starts at once: by default a diskless one waits 5s for
	// more replicas.
	master = testenv.StartRedis(t, false, "--repl-diskless-sync-delay", "0")
	host, port, _ := strings.Cut(master.Addr, ":")
	replica = testenv.StartRedis(t, false, "--replicaof", host, port)
	rdb := redis.NewClient(&redis.Options{Addr: master.Addr})
	defer rdb.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := rdb.Info(t.Context(), "replication").Result()
		if err == nil && strings.Contains(info, ",state=online,") {
			return master, replica
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica of %s is not online after 10s: %v %s", master.Addr, err, info)
		}
	}
}

// roundTripLog is a go-redis hook that keeps the command names of each
// round trip (a command, or a pipeline), but the connection setup (see
// roundTrips).
type roundTripLog struct {
	mu   sync.Mutex
	trip [][]string
}

func (l *roundTripLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *roundTripLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.add(cmd)
		return next(ctx, cmd)
	}
}

func (l *roundTripLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		l.add(cmds...)
		return next(ctx, cmds)
	}
}

func (l *roundTripLog) add(cmds ...redis.Cmder) {
	if setup(cmds...) {
		return
	}
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name()
	}
	l.mu.Lock()
	l.trip = append(l.trip, names)
	l.mu.Unlock()
}

// during returns the round trips of f.
func (l *roundTripLog) during(f func()) [][]string {
	l.mu.Lock()
	n := len(l.trip)
	l.mu.Unlock()
	f()
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.trip[n:])
}

// notWrites are the commands of the store that write nothing, and
// ZREMRANGEBYSCORE, the pruning of index entries past their deadline by
// a listing (Sessions, DeleteUser, CapUser), which is not waited for:
// losing it loses nothing, the next listing prunes again.
var notWrites = map[string]bool{
	"hgetall": true, "hmget": true, "get": true, "zrange": true, "zremrangebyscore": true,
	"config": true, "script": true,
}

// unwaited returns the round trips of trips that write and do not end
// with (one) WAIT, and those that wait and write nothing.
func unwaited(trips [][]string) (bad [][]string) {
	for _, names := range trips {
		writes := slices.ContainsFunc(names, func(n string) bool { return n != "wait" && !notWrites[n] })
		waits := slices.Index(names, "wait")
		if writes != (waits >= 0 && waits == len(names)-1) {
			bad = append(bad, names)
		}
	}
	return bad
}

// storeOp is one store operation, run on a Store set up by replicaOps.
type storeOp struct {
	name string
	f    func(ctx context.Context, st *Store) error
	// gap, if set, names a write the store still sends without WAIT:
	// the check logs it rather than fail. Remove it once it is closed.
	gap string
}

// replicaOps returns one of each write path of the store (and the reads
// beside them), on records that setup makes.
func replicaOps(now time.Time) (setup func(ctx context.Context, st *Store) error, ops []storeOp) {
	rec := func(user string) *driver.Record {
		return &driver.Record{User: user, Values: map[string]any{"n": 1}, Created: now, LastSeen: now,
			Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}
	}
	touch := func() *driver.Delta { return &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour)} }
	withUser := func(u string) *driver.Delta { d := touch(); d.User = &u; return d }
	login := func(u string) *driver.Delta {
		d := withUser(u)
		d.Deadline = now.Add(time.Hour)
		return d
	}
	apply := func(id string, d *driver.Delta) func(ctx context.Context, st *Store) error {
		return func(ctx context.Context, st *Store) error { _, err := st.Apply(ctx, id, d); return err }
	}
	setup = func(ctx context.Context, st *Store) error {
		for _, id := range []string{"anon1", "anon2"} {
			if err := st.Save(ctx, id, rec("")); err != nil {
				return err
			}
		}
		for _, id := range []string{"a1", "a2", "a3", "r1", "d1", "k1", "k2"} {
			user := "alice"
			if id[0] == 'k' {
				user = "carol"
			}
			if err := st.Save(ctx, id, rec(user)); err != nil {
				return err
			}
		}
		return nil
	}
	ops = []storeOp{
		{name: "Load", f: func(ctx context.Context, st *Store) error { _, err := st.Load(ctx, "a1"); return err }},
		{name: "Save of a new record with a user", f: func(ctx context.Context, st *Store) error { return st.Save(ctx, "new", rec("alice")) }},
		{name: "Save over another user's record", f: func(ctx context.Context, st *Store) error { return st.Save(ctx, "new", rec("bob")) },
			gap: "Save's unindex ZREM of the old user (redisstore.go, Save: s.rdb.ZRem, not s.write)"},
		{name: "Apply (touch)", f: apply("a1", touch())},
		{name: "Apply setting a value", f: apply("a1", &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour), Set: map[string]any{"n": 2}})},
		{name: "Apply setting a user (from none)", f: apply("anon1", withUser("alice"))},
		{name: "Apply changing the user", f: apply("a2", withUser("bob"))},
		{name: "Renew with the Manager's delta", f: func(ctx context.Context, st *Store) error { return st.Renew(ctx, "r1", "r1b", login("alice")) }},
		{name: "Renew without user or deadline", f: func(ctx context.Context, st *Store) error { return st.Renew(ctx, "anon2", "anon2b", touch()) }},
		{name: "Update", f: func(ctx context.Context, st *Store) error {
			_, err := st.Update(ctx, "a1", "n", func(any, bool) (any, error) { return 3, nil })
			return err
		}},
		{name: "Delete of a session with a user", f: func(ctx context.Context, st *Store) error { _, err := st.Delete(ctx, "d1"); return err }},
		{name: "Delete of a renewed ID", f: func(ctx context.Context, st *Store) error { _, err := st.Delete(ctx, "r1"); return err }},
		{name: "Sessions", f: func(ctx context.Context, st *Store) error { _, err := st.Sessions(ctx, "alice"); return err }},
		{name: "CapUser ending one", f: func(ctx context.Context, st *Store) error {
			ended, err := st.CapUser(ctx, "carol", "k2", 1, false)
			if err == nil && len(ended) != 1 {
				err = fmt.Errorf("ended %d, want 1", len(ended))
			}
			return err
		}},
		{name: "DeleteUser", f: func(ctx context.Context, st *Store) error {
			n, err := st.DeleteUser(ctx, "alice", "")
			if err == nil && n == 0 {
				err = errors.New("deleted none")
			}
			return err
		}},
		{name: "SetRevocation", f: func(ctx context.Context, st *Store) error {
			return st.SetRevocation(ctx, "alice", driver.Revocation{Before: now, Expires: now.Add(time.Hour)})
		}},
		{name: "Deny", f: func(ctx context.Context, st *Store) error {
			_, err := st.Deny(ctx, "alice", "a1", false, now.Add(time.Hour))
			return err
		}},
		{name: "Revocation", f: func(ctx context.Context, st *Store) error { _, err := st.Revocation(ctx, "alice", "a1"); return err }},
	}
	return setup, ops
}

// TestReplicasCostNoRoundTrip runs each write path of the store with and
// without Options.Replicas, on a server with one replica: with it, every
// round trip that writes ends with WAIT, in the same pipeline, so that
// each operation costs the round trips it costs without (the counts of
// docs/internals/redisstore.md), and reads are sent as they are.
func TestReplicasCostNoRoundTrip(t *testing.T) {
	master, _ := startReplicated(t)
	rdb := redis.NewClient(&redis.Options{Addr: master.Addr})
	t.Cleanup(func() { rdb.Close() })
	log := &roundTripLog{}
	rdb.AddHook(log)
	ctx := t.Context()
	setup, ops := replicaOps(time.Now())
	plain := New(rdb, Options{Prefix: "plain:", SkipEvictionCheck: true})
	waiting := New(rdb, Options{Prefix: "waiting:", SkipEvictionCheck: true, Replicas: 1})
	for _, st := range []*Store{plain, waiting} {
		if err := st.LoadScripts(ctx); err != nil {
			t.Fatal(err)
		}
		if err := setup(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	for _, op := range ops {
		var trips [2][][]string
		for i, st := range []*Store{plain, waiting} {
			var err error
			trips[i] = log.during(func() { err = op.f(ctx, st) })
			if err != nil {
				t.Fatalf("%s (Replicas %d): %v", op.name, st.replication.n, err)
			}
		}
		t.Logf("%-35s %d round trip(s); with Replicas 1: %v", op.name, len(trips[0]), trips[1])
		if len(trips[1]) != len(trips[0]) {
			t.Errorf("%s: %d round trips with Replicas 1, %d without", op.name, len(trips[1]), len(trips[0]))
		}
		bad := unwaited(trips[1])
		switch {
		case op.gap != "" && len(bad) == 0:
			t.Errorf("%s: every write now waits: remove its gap note (%s)", op.name, op.gap)
		case op.gap != "":
			t.Logf("%s: known gap, %v not waited for: %s", op.name, bad, op.gap)
		case len(bad) > 0:
			t.Errorf("%s: round trips that write without ending with WAIT, or wait without writing: %v", op.name, bad)
		}
	}
}

// TestReplicasLatency measures what WAIT 1 adds to a blind write (an
// Apply: one script), on a replica on the same machine: the replica's
// acknowledgement, in the same round trip.
func TestReplicasLatency(t *testing.T) {
	master, _ := startReplicated(t)
	rdb := redis.NewClient(&redis.Options{Addr: master.Addr})
	t.Cleanup(func() { rdb.Close() })
	ctx := t.Context()
	now := time.Now()
	const n = 500
	var med [2]time.Duration
	for i, replicas := range []int{0, 1} {
		st := New(rdb, Options{Prefix: fmt.Sprintf("latency%d:", replicas), SkipEvictionCheck: true, Replicas: replicas})
		must(t, st.LoadScripts(ctx))
		must(t, st.Save(ctx, "id", &driver.Record{Values: map[string]any{"n": 0}, Created: now, LastSeen: now,
			Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}))
		took := make([]time.Duration, n)
		for j := range n {
			d := &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour), Set: map[string]any{"n": j}}
			start := time.Now()
			if _, err := st.Apply(ctx, "id", d); err != nil {
				t.Fatal(err)
			}
			took[j] = time.Since(start)
		}
		slices.Sort(took)
		med[i] = took[n/2]
		t.Logf("Apply, Replicas %d: median %v, p99 %v, max %v (%d writes)", replicas,
			took[n/2].Round(time.Microsecond), took[n*99/100].Round(time.Microsecond), took[n-1].Round(time.Microsecond), n)
	}
	t.Logf("WAIT 1 adds %v to the median write, in no round trip more", (med[1] - med[0]).Round(time.Microsecond))
}

// TestNotReplicated checks that a write fewer replicas acknowledge than
// asked fails with ErrNotReplicated once ReplicaTimeout has passed, and
// works again once they do.
func TestNotReplicated(t *testing.T) {
	master, replica := startReplicated(t)
	rdb := redis.NewClient(&redis.Options{Addr: master.Addr})
	t.Cleanup(func() { rdb.Close() })
	ctx := t.Context()
	now := time.Now()
	rec := &driver.Record{User: "alice", Values: map[string]any{"n": 0}, Created: now, LastSeen: now,
		Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}
	const timeout = 100 * time.Millisecond
	two := New(rdb, Options{Prefix: "two:", SkipEvictionCheck: true, Replicas: 2, ReplicaTimeout: timeout})
	start := time.Now()
	err := two.Save(ctx, "id", rec)
	took := time.Since(start)
	if !errors.Is(err, ErrNotReplicated) || !strings.HasPrefix(err.Error(), "redisstore: save: ") {
		t.Fatalf("Save with Replicas 2 and one replica = %v, want a redisstore: save: error wrapping ErrNotReplicated", err)
	}
	t.Logf("Replicas 2, one replica: %v after %v", err, took.Round(time.Millisecond))
	if took < timeout {
		t.Errorf("failed after %v, before ReplicaTimeout %v", took, timeout)
	}

	// Writes that must be acknowledged get slack for a loaded machine (the
	// race detector); those that must fail wait only the short timeout.
	acked := New(rdb, Options{Prefix: "one:", SkipEvictionCheck: true, Replicas: 1, ReplicaTimeout: 2 * time.Second})
	one := New(rdb, Options{Prefix: "one:", SkipEvictionCheck: true, Replicas: 1, ReplicaTimeout: timeout})
	must(t, acked.Save(ctx, "id", rec))
	replica.Kill()
	for _, op := range []struct {
		name string
		f    func() error
	}{
		{"apply", func() error {
			_, err := one.Apply(ctx, "id", &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour), Set: map[string]any{"n": 1}})
			return err
		}},
		{"update", func() error {
			_, err := one.Update(ctx, "id", "n", func(any, bool) (any, error) { return 2, nil })
			return err
		}},
		{"deny", func() error { _, err := one.Deny(ctx, "alice", "x", false, now.Add(time.Hour)); return err }},
		{"delete", func() error { _, err := one.Delete(ctx, "id"); return err }},
		{"create", func() error {
			anon := *rec
			anon.User = ""
			return one.Create(ctx, "new-id", &anon)
		}},
	} {
		if err := op.f(); !errors.Is(err, ErrNotReplicated) {
			t.Errorf("%s with the replica down = %v, want ErrNotReplicated", op.name, err)
		}
	}
	replica.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := acked.Deny(ctx, "alice", "y", false, now.Add(time.Hour))
		if err == nil {
			break
		}
		if !errors.Is(err, ErrNotReplicated) || time.Now().After(deadline) {
			t.Fatalf("Deny once the replica is back = %v", err)
		}
	}
}

// TestReplicasNeedsAClient checks that New refuses Replicas where WAIT
// cannot follow the writes on their connection, and settings that cannot
// work.
func TestReplicasNeedsAClient(t *testing.T) {
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	slow := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ReadTimeout: 500 * time.Millisecond})
	for _, c := range []interface{ Close() error }{cluster, ring, client, slow} {
		t.Cleanup(func() { c.Close() })
	}
	for _, tt := range []struct {
		name   string
		client redis.UniversalClient
		opts   Options
		panic  string // "" if New must not panic
	}{
		{"a Cluster", cluster, Options{Replicas: 1}, "needs a *redis.Client"},
		{"a Ring", ring, Options{Replicas: 1}, "needs a *redis.Client"},
		{"negative Replicas", client, Options{Replicas: -1}, "Replicas is -1"},
		{"negative ReplicaTimeout", client, Options{Replicas: 1, ReplicaTimeout: -time.Second}, "ReplicaTimeout is -1s"},
		{"ReplicaTimeout not below ReadTimeout", slow, Options{Replicas: 1}, "not below the client's ReadTimeout"},
		{"a client", client, Options{Replicas: 1}, ""},
		{"a Cluster without Replicas", cluster, Options{}, ""},
	} {
		var got string
		func() {
			defer func() {
				if r := recover(); r != nil {
					got = fmt.Sprint(r)
				}
			}()
			New(tt.client, tt.opts)
		}()
		switch {
		case tt.panic == "" && got != "":
			t.Errorf("%s: New panicked: %s", tt.name, got)
		case tt.panic != "" && !strings.Contains(got, tt.panic):
			t.Errorf("%s: New panicked with %q, want %q", tt.name, got, tt.panic)
		case tt.panic != "" && !strings.HasPrefix(got, "redisstore: "):
			t.Errorf("%s: panic %q lacks the redisstore: prefix", tt.name, got)
		}
	}
}
