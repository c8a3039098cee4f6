package sqlitestore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
)

// chainLength is how many times TestDeleteFollowsTheWholeChainOfRenewals
// renews one session: far more than any fixed number of hops a store
// might follow.
const chainLength = 1000

// renewChain saves a session of user under id0 and renews it n times
// (id0 -> id1 -> ... -> idn), through Store.Renew, and returns the last
// ID.
func renewChain(t *testing.T, st driver.Renewer, user string, n int) string {
	t.Helper()
	ctx := t.Context()
	rec := sesametest.Record(user, map[string]any{"a": 1})
	if err := st.Save(ctx, "id0", rec); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		now := time.Now()
		d := &driver.Delta{User: &rec.User, Deadline: rec.Deadline, LastSeen: now, Expires: now.Add(time.Hour)}
		if err := st.Renew(ctx, fmt.Sprint("id", i), fmt.Sprint("id", i+1), d); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprint("id", n)
}

// TestDeleteFollowsTheWholeChainOfRenewals renews one session 1,000 times:
// Delete of the first ID ends the session under the last one (a store
// that followed a fixed number of renewals would answer a logout and
// leave the session live), and so does DeleteUser of a chain that
// started from an indexed session.
func TestDeleteFollowsTheWholeChainOfRenewals(t *testing.T) {
	t.Run("Delete", func(t *testing.T) {
		st := open(t, tempDB(t))
		last := renewChain(t, st, "alice", chainLength)
		start := time.Now()
		found, err := st.Delete(t.Context(), "id0")
		t.Logf("Delete of the first ID of a chain of %d renewals: %v", chainLength, time.Since(start))
		if err != nil || !found {
			t.Errorf("Delete(id0) = %v, %v; want true", found, err)
		}
		if _, err := st.Load(t.Context(), last); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("Load(%s) after Delete(id0) = %v, want ErrNotFound: the session survived its logout", last, err)
		}
		if list, err := st.Sessions(t.Context(), "alice"); err != nil || len(list) != 0 {
			t.Errorf("Sessions(alice) after Delete(id0) = %v, %v; want none", list, err)
		}
	})
	t.Run("DeleteUser", func(t *testing.T) {
		st := open(t, tempDB(t))
		last := renewChain(t, st, "alice", chainLength)
		if n, err := st.DeleteUser(t.Context(), "alice", ""); err != nil || n != 1 {
			t.Errorf("DeleteUser(alice) = %d, %v; want 1", n, err)
		}
		if _, err := st.Load(t.Context(), last); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("Load(%s) after DeleteUser = %v, want ErrNotFound", last, err)
		}
		if found, err := st.Delete(t.Context(), "id0"); err != nil || found {
			t.Errorf("Delete(id0) after DeleteUser = %v, %v; want false", found, err)
		}
	})
}

// TestDeleteEndsOnACycleOfRenewals: renewal rows that form a cycle, which
// random IDs never make but a database may hold, still end the recursive
// query, and the session on the cycle is deleted.
func TestDeleteEndsOnACycleOfRenewals(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	ctx := t.Context()
	if err := st.Save(ctx, "c", sesametest.Record("alice", nil)); err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(time.Hour).UnixMilli()
	if _, err := rawDB(t, path).Exec(`INSERT INTO sesame_renewals VALUES ('a', 'b', ?1), ('b', 'c', ?1), ('c', 'a', ?1)`, expires); err != nil {
		t.Fatal(err)
	}
	if found, err := st.Delete(ctx, "a"); err != nil || !found {
		t.Errorf("Delete(a) on a cycle a -> b -> c -> a = %v, %v; want true", found, err)
	}
	if _, err := st.Load(ctx, "c"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Load(c) = %v, want ErrNotFound", err)
	}
}

// TestAChangeOfUserClearsAuthenticatedAt applies deltas that change the
// user, or not, with and without an authentication, through every path
// that applies a delta in SQL (an additive Apply, an emptying Apply and a
// Renew), and checks each record's AuthenticatedAt against
// driver.Delta.ApplyTo: a delta that gives the record to another user
// without a Login or a Reauthenticate clears it, so that the new user
// never counts as freshly authenticated on the previous user's login.
func TestAChangeOfUserClearsAuthenticatedAt(t *testing.T) {
	st := open(t, tempDB(t))
	ctx := t.Context()
	alice, bob, empty := "alice", "bob", ""
	authAt := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	relogin := time.Now().Add(-time.Second).Truncate(time.Millisecond)
	for _, tt := range []struct {
		name string
		user *string
		auth time.Time
	}{
		{"another user", &bob, time.Time{}},
		{"another user, with a login", &bob, relogin},
		{"the same user", &alice, time.Time{}},
		{"no user change", nil, time.Time{}},
		{"the user removed", &empty, time.Time{}},
	} {
		for _, path := range []string{"Apply", "emptying Apply", "Renew"} {
			t.Run(tt.name+"/"+path, func(t *testing.T) {
				id := tt.name + "/" + path
				rec := sesametest.Record(alice, map[string]any{"a": 1, "b": 2})
				rec.AuthenticatedAt = authAt
				if err := st.Save(ctx, id, rec); err != nil {
					t.Fatal(err)
				}
				now := time.Now()
				d := &driver.Delta{User: tt.user, AuthenticatedAt: tt.auth, LastSeen: now, Expires: now.Add(time.Hour)}
				var err error
				switch path {
				case "Apply":
					_, err = st.Apply(ctx, id, d)
				case "emptying Apply":
					d.Delete = []string{"b"}
					_, err = st.Apply(ctx, id, d)
				case "Renew":
					if d.User == nil {
						d.User = &alice
					}
					d.Deadline = rec.Deadline
					err = st.Renew(ctx, id, id+"/new", d)
					id += "/new"
				}
				if err != nil {
					t.Fatal(err)
				}
				want := *rec
				want.Values = map[string]any{}
				d.ApplyTo(&want)
				got, err := st.Load(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !got.AuthenticatedAt.Equal(want.AuthenticatedAt) || got.User != want.User {
					t.Errorf("after a delta of user %v: user %q authenticated at %v; want %q at %v (as ApplyTo)",
						show(tt.user), got.User, got.AuthenticatedAt, want.User, want.AuthenticatedAt)
				}
			})
		}
	}
}

func show(p *string) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", *p)
}
