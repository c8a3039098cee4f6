package sesametest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// storeRaceTests race the Store interfaces directly.
var storeRaceTests = []test{
	{"UserIndexKeepsEveryLiveSession", func(t *testing.T, b backend) {
		// Sessions of a user are created (saved with the user, or saved
		// anonymous and then given the user by a delta) while other
		// goroutines list and revoke that user's sessions in a loop. Every
		// session still live at the end must be listed, and revoked by a
		// final DeleteUser: an orphan would survive "log out everywhere".
		us := needs[driver.UserStore](t, b, "driver.UserStore")
		ds, _ := b.store.(driver.DeltaStore)
		u := unique()
		alice := u("alice")
		n := 400
		if testing.Short() {
			n = 100
		}
		stop := make(chan struct{})
		var loops sync.WaitGroup
		loops.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				us.Sessions(t.Context(), alice)
			}
		})
		loops.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := us.DeleteUser(t.Context(), alice, ""); err != nil {
					t.Error(err)
					return
				}
			}
		})
		var writers sync.WaitGroup
		for w := range 4 {
			writers.Go(func() {
				for i := w; i < n; i += 4 {
					id := u(fmt.Sprint("s", i))
					if ds != nil && i%8 >= 4 {
						if err := ds.Save(t.Context(), id, Record("", map[string]any{"i": i})); err != nil {
							t.Error(err)
						}
						now := time.Now()
						_, err := ds.Apply(t.Context(), id, &driver.Delta{User: &alice, LastSeen: now, Expires: now.Add(30 * time.Minute)})
						if err != nil && !errors.Is(err, driver.ErrNotFound) {
							t.Error(err)
						}
						continue
					}
					if err := us.Save(t.Context(), id, Record(alice, map[string]any{"i": i})); err != nil {
						t.Error(err)
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		loops.Wait()
		live := map[string]bool{}
		for i := range n {
			id := u(fmt.Sprint("s", i))
			if rec, err := us.Load(t.Context(), id); err == nil && rec.User == alice {
				live[id] = true
			}
		}
		list, err := us.Sessions(t.Context(), alice)
		if err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{}
		for _, s := range list {
			listed[s.ID] = true
		}
		unlisted := 0
		for id := range live {
			if !listed[id] {
				unlisted++
			}
		}
		if _, err := us.DeleteUser(t.Context(), alice, ""); err != nil {
			t.Fatal(err)
		}
		orphans := 0
		for i := range n {
			if _, err := us.Load(t.Context(), u(fmt.Sprint("s", i))); err == nil {
				orphans++
			}
		}
		if unlisted > 0 || orphans > 0 {
			t.Errorf("of %d live sessions, %d were not listed and %d survived DeleteUser (orphans)", len(live), unlisted, orphans)
		}
	}},
}
