package redisstore

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesame-go/sesame/driver"
)

// TestPlainDeltaKeepsApplyToSemantics checks the script of plain deltas
// (setScript) on the keys: it sets the fields, caps the expiry at the
// record's deadline, in the hash and in the key's TTL, and refuses a
// forward pointer, a tombstone and an expired record as the general script
// does.
func TestPlainDeltaKeepsApplyToSemantics(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testPlainDelta(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testPlainDelta(t, cluster(t)) })
}

func testPlainDelta(t *testing.T, rdb redis.UniversalClient) {
	st := testStore(t, rdb)
	ctx := t.Context()
	now := time.Now()
	deadline := now.Add(time.Hour)
	must(t, st.Save(ctx, "id", &driver.Record{User: "alice", Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
		Expires: now.Add(time.Minute), Deadline: deadline}))
	persist := true
	d := &driver.Delta{Set: map[string]any{"b": "two"}, Persist: &persist, LastSeen: now, Expires: now.Add(2 * time.Hour)}
	if !plainDelta(d) {
		t.Fatal("a delta that sets a value and the persist flag is not plain")
	}
	if _, err := st.Apply(ctx, "id", d); err != nil {
		t.Fatal(err)
	}
	rec, err := st.Load(ctx, "id")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := rec.Values["b"].(json.RawMessage); string(b) != `"two"` {
		t.Errorf("b = %v, want two", rec.Values["b"])
	}
	if rec.User != "alice" || !rec.Persist || len(rec.Values) != 2 {
		t.Errorf("after the delta: user %q, persist %v, %d values; want alice, true, 2", rec.User, rec.Persist, len(rec.Values))
	}
	if !rec.Expires.Equal(time.UnixMilli(deadline.UnixMilli())) {
		t.Errorf("expires %v, want the deadline %v", rec.Expires, deadline)
	}
	if ttl, err := rdb.PExpireTime(ctx, st.sessionKey("id")).Result(); err != nil || ttl.Milliseconds() != deadline.UnixMilli() {
		t.Errorf("PEXPIRETIME = %v, %v; want the deadline %d", ttl.Milliseconds(), err, deadline.UnixMilli())
	}

	// A renewal leaves a forward pointer under the old ID; a Delete, a
	// tombstone under the new one.
	must(t, st.Renew(ctx, "id", "next", &driver.Delta{LastSeen: now, Expires: now.Add(time.Minute)}))
	if _, err := st.Apply(ctx, "id", d); !errors.Is(err, driver.ErrRenewed) {
		t.Errorf("a plain delta to a renewed-away ID: %v, want ErrRenewed", err)
	}
	if _, err := st.Delete(ctx, "next"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"next", "never"} {
		if _, err := st.Apply(ctx, id, d); !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrRenewed) {
			t.Errorf("a plain delta to %s: %v, want ErrNotFound only", id, err)
		}
		if n := rdb.HExists(ctx, st.sessionKey(id), "v:b").Val(); n {
			t.Errorf("a plain delta to %s wrote its value", id)
		}
	}
}
