package redisstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
)

// populate saves n sessions with ids PREFIX-i, spread over n/100+1 users,
// in pipelines of 500 sessions.
func populate(tb testing.TB, st *Store, prefix string, from, to int, user func(i int) string) {
	tb.Helper()
	ctx := tb.Context()
	now := time.Now()
	for lo := from; lo < to; lo += 500 {
		var calls []*call
		for i := lo; i < min(lo+500, to); i++ {
			rec := &sesame.Record{User: user(i), Values: map[string]any{"user_id": i, "name": "someone"},
				Created: now, LastSeen: now, Expires: now.Add(30 * time.Minute), Deadline: now.Add(time.Hour)}
			c, _, err := st.saveCalls(fmt.Sprintf("%s-%d", prefix, i), rec, now)
			if err != nil {
				tb.Fatal(err)
			}
			calls = append(calls, c...)
		}
		if err := st.exec(ctx, calls); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkRevokeUser measures DeleteUser of one user's 5 sessions while
// the store holds the sessions of other users: its cost must not grow
// with the size of the store. The 5 sessions are saved again, in one
// pipeline, outside the timer before each revoke.
func BenchmarkRevokeUser(b *testing.B) {
	rdb := standalone(b)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	st := testStore(b, rdb)
	if err := st.LoadScripts(b.Context()); err != nil {
		b.Fatal(err)
	}
	others := func(i int) string { return fmt.Sprintf("other-%d", i/100) }
	victim := func(int) string { return "victim" }
	have := 0
	for _, n := range []int{1000, 100000} {
		populate(b, st, "other", have, n, others)
		have = n
		b.Run(fmt.Sprintf("others=%d", n), func(b *testing.B) {
			ctx := b.Context()
			var trips int64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				populate(b, st, "victim", 0, 5, victim)
				b.StartTimer()
				var deleted int
				var err error
				trips += rt.during(func() { deleted, err = st.DeleteUser(ctx, "victim", "") })
				if err != nil || deleted != 5 {
					b.Fatalf("DeleteUser = %d, %v; want 5", deleted, err)
				}
			}
			b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/op")
		})
	}
}
