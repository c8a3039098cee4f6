package redisstore

import (
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/testenv"
)

// TestRevocationMarks checks the mark hash on the keys: its fields, the
// count of denied IDs, its TTL at the latest time it was given, what
// SetRevocation drops and keeps, and the marks of the previous versions
// (a hash without the count, with "d:" fields, and before it a string),
// which are read and written without dropping a revocation.
func TestRevocationMarks(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testMarks(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testMarks(t, cluster(t)) })
}

func testMarks(t *testing.T, rdb redis.UniversalClient) {
	st := testStore(t, rdb)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	expireTime := func(key string) time.Time {
		t.Helper()
		d, err := rdb.PExpireTime(ctx, key).Result()
		if err != nil || d < 0 {
			t.Fatalf("PEXPIRETIME %s = %v, %v: every key must have a TTL", key, d, err)
		}
		return time.UnixMilli(d.Milliseconds())
	}
	get := func(user string, ids ...string) driver.Revocation {
		t.Helper()
		r, err := st.Revocation(ctx, user, ids...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	deny := func(user, id string, renewed bool, until time.Time) {
		t.Helper()
		if ok, err := st.Deny(ctx, user, id, renewed, until); err != nil || !ok {
			t.Fatalf("Deny(%s, %s) = %v, %v; want true", user, id, ok, err)
		}
	}
	hash := func(user string) map[string]string {
		t.Helper()
		return rdb.HGetAll(ctx, st.markKey(user)).Val()
	}

	// A mark, a revoked ID and one renewed away, each its own field; the
	// key expires with the latest time it was given, and an earlier one
	// does not bring that back.
	must(t, st.SetRevocation(ctx, "alice", driver.Revocation{Before: now, Keep: "k1", Expires: now.Add(time.Hour)}))
	deny("alice", "s1", false, now.Add(2*time.Hour))
	deny("alice", "s2", true, now.Add(30*time.Minute))
	want := map[string]string{"b": ms(now), "k": "k1", "x": ms(now.Add(time.Hour)), "c": "2",
		"d:s1": ms(now.Add(2 * time.Hour)), "r:s2": ms(now.Add(30 * time.Minute))}
	if h := hash("alice"); !maps.Equal(h, want) {
		t.Errorf("mark hash = %v, want %v", h, want)
	}
	if got := expireTime(st.markKey("alice")); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("mark expires at %v, want the latest denial's %v", got, now.Add(2*time.Hour))
	}
	r := get("alice", "s1", "s2", "s3", "k1")
	if !r.Before.Equal(now) || r.Keep != "k1" || !maps.Equal(r.Denied, map[string]bool{"s1": false, "s2": true}) {
		t.Errorf("Revocation(s1, s2, s3, k1) = %+v, want the mark, s1 revoked and s2 renewed away", r)
	}
	if r := get("alice"); len(r.Denied) != 0 || r.Keep != "k1" {
		t.Errorf("Revocation with no ID = %+v, want the mark alone", r)
	}

	// Denying again merges: revoked wins over renewed, the later expiry
	// stays, one field remains, and the count does not move.
	deny("alice", "s2", false, now.Add(10*time.Minute))
	deny("alice", "s1", true, now.Add(time.Minute))
	h := hash("alice")
	if _, ok := h["r:s2"]; ok || h["d:s2"] != ms(now.Add(30*time.Minute)) || h["d:s1"] != ms(now.Add(2*time.Hour)) || h["c"] != "2" {
		t.Errorf("after denying s2 as revoked and s1 as renewed: %v; want d:s1 and d:s2 at their later expiry, c 2", h)
	}
	if got := expireTime(st.markKey("alice")); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("an earlier Deny moved the mark's expiry to %v", got)
	}

	// An entry past its expiry, still in the hash, reads as absent; a
	// Deny already expired adds nothing.
	rdb.HSet(ctx, st.markKey("alice"), "d:old", ms(now.Add(-time.Second)))
	deny("alice", "gone", false, now.Add(-time.Second))
	if r := get("alice", "old", "gone"); len(r.Denied) != 0 {
		t.Errorf("expired denials read as %v, want none", r.Denied)
	}
	if _, ok := hash("alice")["d:gone"]; ok {
		t.Error("a Deny already expired wrote its entry")
	}

	// At the limit, a Deny adds nothing, not even for an ID denied
	// already.
	rdb.HSet(ctx, st.markKey("alice"), "c", driver.MaxDenied)
	if ok, err := st.Deny(ctx, "alice", "s1", false, now.Add(3*time.Hour)); ok || err != nil {
		t.Errorf("Deny at the limit = %v, %v; want false, nil", ok, err)
	}
	if h := hash("alice"); h["d:s1"] != ms(now.Add(2*time.Hour)) {
		t.Errorf("a refused Deny changed the entry: %v", h)
	}

	// SetRevocation drops every denial but Keep's, and starts the count
	// again; the key expires with the later of the mark and that denial.
	must(t, st.SetRevocation(ctx, "alice", driver.Revocation{Before: now.Add(time.Second), Keep: "s1", Expires: now.Add(90 * time.Minute)}))
	want = map[string]string{"b": ms(now.Add(time.Second)), "k": "s1", "x": ms(now.Add(90 * time.Minute)), "c": "0",
		"d:s1": ms(now.Add(2 * time.Hour))}
	if h := hash("alice"); !maps.Equal(h, want) {
		t.Errorf("mark hash after SetRevocation keeping s1 = %v, want %v", h, want)
	}
	if got := expireTime(st.markKey("alice")); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("mark expires at %v, want Keep's denial's %v", got, now.Add(2*time.Hour))
	}
	must(t, st.SetRevocation(ctx, "alice", driver.Revocation{Before: now.Add(2 * time.Second), Expires: now.Add(time.Hour)}))
	if h := hash("alice"); len(h) != 4 {
		t.Errorf("mark hash after SetRevocation without keep = %v, want b, k, x and c", h)
	}
	if got := expireTime(st.markKey("alice")); !got.Equal(now.Add(time.Hour)) {
		t.Errorf("mark expires at %v, want the mark's %v", got, now.Add(time.Hour))
	}
	// A mark that has expired, with nothing kept: no key.
	must(t, st.SetRevocation(ctx, "alice", driver.Revocation{Before: now, Expires: now.Add(-time.Second)}))
	if n := rdb.Exists(ctx, st.markKey("alice")).Val(); n != 0 {
		t.Errorf("an expired mark keeps its key: %v", hash("alice"))
	}

	// The previous version's hash: b, k, x and "d:"+ID holding the
	// expiry, no count. Its denials read as revoked, its TTL stays, and
	// its IDs count towards MaxDenied.
	rdb.HSet(ctx, st.markKey("frank"), "b", ms(now), "k", "kf", "x", ms(now.Add(time.Hour)),
		"d:f1", ms(now.Add(3*time.Hour)), "d:f2", ms(now.Add(time.Hour)))
	rdb.PExpireAt(ctx, st.markKey("frank"), now.Add(3*time.Hour))
	if r := get("frank", "f1", "f2", "f3"); !r.Before.Equal(now) || r.Keep != "kf" || !maps.Equal(r.Denied, map[string]bool{"f1": false, "f2": false}) {
		t.Errorf("Revocation of a previous version's hash = %+v, want its mark and f1, f2 revoked", r)
	}
	deny("frank", "f3", true, now.Add(time.Hour))
	if h := hash("frank"); h["c"] != "3" || h["r:f3"] == "" {
		t.Errorf("Deny on a previous version's hash: %v; want c 3 (its 2 IDs and f3) and r:f3", h)
	}
	if got := expireTime(st.markKey("frank")); !got.Equal(now.Add(3 * time.Hour)) {
		t.Errorf("Deny on a previous version's hash moved its expiry to %v, want %v", got, now.Add(3*time.Hour))
	}

	// The string mark of the version before: "before expires keep".
	legacy := func(user, keep string) {
		t.Helper()
		v := ms(now) + " " + ms(now.Add(time.Hour)) + " " + keep
		if err := rdb.Set(ctx, st.markKey(user), v, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	legacy("carol", "kc")
	if r := get("carol", "c1"); !r.Before.Equal(now) || r.Keep != "kc" || !r.Expires.Equal(now.Add(time.Hour)) || len(r.Denied) != 0 {
		t.Errorf("Revocation of a string mark = %+v, want it read", r)
	}
	deny("carol", "c1", false, now.Add(2*time.Hour))
	if typ := rdb.Type(ctx, st.markKey("carol")).Val(); typ != "hash" {
		t.Errorf("string mark after Deny is a %s, want converted to a hash", typ)
	}
	if r := get("carol", "c1"); !r.Before.Equal(now) || r.Keep != "kc" || !maps.Equal(r.Denied, map[string]bool{"c1": false}) {
		t.Errorf("Revocation after Deny on a string mark = %+v, want the old mark kept and c1 revoked", r)
	}
	if got := expireTime(st.markKey("carol")); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("converted mark expires at %v, want %v", got, now.Add(2*time.Hour))
	}
	legacy("dave", "")
	if err := st.SetRevocation(ctx, "dave", driver.Revocation{Before: now.Add(time.Second), Keep: "kd", Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if r := get("dave", "kd"); !r.Before.Equal(now.Add(time.Second)) || r.Keep != "kd" || len(r.Denied) != 0 {
		t.Errorf("Revocation after SetRevocation on a string mark = %+v, want the new mark", r)
	}
	legacy("erin", "")
	deny("erin", "e1", true, now.Add(30*time.Minute))
	if r := get("erin", "e1"); !r.Before.Equal(now) || r.Keep != "" || !maps.Equal(r.Denied, map[string]bool{"e1": true}) {
		t.Errorf("Revocation after Deny on a string mark without keep = %+v", r)
	}
	if got := expireTime(st.markKey("erin")); !got.Equal(now.Add(time.Hour)) {
		t.Errorf("converted mark expires at %v, want the string mark's %v", got, now.Add(time.Hour))
	}
}

// legacyDenied writes, as the previous version's Denys did, a mark hash
// for user with n fields "d:"+ID, each holding an expiry an hour away, in
// pipelines of HSETs (a Deny can no longer grow a list past
// driver.MaxDenied), and returns the IDs' prefix: ID i is prefix+i.
func legacyDenied(tb testing.TB, rdb redis.UniversalClient, st *Store, user string, n int) string {
	tb.Helper()
	ctx := tb.Context()
	key := st.markKey(user)
	until := ms(time.Now().Add(time.Hour))
	const chunk = 5000
	for lo := 0; lo < n; lo += chunk {
		args := make([]any, 0, 2*chunk)
		for i := lo; i < min(lo+chunk, n); i++ {
			args = append(args, deniedPrefix+"legacy-"+strconv.Itoa(i), until)
		}
		if err := rdb.HSet(ctx, key, args...).Err(); err != nil {
			tb.Fatal(err)
		}
	}
	if err := rdb.PExpireAt(ctx, key, time.Now().Add(time.Hour)).Err(); err != nil {
		tb.Fatal(err)
	}
	return "legacy-"
}

// TestRevocationCostIsConstant checks, on the server's own clock, that no
// command of a Revocation, a Deny or a SetRevocation takes longer with a
// user who has 100,000 denied IDs, as the previous version's Denys could
// leave behind, than 10 ms: the previous version read (and
// wrote) the whole list, 35 ms per read at 20,000. It runs on a server of
// its own, which logs every command's duration in its slow log.
func TestRevocationCostIsConstant(t *testing.T) {
	srv := testenv.StartRedis(t, false, "--slowlog-log-slower-than", "0", "--slowlog-max-len", "1024")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	st := New(rdb, Options{})
	ctx := t.Context()
	const n = 100000
	prefix := legacyDenied(t, rdb, st, "alice", n)
	if err := st.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	// slowest runs f and returns the slowest command it sent, as the
	// server timed it.
	slowest := func(f func()) redis.SlowLog {
		t.Helper()
		if err := rdb.SlowLogReset(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		f()
		logs, err := rdb.SlowLogGet(ctx, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		var top redis.SlowLog
		for _, l := range logs {
			if len(l.Args) > 0 && l.Args[0] != "SLOWLOG" && l.Args[0] != "slowlog" && l.Duration > top.Duration {
				top = l
			}
		}
		return top
	}
	const limit = 10 * time.Millisecond // the previous version: HGETALL 40 ms, Deny 120 ms
	until := time.Now().Add(time.Hour)
	for _, tt := range []struct {
		name string
		f    func() error
	}{
		{"Revocation of 2 IDs", func() error {
			r, err := st.Revocation(ctx, "alice", prefix+"7", "fresh")
			if err == nil && !maps.Equal(r.Denied, map[string]bool{prefix + "7": false}) {
				err = fmt.Errorf("Denied = %v, want %s7 revoked", r.Denied, prefix)
			}
			return err
		}},
		{"Revocation of no ID", func() error { _, err := st.Revocation(ctx, "alice"); return err }},
		{"Deny (refused: the list is past MaxDenied)", func() error {
			ok, err := st.Deny(ctx, "alice", "one-more", false, until)
			if err == nil && ok {
				err = fmt.Errorf("Deny added an ID to a list of %d", n)
			}
			return err
		}},
		{"SetRevocation (drops the list)", func() error {
			return st.SetRevocation(ctx, "alice", driver.Revocation{Before: time.Now(), Expires: until})
		}},
		{"Deny after the mark", func() error {
			ok, err := st.Deny(ctx, "alice", "one-more", false, until)
			if err == nil && !ok {
				err = fmt.Errorf("Deny refused after a mark")
			}
			return err
		}},
	} {
		var err error
		start := time.Now()
		top := slowest(func() { err = tt.f() })
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		cmd := "no command"
		if len(top.Args) > 0 {
			cmd = top.Args[0]
		}
		t.Logf("%-45s slowest command: %s, %v on the server; %v in all", tt.name, cmd, top.Duration, elapsed)
		if top.Duration > limit {
			t.Errorf("%s with %d denied IDs: %s took %v on the server, want at most %v: it must not depend on the list's length",
				tt.name, n, cmd, top.Duration, limit)
		}
	}
	if n, _ := rdb.HLen(ctx, st.markKey("alice")).Result(); n != 5 {
		t.Errorf("the mark hash holds %d fields after SetRevocation and a Deny, want 5", n)
	}
}

// BenchmarkRevocation measures the read of a mark asking for 2 IDs, as
// cookiestore's Open does, and a Deny, with 0 and driver.MaxDenied denied
// IDs, and with 100,000 written by the previous version (which a Deny
// refuses to grow): the cost must not depend on the list's length.
func BenchmarkRevocation(b *testing.B) {
	rdb := standalone(b)
	st := testStore(b, rdb)
	ctx := b.Context()
	if err := st.LoadScripts(ctx); err != nil {
		b.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	mark := driver.Revocation{Before: time.Now(), Expires: until}
	for _, tt := range []struct {
		name   string
		user   string
		denied func(user string) string // fills user's list, returns an ID of it
	}{
		{"denied=0", "none", func(user string) string {
			must(b, st.SetRevocation(ctx, user, mark))
			return "absent"
		}},
		{fmt.Sprintf("denied=%d", driver.MaxDenied), "full", func(user string) string {
			must(b, st.SetRevocation(ctx, user, mark))
			for i := range driver.MaxDenied {
				if ok, err := st.Deny(ctx, user, fmt.Sprint("id-", i), i%2 == 0, until); err != nil || !ok {
					b.Fatalf("Deny %d = %v, %v", i, ok, err)
				}
			}
			return "id-7"
		}},
		{"legacy-denied=100000", "legacy", func(user string) string {
			return legacyDenied(b, rdb, st, user, 100000) + "7"
		}},
	} {
		id := tt.denied(tt.user)
		b.Run("read/"+tt.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := st.Revocation(ctx, tt.user, id, "other"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("deny/"+tt.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := st.Deny(ctx, tt.user, id, false, until); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
