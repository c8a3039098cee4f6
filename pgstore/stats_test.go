package pgstore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sesame-go/sesame/driver"
)

func TestStatsCountsLiveSessionsUsersAndValueBytes(t *testing.T) {
	st := newStore(t, testPool(t, 0), Options{CleanupInterval: -1})
	ctx := t.Context()
	if got, err := st.Stats(ctx); err != nil || got.Sessions != 0 || got.TotalBytes != 0 {
		t.Fatalf("Stats of an empty store = %+v, %v", got, err)
	}
	now := time.Now()
	save := func(id, user string, exp time.Time, vals map[string]any) {
		t.Helper()
		rec := &driver.Record{User: user, Values: vals, Created: now.Add(-time.Minute), LastSeen: now, Deadline: exp, Expires: exp}
		if err := st.Save(ctx, id, rec); err != nil {
			t.Fatal(err)
		}
	}
	live := now.Add(time.Hour)
	save("s1", "alice", live, map[string]any{"a": json.RawMessage(`"xyz"`), "b": json.RawMessage(`[1,2]`)})
	save("s2", "alice", live, map[string]any{"c": json.RawMessage(`1`)})
	save("s3", "bob", live, nil)
	save("s4", "", live, map[string]any{"d": json.RawMessage(`"héllo"`)})
	save("old", "carol", now.Add(-time.Second), map[string]any{"x": json.RawMessage(`1`)})
	user := "alice"
	if err := st.Renew(ctx, "s2", "s2b", &driver.Delta{User: &user, Deadline: live, LastSeen: now, Expires: live}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (driver.Stats{Sessions: 4, Users: 2, Expired: 1, TotalBytes: 19, LargestBytes: 10}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if v, err := st.SchemaVersion(ctx); err != nil || v != SchemaVersion {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, SchemaVersion)
	}
}
