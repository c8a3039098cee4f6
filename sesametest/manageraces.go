package sesametest

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// manageRaceTests force what the per-user cap and Update must survive.
var manageRaceTests = []test{
	{"ConcurrentUpdatesOfOneKeyLoseNothing", func(t *testing.T, b backend) {
		needs[driver.Updater](t, b, "driver.Updater")
		const clients, each = 64, 50
		m := manager(t, b, sesame.Config{})
		c := NewClient(t, m)
		c.Put("n", 0)
		got := make(chan int, clients*each)
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				cc := &Client{Test: t, Manager: m, Cookie: c.Cookie}
				for range each {
					resp := cc.Do(func(w http.ResponseWriter, r *http.Request) {
						n, err := sesame.Update(sesame.FromContext(r.Context()), "n", func(n int) (int, error) { return n + 1, nil })
						if err != nil {
							t.Errorf("Update: %v", err)
							return
						}
						got <- n
					})
					if resp.StatusCode != http.StatusOK {
						t.Errorf("status %d", resp.StatusCode)
					}
				}
			})
		}
		wg.Wait()
		close(got)
		seen := make(map[int]bool, clients*each)
		for n := range got {
			if seen[n] {
				t.Errorf("two Updates both returned %d", n)
			}
			seen[n] = true
		}
		c.Session(func(s *sesame.Session) {
			if n, _ := sesame.Get[int](s, "n"); n != clients*each {
				t.Errorf("%d clients x %d increments ended at %d, want %d", clients, each, n, clients*each)
			}
		})
	}},
	{"CapHoldsUnderParallelLogins", func(t *testing.T, b backend) {
		needs[driver.UserCapper](t, b, "driver.UserCapper")
		const n = 3
		for _, policy := range []sesame.CapPolicy{sesame.CapEvictOldest, sesame.CapRefuse} {
			for round := range 3 {
				user := unique()("alice")
				m := manager(t, b, sesame.Config{MaxSessionsPerUser: n, CapPolicy: policy})
				clients := make([]*Client, 2*n)
				for i := range clients {
					clients[i] = NewClient(t, m)
					clients[i].Put("pre", i) // an anonymous session to log in from
				}
				start := make(chan struct{})
				status := make([]int, len(clients))
				var wg sync.WaitGroup
				for i, c := range clients {
					wg.Go(func() {
						<-start
						status[i] = c.Do(func(w http.ResponseWriter, r *http.Request) {
							sesame.FromContext(r.Context()).Login(user)
						}).StatusCode
					})
				}
				close(start)
				wg.Wait()
				list, err := m.Sessions(t.Context(), user)
				if err != nil {
					t.Fatal(err)
				}
				in, ok := 0, 0
				for i, c := range clients {
					if c.Cookie != "" && (&Client{Test: t, Manager: m, Cookie: c.Cookie}).User() == user {
						in++
					}
					if status[i] == http.StatusOK {
						ok++
					}
				}
				if len(list) != n || in != n {
					t.Errorf("policy %d round %d: %d parallel logins under a cap of %d left %d sessions listed and %d clients logged in, want %d",
						policy, round, 2*n, n, len(list), in, n)
				}
				if policy == sesame.CapRefuse && ok != n {
					t.Errorf("round %d: %d of %d logins succeeded under CapRefuse, want %d (the others 403)", round, ok, 2*n, n)
				}
			}
		}
	}},
	{"CapEvictsTheLeastRecentlySeen", func(t *testing.T, b backend) {
		needs[driver.UserCapper](t, b, "driver.UserCapper")
		obs := &recorder{}
		user := unique()("alice")
		m := manager(t, b, sesame.Config{MaxSessionsPerUser: 2, TouchInterval: -1, Observer: obs})
		one, two, three := NewClient(t, m), NewClient(t, m), NewClient(t, m)
		one.Login(user)
		waitPast(time.Now())
		twoID := two.Login(user)
		waitPast(time.Now())
		one.Put("k", 1) // one is now the most recently seen
		waitPast(time.Now())
		obs.reset()
		three.Login(user)
		obs.expect(t, sesame.EventEvicted, twoID)
		for name, c := range map[string]*Client{"first": one, "second": two, "third": three} {
			want := user
			if c == two {
				want = ""
			}
			if got := c.User(); got != want {
				t.Errorf("the %s login's session is logged in as %q, want %q", name, got, want)
			}
		}
	}},
}
