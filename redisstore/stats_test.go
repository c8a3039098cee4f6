package redisstore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesame-go/sesame/driver"
)

func TestStatsCountsLiveSessionsUsersAndValueBytes(t *testing.T) {
	for name, rdb := range map[string]func(testing.TB) redis.UniversalClient{
		"standalone": func(t testing.TB) redis.UniversalClient { return standalone(t) },
		"cluster":    func(t testing.TB) redis.UniversalClient { return cluster(t) },
	} {
		t.Run(name, func(t *testing.T) {
			st := testStore(t, rdb(t))
			ctx := t.Context()
			if got, err := st.Stats(ctx); err != nil || got != (driver.Stats{Expired: driver.CountUnknown}) {
				t.Fatalf("Stats of an empty store = %+v, %v", got, err)
			}
			now := time.Now()
			save := func(id, user string, vals map[string]any) {
				t.Helper()
				exp := now.Add(time.Hour)
				rec := &driver.Record{User: user, Values: vals, Created: now.Add(-time.Minute), LastSeen: now, Deadline: exp, Expires: exp}
				must(t, st.Save(ctx, id, rec))
			}
			save("s1", "alice", map[string]any{"a": json.RawMessage(`"xyz"`), "b": json.RawMessage(`[1,2]`)})
			save("s2", "alice", map[string]any{"c": json.RawMessage(`1`)})
			save("s3", "bob", nil)
			save("s4", "", map[string]any{"d": json.RawMessage(`"héllo"`)})
			user, live := "alice", now.Add(time.Hour)
			// s2 leaves a forward pointer, which is no session.
			must(t, st.Renew(ctx, "s2", "s2b", &driver.Delta{User: &user, Deadline: live, LastSeen: now, Expires: live}))
			got, err := st.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := (driver.Stats{Sessions: 4, Users: 2, Expired: driver.CountUnknown, TotalBytes: 19, LargestBytes: 10}); got != want {
				t.Errorf("Stats = %+v, want %+v", got, want)
			}
		})
	}
}

func TestStatsPrefixIsMatchedLiterally(t *testing.T) {
	if got := escapeGlob(`a*b?[c]\`); got != `a\*b\?\[c\]\\` {
		t.Errorf("escapeGlob = %q", got)
	}
}
