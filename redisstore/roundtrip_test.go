package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
)

// roundTrips is a go-redis hook that counts round trips: each command and
// each pipeline sent is one. go-redis sets up each new connection (HELLO,
// CLIENT SETINFO...) through the hooks too; that is not counted, since when
// the pool opens a connection is up to go-redis, not to the store, which
// never sends these commands itself.
type roundTrips struct{ n atomic.Int64 }

func setup(cmds ...redis.Cmder) bool {
	for _, c := range cmds {
		if n := c.Name(); n != "hello" && n != "client" {
			return false
		}
	}
	return true
}

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !setup(cmd) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !setup(cmds...) {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// during returns how many round trips f costs.
func (c *roundTrips) during(f func()) int64 {
	before := c.n.Load()
	f()
	return c.n.Load() - before
}

// TestRoundTrips counts the round trips of requests through a Manager's
// middleware, and of revoking all of a user's sessions. On a Cluster the
// hook sees a pipeline once, as on a standalone server, though its parts go
// to their nodes in parallel; the counts are asserted on both.
func TestRoundTrips(t *testing.T) {
	// Each gets a client of its own, for the hook.
	t.Run("standalone", func(t *testing.T) { testRoundTrips(t, redis.NewClient(standalone(t).Options())) })
	t.Run("cluster", func(t *testing.T) { testRoundTrips(t, redis.NewClusterClient(cluster(t).Options())) })
}

func testRoundTrips(t *testing.T, rdb redis.UniversalClient) {
	t.Cleanup(func() { rdb.Close() })
	rt := &roundTrips{}
	rdb.AddHook(rt)
	st := testStore(t, rdb)
	if err := st.LoadScripts(t.Context()); err != nil { // no NOSCRIPT fallback below
		t.Fatal(err)
	}
	m := sesame.New(sesame.Config{Store: st, Insecure: true})
	touchy := sesame.New(sesame.Config{Store: st, Insecure: true, TouchInterval: -1})

	c := sesametest.NewClient(t, m)
	c.Put("n", 1)
	tc := &sesametest.Client{Test: t, Manager: touchy, Cookie: c.Cookie}
	fresh := sesametest.NewClient(t, m)
	renewing := sesametest.NewClient(t, m)
	renewing.Put("n", 1)
	newcomer := sesametest.NewClient(t, m)
	flash := sesametest.NewClient(t, m)
	flash.Put("flash", "saved")
	leaving := sesametest.NewClient(t, m)
	leavingID := leaving.Login("rt-leaving")
	capped := sesame.New(sesame.Config{Store: st, Insecure: true, MaxSessionsPerUser: 1})
	refusing := sesame.New(sesame.Config{Store: st, Insecure: true, MaxSessionsPerUser: 1, CapPolicy: sesame.CapRefuse})
	capFirst, capSecond, capThird := sesametest.NewClient(t, capped), sesametest.NewClient(t, capped), sesametest.NewClient(t, refusing)
	for _, c := range []*sesametest.Client{capFirst, capSecond, capThird} {
		c.Put("n", 1)
	}
	login := func(c *sesametest.Client, user string) func() {
		return func() {
			c.Session(func(s *sesame.Session) {
				mustGet(t, s, "n")
				if err := s.Login(user); err != nil {
					t.Error(err)
				}
			})
		}
	}

	for _, tt := range []struct {
		name string
		want int64
		f    func()
	}{
		{"untouched request", 0, func() {
			c.Do(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) })
		}},
		{"read of an existing session", 1, func() {
			c.Session(func(s *sesame.Session) { mustGet(t, s, "n") })
		}},
		{"new session", 1, func() { fresh.Put("k", "v") }},
		{"blind write (Put only)", 1, func() { c.Put("other", true) }},
		{"read-modify-write (Get then Put)", 2, func() {
			c.Session(func(s *sesame.Session) { s.Put("n", mustGet(t, s, "n")+1) })
		}},
		{"read due an idle touch (TouchInterval -1)", 2, func() {
			tc.Session(func(s *sesame.Session) { mustGet(t, s, "n") })
		}},
		{"Login of a read session (Renew: 1 + 2)", 3, func() {
			renewing.Session(func(s *sesame.Session) {
				mustGet(t, s, "n")
				if err := s.Login("rt-alice"); err != nil {
					t.Error(err)
				}
			})
		}},
		{"Renew of a read logged-in session (1 + 3)", 4, func() {
			renewing.Session(func(s *sesame.Session) {
				mustGet(t, s, "n")
				if err := s.Renew(); err != nil {
					t.Error(err)
				}
			})
		}},
		{"Login of a new session (no cookie)", 1, func() {
			newcomer.Session(func(s *sesame.Session) {
				if err := s.Login("rt-bob"); err != nil {
					t.Error(err)
				}
			})
		}},
		{"Apply that empties (Pop of the last value)", 2, func() {
			flash.Session(func(s *sesame.Session) { sesame.Pop[string](s, "flash") })
		}},
		{"Destroy of a logged-in session (read + 2)", 3, func() {
			leaving.Session(func(s *sesame.Session) { s.Destroy() })
		}},
		{"Update of a stored session (read + 2)", 3, func() {
			c.Session(func(s *sesame.Session) {
				if _, err := sesame.Update(s, "n", func(n int) (int, error) { return n + 1, nil }); err != nil {
					t.Error(err)
				}
			})
		}},
		{"Login under a cap, below it (1 + 2 + 2)", 5, login(capFirst, "rt-carol")},
		{"Login under a cap, evicting (1 + 2 + 5)", 8, login(capSecond, "rt-carol")},
		{"Login under a cap, refused (1 + 2 + 5)", 8, func() {
			resp := capThird.Do(func(w http.ResponseWriter, r *http.Request) {
				s := sesame.FromContext(r.Context())
				mustGet(t, s, "n")
				s.Login("rt-carol")
			})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("Login over a cap with CapRefuse: status %d, want 403", resp.StatusCode)
			}
		}},
	} {
		got := rt.during(tt.f)
		t.Logf("%-45s %d round trip(s)", tt.name, got)
		if got != tt.want {
			t.Errorf("%s: %d round trips, want %d", tt.name, got, tt.want)
		}
	}
	if list, err := st.Sessions(t.Context(), "rt-alice"); err != nil || len(list) != 1 || renewing.Cookie == "" {
		t.Errorf("after Login and Renew: Sessions(rt-alice) = %d sessions, %v; want the renewed one", len(list), err)
	}
	if flash.Cookie != "" {
		t.Error("the emptied session kept its cookie")
	}
	if _, err := st.Load(t.Context(), leavingID); err == nil {
		t.Error("the destroyed session is still live")
	}
	if capFirst.User() != "" || capSecond.User() != "rt-carol" || capThird.User() != "" {
		t.Errorf("under a cap of 1, the logins left users %q, %q, %q; want the second alone logged in",
			capFirst.User(), capSecond.User(), capThird.User())
	}
	if c.Cookie == "" || fresh.Cookie == "" || tc.Cookie != c.Cookie {
		t.Fatal("the clients lost their sessions")
	}

	// The store's operations one by one, as docs/internals/redisstore.md
	// lists them ("Round trips, operation by operation").
	ctx := t.Context()
	now := time.Now()
	rec := func(user string) *driver.Record {
		return &driver.Record{User: user, Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
			Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}
	}
	touch := func() *driver.Delta { return &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour)} }
	withUser := func(u string) *driver.Delta { d := touch(); d.User = &u; return d }
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Error(err)
		}
	}
	apply := func(id string, d *driver.Delta) { _, err := st.Apply(ctx, id, d); ok(err) }
	for _, id := range []string{"op-anon", "op-anon2", "op-anon3"} {
		ok(st.Save(ctx, id, rec("")))
	}
	for _, id := range []string{"op-a1", "op-a2", "op-a3", "op-a4", "op-a5", "op-r1", "op-r2", "op-d1"} {
		ok(st.Save(ctx, id, rec("op-alice")))
	}
	for _, id := range []string{"op-c1", "op-c2", "op-c3"} {
		ok(st.Save(ctx, id, rec("op-carol")))
	}
	capUser := func(n, wantEnded int, refuse bool) func() {
		return func() {
			ended, err := st.CapUser(ctx, "op-carol", "op-c3", n, refuse)
			ok(err)
			if len(ended) != wantEnded {
				t.Errorf("CapUser(%d, refuse %v) ended %d, want %d", n, refuse, len(ended), wantEnded)
			}
		}
	}
	for _, tt := range []struct {
		name string
		want int64
		f    func()
	}{
		{"Load", 1, func() { _, err := st.Load(ctx, "op-a1"); ok(err) }},
		{"Save of a new record with a user", 1, func() { ok(st.Save(ctx, "op-new", rec("op-alice"))) }},
		{"Save over another user's record", 2, func() { ok(st.Save(ctx, "op-new", rec("op-bob"))) }},
		{"Apply (touch)", 1, func() { apply("op-a1", touch()) }},
		{"Apply setting the user to \"\"", 2, func() { apply("op-a2", withUser("")) }},
		{"Apply setting the same user", 2, func() { apply("op-a3", withUser("op-alice")) }},
		{"Apply setting a user (from none)", 3, func() { apply("op-anon", withUser("op-alice")) }},
		{"Apply changing the user", 4, func() { apply("op-a4", withUser("op-bob")) }},
		{"Apply setting a deadline", 3, func() { d := touch(); d.Deadline = now.Add(2 * time.Hour); apply("op-a5", d) }},
		{"Renew with the Manager's delta (2 + unindex the old ID)", 3, func() {
			u := "op-alice"
			ok(st.Renew(ctx, "op-r1", "op-r1b", &driver.Delta{User: &u, Deadline: now.Add(time.Hour), LastSeen: now, Expires: now.Add(time.Hour)}))
		}},
		{"Renew without user or deadline (3 + unindex)", 4, func() { ok(st.Renew(ctx, "op-r2", "op-r2b", touch())) }},
		{"Renew of an anonymous session, Manager's delta", 2, func() {
			u := ""
			ok(st.Renew(ctx, "op-anon3", "op-anon3b", &driver.Delta{User: &u, Deadline: now.Add(time.Hour), LastSeen: now, Expires: now.Add(time.Hour)}))
		}},
		{"Renew of a renewed ID (refused)", 2, func() {
			u := "op-alice"
			err := st.Renew(ctx, "op-r1", "op-r1c", &driver.Delta{User: &u, Deadline: now.Add(time.Hour), LastSeen: now, Expires: now.Add(time.Hour)})
			if !errors.Is(err, driver.ErrRenewed) {
				t.Errorf("Renew of a renewed ID = %v, want ErrRenewed", err)
			}
		}},
		{"Delete of an anonymous session", 1, func() { _, err := st.Delete(ctx, "op-anon2"); ok(err) }},
		{"Delete of a session with a user", 2, func() { _, err := st.Delete(ctx, "op-d1"); ok(err) }},
		{"Delete of a renewed ID (one hop)", 3, func() { _, err := st.Delete(ctx, "op-r2"); ok(err) }},
		{"DeleteUser of a user without sessions", 1, func() { _, err := st.DeleteUser(ctx, "op-nobody", ""); ok(err) }},
		{"SetRevocation", 1, func() {
			ok(st.SetRevocation(ctx, "op-alice", driver.Revocation{Before: now, Expires: now.Add(time.Hour)}))
		}},
		{"Deny", 1, func() { _, err := st.Deny(ctx, "op-alice", "op-a1", false, now.Add(time.Hour)); ok(err) }},
		{"Revocation of 2 IDs", 1, func() { _, err := st.Revocation(ctx, "op-alice", "op-a1", "op-a2"); ok(err) }},
		{"Update (read + compare-and-swap)", 2, func() {
			_, err := st.Update(ctx, "op-a1", "a", func(any, bool) (any, error) { return 2, nil })
			ok(err)
		}},
		{"CapUser at the cap (list)", 2, capUser(3, 0, false)},
		{"CapUser ending one (list + decide + Delete)", 5, capUser(2, 1, false)},
		{"CapUser refusing keep (list + decide + Delete)", 5, capUser(1, 1, true)},
	} {
		got := rt.during(tt.f)
		t.Logf("%-45s %d round trip(s)", tt.name, got)
		if got != tt.want {
			t.Errorf("%s: %d round trips, want %d", tt.name, got, tt.want)
		}
	}

	// Listing and revoking all of a user's k sessions cost the same for
	// k = 2 and k = 20, and whatever the other sessions in the store:
	// revoking reads the index, deletes, then removes from the index what
	// it deleted.
	for _, k := range []int{2, 20} {
		user := fmt.Sprintf("user-%d", k)
		for range k {
			sesametest.NewClient(t, m).Login(user)
			sesametest.NewClient(t, m).Login("bystander") // more sessions in the store
		}
		var list []driver.Info
		var err error
		got := rt.during(func() { list, err = m.Sessions(t.Context(), user) })
		if err != nil || len(list) != k {
			t.Fatalf("Sessions(%s) = %d sessions, %v; want %d", user, len(list), err, k)
		}
		t.Logf("%-45s %d round trip(s)", fmt.Sprintf("Sessions listing %d sessions", k), got)
		if got != 2 {
			t.Errorf("listing %d sessions: %d round trips, want 2", k, got)
		}
		var n int
		got = rt.during(func() { n, err = m.RevokeAll(t.Context(), user, "") })
		if err != nil || n != k {
			t.Fatalf("RevokeAll(%s) = %d, %v; want %d", user, n, err, k)
		}
		t.Logf("%-45s %d round trip(s)", fmt.Sprintf("RevokeAll of %d sessions", k), got)
		if got != 3 {
			t.Errorf("revoking %d sessions: %d round trips, want 3", k, got)
		}
	}
	list, err := st.Sessions(t.Context(), "bystander")
	if err != nil || len(list) != 22 {
		t.Errorf("bystander has %d sessions (%v), want 22 untouched", len(list), err)
	}
}

func mustGet(t *testing.T, s *sesame.Session, key string) int {
	t.Helper()
	v, err := sesame.Lookup[int](s, key)
	if err != nil {
		t.Errorf("Lookup(%q): %v", key, err)
	}
	return v
}

// TestUserIndexStaysConsistent checks the index against expiry, user
// changes and stale entries, on the keys themselves.
func TestUserIndexStaysConsistent(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testIndex(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testIndex(t, cluster(t)) })
}

func testIndex(t *testing.T, rdb redis.UniversalClient) {
	st := testStore(t, rdb)
	ctx := t.Context()
	now := time.Now()
	rec := func(user string, expires, deadline time.Duration) *driver.Record {
		return &driver.Record{User: user, Values: map[string]any{"x": 1}, Created: now, LastSeen: now,
			Expires: now.Add(expires), Deadline: now.Add(deadline)}
	}
	expireTime := func(key string) time.Time {
		t.Helper()
		d, err := rdb.PExpireTime(ctx, key).Result()
		if err != nil || d < 0 {
			t.Fatalf("PEXPIRETIME %s = %v, %v", key, d, err)
		}
		return time.UnixMilli(d.Milliseconds())
	}
	near := func(what string, got, want time.Time) {
		t.Helper()
		if d := got.Sub(want).Abs(); d > time.Millisecond {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	card := func(user string) int64 { return rdb.ZCard(ctx, st.userKey(user)).Val() }
	indexed := func(user, id string) bool { return rdb.ZScore(ctx, st.userKey(user), id).Err() == nil }

	// The hash expires at Expires, the index with its latest deadline.
	must(t, st.Save(ctx, "long", rec("alice", time.Hour, 2*time.Hour)))
	must(t, st.Save(ctx, "short", rec("alice", 150*time.Millisecond, 150*time.Millisecond)))
	must(t, st.Save(ctx, "idle", rec("alice", 150*time.Millisecond, time.Hour)))
	near("session expiry", expireTime(st.sessionKey("long")), now.Add(time.Hour))
	near("index expiry", expireTime(st.userKey("alice")), now.Add(2*time.Hour))

	// Apply caps the expiry at the deadline.
	if _, err := st.Apply(ctx, "long", &driver.Delta{LastSeen: now, Expires: now.Add(5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	near("session expiry after Apply", expireTime(st.sessionKey("long")), now.Add(2*time.Hour))

	// Past its deadline a member is pruned; past its idle expiry it is
	// skipped, and stays until its deadline: listing never removes an
	// entry by what it finds in the session key, which may be a write
	// in flight.
	time.Sleep(200 * time.Millisecond)
	if n := card("alice"); n != 3 {
		t.Fatalf("alice's index holds %d members, want 3 before any listing", n)
	}
	list, err := st.Sessions(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].ID != "long" {
		t.Fatalf("Sessions(alice) = %+v, %v; want only long", list, err)
	}
	if indexed("alice", "short") || !indexed("alice", "idle") || card("alice") != 2 {
		t.Errorf("alice's index after listing: short %v, idle %v, %d members; want idle and long only",
			indexed("alice", "short"), indexed("alice", "idle"), card("alice"))
	}

	// A delta that changes the user moves the entry, scored by the deadline.
	bob := "bob"
	if _, err := st.Apply(ctx, "long", &driver.Delta{User: &bob, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if indexed("alice", "long") {
		t.Error("alice's index still lists the session that moved to bob")
	}
	score, err := rdb.ZScore(ctx, st.userKey("bob"), "long").Result()
	if err != nil {
		t.Fatal(err)
	}
	near("bob's index score", time.UnixMilli(int64(score)), now.Add(2*time.Hour))

	// A stale entry never lets a user revoke another user's session.
	rdb.ZAdd(ctx, st.userKey("alice"), redis.Z{Score: float64(now.Add(time.Hour).UnixMilli()), Member: "long"})
	if n, err := st.DeleteUser(ctx, "alice", ""); err != nil || n != 0 {
		t.Errorf("DeleteUser(alice) = %d, %v; want 0 (the session is bob's)", n, err)
	}
	if _, err := st.Load(ctx, "long"); err != nil {
		t.Errorf("bob's session after DeleteUser(alice): %v", err)
	}
	// DeleteUser removes from the index only what it deleted.
	if !indexed("alice", "long") || !indexed("alice", "idle") {
		t.Error("DeleteUser(alice) removed entries of sessions it did not delete")
	}

	// Delete removes the entry; an empty index is gone.
	if _, err := st.Delete(ctx, "long"); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, st.userKey("bob")).Val(); n != 0 {
		t.Error("bob's index outlives his only session")
	}

	// A delta that sets the user of a missing session indexes nothing.
	_, err = st.Apply(ctx, "gone", &driver.Delta{User: &bob, LastSeen: now, Expires: now.Add(time.Hour)})
	if err == nil || card("bob") != 0 {
		t.Errorf("Apply(gone, user bob) = %v, bob's index holds %d; want not found and none", err, card("bob"))
	}

	// A session is never left with a user whose index misses it: make
	// mallory's index unwritable (a string where the sorted set goes).
	rdb.Set(ctx, st.userKey("mallory"), "not a sorted set", time.Minute)
	if err := st.Save(ctx, "m1", rec("mallory", time.Hour, time.Hour)); err == nil {
		t.Error("Save with an unwritable index succeeded")
	}
	if _, err := st.Load(ctx, "m1"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("a session saved without its index entry is kept (Load: %v)", err)
	}
	must(t, st.Save(ctx, "c1", rec("carol", time.Hour, time.Hour)))
	mallory := "mallory"
	if _, err := st.Apply(ctx, "c1", &driver.Delta{User: &mallory, Set: map[string]any{"y": 2}, LastSeen: now, Expires: now.Add(time.Hour)}); err == nil {
		t.Error("Apply moving a session to an unwritable index succeeded")
	}
	if got, err := st.Load(ctx, "c1"); err != nil || got.User != "carol" || got.Values["y"] != nil {
		t.Errorf("after the failed move the session is %+v, %v; want carol's, unchanged", got, err)
	}
}
