package redisstore

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame"
)

// TestRevocationMarks checks the mark hash on the keys: its fields, its
// TTL at the latest time it holds, the pruning of what expired, and the
// upgrade from the previous version's string marks, which is never a
// dropped revocation.
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
	get := func(user string) sesame.Revocation {
		t.Helper()
		r, err := st.Revocation(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// A mark and denied IDs: the key expires with the latest of them.
	st.SetRevocation(ctx, "alice", sesame.Revocation{Before: now, Keep: "k1", Expires: now.Add(time.Hour)})
	st.Deny(ctx, "alice", "s1", now.Add(2*time.Hour))
	st.Deny(ctx, "alice", "s2", now.Add(150*time.Millisecond))
	h := rdb.HGetAll(ctx, st.markKey("alice")).Val()
	if len(h) != 5 || h["k"] != "k1" || h["d:s1"] != ms(now.Add(2*time.Hour)) {
		t.Errorf("mark hash = %v, want b, k, x, d:s1 and d:s2", h)
	}
	if got := expireTime(st.markKey("alice")); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("mark expires at %v, want the latest denied ID's %v", got, now.Add(2*time.Hour))
	}
	// SetRevocation keeps the denied IDs; an expired one is no longer
	// returned, and goes at the next write.
	time.Sleep(200 * time.Millisecond)
	if r := get("alice"); len(r.Denied) != 1 || r.Denied["s1"].IsZero() || r.Keep != "k1" {
		t.Errorf("Revocation after s2 expired = %+v, want k1 and s1 only", r)
	}
	st.SetRevocation(ctx, "alice", sesame.Revocation{Before: now.Add(time.Second), Expires: now.Add(3 * time.Hour)})
	h = rdb.HGetAll(ctx, st.markKey("alice")).Val()
	if _, ok := h["d:s2"]; ok || h["d:s1"] == "" || h["k"] != "" {
		t.Errorf("mark hash after SetRevocation = %v, want d:s1 kept, d:s2 pruned, no keep", h)
	}
	if got := expireTime(st.markKey("alice")); !got.Equal(now.Add(3 * time.Hour)) {
		t.Errorf("mark expires at %v, want the new mark's %v", got, now.Add(3*time.Hour))
	}
	// A mark that has expired goes, its denied IDs stay.
	st.SetRevocation(ctx, "alice", sesame.Revocation{Before: now, Expires: now.Add(-time.Second)})
	if r := get("alice"); !r.Before.IsZero() || len(r.Denied) != 1 {
		t.Errorf("Revocation after an expired mark = %+v, want no mark, s1 denied", r)
	}
	// Nothing left: no key.
	st.Deny(ctx, "bob", "b1", now.Add(-time.Second))
	if n := rdb.Exists(ctx, st.markKey("bob")).Val(); n != 0 {
		t.Error("a mark holding only expired times is kept")
	}

	// The previous version's mark: a string "before expires keep".
	legacy := func(user, keep string) {
		t.Helper()
		v := ms(now) + " " + ms(now.Add(time.Hour)) + " " + keep
		if err := rdb.Set(ctx, st.markKey(user), v, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	legacy("carol", "kc")
	if r := get("carol"); !r.Before.Equal(now) || r.Keep != "kc" || !r.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("Revocation of a legacy mark = %+v, want it read", r)
	}
	if err := st.Deny(ctx, "carol", "c1", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if typ := rdb.Type(ctx, st.markKey("carol")).Val(); typ != "hash" {
		t.Errorf("legacy mark after Deny is a %s, want converted to a hash", typ)
	}
	if r := get("carol"); !r.Before.Equal(now) || r.Keep != "kc" || r.Denied["c1"].IsZero() {
		t.Errorf("Revocation after Deny on a legacy mark = %+v, want the old mark kept and c1 denied", r)
	}
	legacy("dave", "") // no keep
	if err := st.SetRevocation(ctx, "dave", sesame.Revocation{Before: now.Add(time.Second), Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if r := get("dave"); !r.Before.Equal(now.Add(time.Second)) || r.Keep != "" {
		t.Errorf("Revocation after SetRevocation on a legacy mark = %+v, want the new mark", r)
	}
	legacy("erin", "")
	if err := st.Deny(ctx, "erin", "e1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := get("erin"); !r.Before.Equal(now) || r.Keep != "" || len(r.Denied) != 1 {
		t.Errorf("Revocation after Deny on a legacy mark without keep = %+v", r)
	}
}
