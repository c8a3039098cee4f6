package redisstore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// TestMetadataFields checks the fields a (AuthenticatedAt), g and i
// (Device) on the keys, and that a record written before they existed
// still loads, lists, and takes them from a delta; and that Sessions
// lists each session's deadline (field d).
func TestMetadataFields(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testMetadataFields(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testMetadataFields(t, cluster(t)) })
}

func testMetadataFields(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	st := testStore(t, rdb)
	now := time.Now().Truncate(time.Millisecond)
	hash := func(id string) map[string]string { return rdb.HGetAll(ctx, st.sessionKey(id)).Val() }
	check := func(what string, h map[string]string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got, ok := h[k]; !ok || got != v {
				t.Errorf("%s: field %s = %q (present %v), want %q", what, k, got, ok, v)
			}
		}
	}

	rec := &driver.Record{User: "alice", Values: map[string]any{"n": 1}, Created: now, LastSeen: now,
		Expires: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour), AuthenticatedAt: now.Add(-time.Minute),
		Device: driver.Device{UserAgent: "Mozilla/5.0 ☃", IP: "2001:db8::1"}}
	if err := st.Save(ctx, "id", rec); err != nil {
		t.Fatal(err)
	}
	check("after Save", hash("id"), map[string]string{"a": ms(rec.AuthenticatedAt), "g": "Mozilla/5.0 ☃", "i": "2001:db8::1"})

	// A delta that sets neither leaves them; one that sets them writes
	// them, in the same single script.
	if _, err := st.Apply(ctx, "id", &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour), Set: map[string]any{"m": 2}}); err != nil {
		t.Fatal(err)
	}
	check("after a write", hash("id"), map[string]string{"a": ms(rec.AuthenticatedAt), "g": "Mozilla/5.0 ☃", "i": "2001:db8::1"})
	if _, err := st.Apply(ctx, "id", &driver.Delta{LastSeen: now, Expires: now.Add(time.Hour), AuthenticatedAt: now,
		Device: &driver.Device{UserAgent: "curl/8", IP: ""}}); err != nil {
		t.Fatal(err)
	}
	check("after a delta that sets them", hash("id"), map[string]string{"a": ms(now), "g": "curl/8", "i": ""})

	// A record of the previous version: no a, g or i.
	old := map[string]any{"u": "alice", "c": ms(now), "l": ms(now), "d": ms(now.Add(time.Hour)),
		"e": ms(now.Add(time.Hour)), "p": "1", "v:n": "5"}
	rdb.HSet(ctx, st.sessionKey("old"), old)
	rdb.PExpireAt(ctx, st.sessionKey("old"), now.Add(time.Hour))
	rdb.ZAdd(ctx, st.userKey("alice"), redis.Z{Score: float64(now.Add(time.Hour).UnixMilli()), Member: "old"})
	got, err := st.Load(ctx, "old")
	if err != nil {
		t.Fatalf("Load of a record without the new fields: %v", err)
	}
	if !got.AuthenticatedAt.IsZero() || got.Device != (driver.Device{}) || got.User != "alice" || !got.Persist ||
		string(got.Values["n"].(json.RawMessage)) != "5" || !got.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("the old record loads as %+v, want its fields and a zero AuthenticatedAt and Device", got)
	}
	list, err := st.Sessions(ctx, "alice")
	if err != nil || len(list) != 2 {
		t.Fatalf("Sessions = %+v, %v; want both", list, err)
	}
	for _, in := range list {
		want := driver.Info{ID: "id", User: "alice", Created: now, LastSeen: now, Expires: now.Add(time.Hour),
			Deadline: now.Add(2 * time.Hour), AuthenticatedAt: now, Device: driver.Device{UserAgent: "curl/8"}}
		if in.ID == "old" {
			want = driver.Info{ID: "old", User: "alice", Created: now, LastSeen: now, Expires: now.Add(time.Hour),
				Deadline: now.Add(time.Hour)}
		}
		if !in.Created.Equal(want.Created) || !in.LastSeen.Equal(want.LastSeen) || !in.Expires.Equal(want.Expires) ||
			!in.Deadline.Equal(want.Deadline) ||
			!in.AuthenticatedAt.Equal(want.AuthenticatedAt) || in.Device != want.Device || in.User != want.User {
			t.Errorf("Sessions lists %+v, want %+v", in, want)
		}
	}
	user := "alice"
	dev := driver.Device{UserAgent: "new agent", IP: "192.0.2.9"}
	if err := st.Renew(ctx, "old", "old2", &driver.Delta{User: &user, Deadline: now.Add(time.Hour), LastSeen: now,
		Expires: now.Add(time.Hour), AuthenticatedAt: now, Device: &dev}); err != nil {
		t.Fatal(err)
	}
	check("after a Renew of the old record that sets them", hash("old2"), map[string]string{"a": ms(now), "g": "new agent", "i": "192.0.2.9", "v:n": "5"})
}
