package redisstore

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/benchkit"
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
			rec := &driver.Record{User: user(i), Values: map[string]any{"user_id": i, "name": "someone"},
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

// BenchmarkManage measures, through a Manager on standalone Redis, what
// sessions people can manage cost: an atomic Update against a Get and Put
// of the same counter, a login with and without a cap of 3 (at the cap, so
// every capped login evicts one), and a new session with a browser's
// User-Agent recorded against one without.
func BenchmarkManage(b *testing.B) {
	st := testStore(b, standalone(b))
	m := sesame.New(sesame.Config{Store: st})
	capped := sesame.New(sesame.Config{Store: st, MaxSessionsPerUser: 3})
	incr := func(n int) (int, error) { return n + 1, nil }
	b.Run("get-put", func(b *testing.B) {
		benchkit.Serve(b, m, benchkit.NewSession(b, m), benchkit.Update)
	})
	b.Run("update", func(b *testing.B) {
		benchkit.Serve(b, m, benchkit.NewSession(b, m), func(w http.ResponseWriter, r *http.Request) {
			if _, err := sesame.Update(sesame.FromContext(r.Context()), "counter", incr); err != nil {
				b.Fatal(err)
			}
		})
	})
	login := func(user string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { sesame.FromContext(r.Context()).Login(user) }
	}
	b.Run("login", func(b *testing.B) {
		benchkit.Serve(b, m, "", login(fmt.Sprintf("bench-login-%d", time.Now().UnixNano())))
	})
	b.Run("login-capped-at-3", func(b *testing.B) {
		benchkit.Serve(b, capped, "", login(fmt.Sprintf("bench-capped-%d", time.Now().UnixNano())))
	})
	b.Run("create", func(b *testing.B) {
		benchkit.Serve(b, m, "", benchkit.Create)
	})
	b.Run("create-with-user-agent", func(b *testing.B) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36")
		benchkit.ServeRequest(b, m, req, benchkit.Create)
	})
}
