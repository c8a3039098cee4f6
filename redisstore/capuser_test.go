package redisstore

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// TestCapUser checks CapUser on the keys: whom it ends, what it counts,
// and that concurrent CapUsers of one user, each following its own
// session's write, leave exactly n live sessions.
func TestCapUser(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testCapUser(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testCapUser(t, cluster(t)) })
}

func testCapUser(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	save := func(t *testing.T, st *Store, user, id string, seen time.Time, idle time.Duration) {
		t.Helper()
		rec := &driver.Record{User: user, Values: map[string]any{"x": 1}, Created: seen, LastSeen: seen,
			Expires: seen.Add(idle), Deadline: seen.Add(time.Hour), AuthenticatedAt: seen,
			Device: driver.Device{UserAgent: "agent " + id, IP: "192.0.2.1"}}
		if err := st.Save(ctx, id, rec); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(list []driver.Info) []string {
		var out []string
		for _, in := range list {
			out = append(out, in.ID)
		}
		slices.Sort(out)
		return out
	}
	listed := func(t *testing.T, st *Store, user string) []string {
		t.Helper()
		list, err := st.Sessions(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return ids(list)
	}

	t.Run("EndsTheLeastRecentlySeen", func(t *testing.T) {
		st := testStore(t, rdb)
		now := time.Now()
		// s0 is seen last, s3 first; keep is the oldest of all.
		save(t, st, "alice", "keep", now.Add(-time.Hour), 2*time.Hour)
		for i := range 4 {
			save(t, st, "alice", fmt.Sprint("s", i), now.Add(-time.Duration(i)*time.Minute), time.Hour)
		}
		ended, err := st.CapUser(ctx, "alice", "keep", 3, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(ended); !slices.Equal(got, []string{"s2", "s3"}) {
			t.Errorf("CapUser ended %v, want the two least recently seen other than keep: [s2 s3]", got)
		}
		for _, in := range ended {
			if in.User != "alice" || in.Device.UserAgent != "agent "+in.ID || in.LastSeen.IsZero() ||
				!in.Deadline.Equal(in.Created.Add(time.Hour).Truncate(time.Millisecond)) {
				t.Errorf("ended %+v, want its Info as listed", in)
			}
		}
		if got := listed(t, st, "alice"); !slices.Equal(got, []string{"keep", "s0", "s1"}) {
			t.Errorf("left %v, want [keep s0 s1]", got)
		}
		if ended, err := st.CapUser(ctx, "alice", "keep", 3, false); err != nil || len(ended) != 0 {
			t.Errorf("CapUser at the cap = %v, %v; want nothing ended", ended, err)
		}
		if d, err := rdb.PExpireTime(ctx, st.capKey("alice")).Result(); err != nil || d < 0 {
			t.Errorf("PEXPIRETIME of the cap key = %v, %v; want a TTL", d, err)
		}
	})

	t.Run("RefuseEndsKeepAlone", func(t *testing.T) {
		st := testStore(t, rdb)
		now := time.Now()
		for i := range 3 {
			save(t, st, "alice", fmt.Sprint("s", i), now.Add(-time.Hour), time.Hour+time.Minute)
		}
		save(t, st, "alice", "new", now, time.Hour)
		ended, err := st.CapUser(ctx, "alice", "new", 3, true)
		if err != nil || !slices.Equal(ids(ended), []string{"new"}) {
			t.Errorf("CapUser refusing = %v, %v; want new alone", ids(ended), err)
		}
		if got := listed(t, st, "alice"); !slices.Equal(got, []string{"s0", "s1", "s2"}) {
			t.Errorf("left %v, want [s0 s1 s2]", got)
		}
	})

	t.Run("CountsOnlyLiveSessions", func(t *testing.T) {
		st := testStore(t, rdb)
		now := time.Now()
		save(t, st, "alice", "idle", now, 100*time.Millisecond) // indexed until its deadline
		save(t, st, "alice", "moved", now, time.Hour)
		bob := "bob"
		if _, err := st.Apply(ctx, "moved", &driver.Delta{User: &bob, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		rdb.ZAdd(ctx, st.userKey("alice"), redis.Z{Score: float64(now.Add(time.Hour).UnixMilli()), Member: "moved"}) // a stale entry
		rdb.ZAdd(ctx, st.userKey("alice"), redis.Z{Score: float64(now.Add(time.Hour).UnixMilli()), Member: "pending"})
		save(t, st, "alice", "a", now, time.Hour)
		save(t, st, "alice", "b", now, time.Hour)
		time.Sleep(150 * time.Millisecond)
		if ended, err := st.CapUser(ctx, "alice", "b", 2, true); err != nil || len(ended) != 0 {
			t.Errorf("CapUser of 2 live sessions under a cap of 2 = %v, %v; want nothing ended", ids(ended), err)
		}
		if _, err := st.Load(ctx, "moved"); err != nil {
			t.Errorf("bob's session after alice's CapUser: %v", err)
		}
	})

	t.Run("EndsWhatAFailedCapUserChose", func(t *testing.T) {
		st := testStore(t, rdb)
		now := time.Now()
		for i := range 3 {
			save(t, st, "alice", fmt.Sprint("s", i), now.Add(-time.Duration(i)*time.Minute), time.Hour)
		}
		// A CapUser that chose s2 and failed before deleting it.
		score := rdb.ZScore(ctx, st.userKey("alice"), "s2").Val()
		rdb.ZAdd(ctx, st.capKey("alice"), redis.Z{Score: score, Member: "s2"})
		save(t, st, "alice", "s3", now, time.Hour)
		ended, err := st.CapUser(ctx, "alice", "s3", 3, false)
		if err != nil || len(ended) != 0 {
			t.Errorf("CapUser = %v, %v; want none chosen: s2 was, and 3 others are left", ids(ended), err)
		}
		if got := listed(t, st, "alice"); !slices.Equal(got, []string{"s0", "s1", "s3"}) {
			t.Errorf("left %v, want [s0 s1 s3]: s2 ended too", got)
		}
	})

	t.Run("CountsASessionBeingRenewed", func(t *testing.T) {
		st := testStore(t, rdb)
		now := time.Now()
		save(t, st, "alice", "a", now.Add(-2*time.Minute), time.Hour)
		save(t, st, "alice", "b", now.Add(-time.Minute), time.Hour)
		save(t, st, "alice", "c", now.Add(-3*time.Minute), time.Hour)
		var ended []driver.Info
		st.betweenSteps = func() { // c is a pointer, c2 not live yet
			var err error
			if ended, err = st.CapUser(ctx, "alice", "a", 2, false); err != nil {
				t.Error(err)
			}
		}
		user := "alice"
		if err := st.Renew(ctx, "c", "c2", &driver.Delta{User: &user, Deadline: now.Add(time.Hour), LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(ended), []string{"b"}) {
			t.Errorf("CapUser during a Renew ended %v, want [b]: the session being renewed counts, as seen now", ids(ended))
		}
		if got := listed(t, st, "alice"); !slices.Equal(got, []string{"a", "c2"}) {
			t.Errorf("left %v, want [a c2]", got)
		}
	})

	// 2n sessions of one user, each followed by its CapUser, all at
	// once: exactly n must be left, and under refuse exactly n CapUsers
	// must not have ended their own.
	for _, refuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("ParallelRefuse%v", refuse), func(t *testing.T) {
			st := testStore(t, rdb)
			const n = 4
			for round := range 5 {
				user := fmt.Sprint("user", round)
				start := make(chan struct{})
				refused := make([]bool, 2*n)
				var wg sync.WaitGroup
				for i := range 2 * n {
					wg.Go(func() {
						id := fmt.Sprint(user, "-", i)
						<-start
						save(t, st, user, id, time.Now(), time.Hour)
						ended, err := st.CapUser(ctx, user, id, n, refuse)
						if err != nil {
							t.Error(err)
						}
						refused[i] = slices.ContainsFunc(ended, func(in driver.Info) bool { return in.ID == id })
						if refuse && len(ended) > 1 {
							t.Errorf("CapUser refusing ended %v, want its own session at most", ids(ended))
						}
					})
				}
				close(start)
				wg.Wait()
				left := listed(t, st, user)
				if len(left) != n {
					t.Errorf("round %d: %d sessions and their CapUsers under a cap of %d left %v, want %d", round, 2*n, n, left, n)
				}
				admitted := 0
				for i, r := range refused {
					if !r {
						admitted++
					}
					if live := slices.Contains(left, fmt.Sprint(user, "-", i)); refuse && live == r {
						t.Errorf("round %d: session %d is live %v, refused %v", round, i, live, r)
					}
				}
				if refuse && admitted != n {
					t.Errorf("round %d: %d CapUsers kept their session, want %d", round, admitted, n)
				}
			}
		})
	}
}
