package sqlitestore_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sesame-go/sesame/driver"
)

func TestStatsCountsLiveSessionsUsersAndValueBytes(t *testing.T) {
	st := open(t, tempDB(t))
	if got, err := st.Stats(t.Context()); err != nil || got.Sessions != 0 || got.TotalBytes != 0 {
		t.Fatalf("Stats of an empty store = %+v, %v", got, err)
	}
	now := time.Now()
	rec := func(user string, exp time.Time, vals map[string]any) *driver.Record {
		return &driver.Record{User: user, Values: vals, Created: now.Add(-time.Minute), LastSeen: now, Deadline: exp, Expires: exp}
	}
	live := now.Add(time.Hour)
	mustSave(t, st, "s1", rec("alice", live, map[string]any{"a": json.RawMessage(`"xyz"`), "b": json.RawMessage(`[1,2]`)}))
	mustSave(t, st, "s2", rec("alice", live, map[string]any{"c": json.RawMessage(`1`)}))
	mustSave(t, st, "s3", rec("bob", live, nil))
	mustSave(t, st, "s4", rec("", live, map[string]any{"d": json.RawMessage(`"héllo"`)}))
	mustSave(t, st, "old", rec("carol", now.Add(-time.Second), map[string]any{"x": json.RawMessage(`1`)}))
	user := "alice"
	if err := st.Renew(t.Context(), "s2", "s2b", &driver.Delta{User: &user, Deadline: live, LastSeen: now, Expires: live}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := struct{ Sessions, Users, Expired int }{4, 2, 1}
	if got.Sessions != want.Sessions || got.Users != want.Users || got.Expired != want.Expired || got.TotalBytes != 19 || got.LargestBytes != 10 {
		t.Errorf("Stats = %+v, want %+v, TotalBytes 19, LargestBytes 10", got, want)
	}
	have, wantV, err := st.SchemaVersion(t.Context())
	if err != nil || have != wantV || have < 4 {
		t.Errorf("SchemaVersion = %d, %d, %v; want equal, at least 4", have, wantV, err)
	}
}
