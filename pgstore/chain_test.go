package pgstore

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-go/sesame/driver"
)

// queryModes are the pgx query exec modes the store supports: pgx's
// default, and the two to use behind PgBouncer in transaction mode.
var queryModes = []struct {
	name string
	mode pgx.QueryExecMode
}{
	{"CacheStatement", pgx.QueryExecModeCacheStatement},
	{"Exec", pgx.QueryExecModeExec},
	{"SimpleProtocol", pgx.QueryExecModeSimpleProtocol},
}

// chainLength is how many times TestDeleteFollowsTheWholeChainOfRenewals
// renews one session: far more than any fixed number of hops a store
// might follow.
const chainLength = 1000

// renewChain saves a session of user under id0 and renews it n times
// (id0 -> id1 -> ... -> idn) through Store.Renew, and returns the last ID.
func renewChain(t *testing.T, st *Store, user string, n int) string {
	t.Helper()
	rec := liveRecord(user, map[string]any{"a": 1})
	if err := st.Save(t.Context(), "id0", rec); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := st.Renew(t.Context(), fmt.Sprint("id", i), fmt.Sprint("id", i+1), delta(driver.Delta{User: &rec.User, Deadline: rec.Deadline})); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprint("id", n)
}

// TestDeleteFollowsTheWholeChainOfRenewals renews one session 1,000 times,
// in each query mode: Delete of the first ID ends the session under the
// last one (a store that followed a fixed number of renewals would answer
// the logout and leave the session live), and so does DeleteUser of a
// chain that started from an indexed session.
func TestDeleteFollowsTheWholeChainOfRenewals(t *testing.T) {
	for _, mode := range queryModes {
		t.Run(mode.name, func(t *testing.T) {
			pool := testPool(t, mode.mode)
			t.Run("Delete", func(t *testing.T) {
				st := newStore(t, pool, Options{})
				last := renewChain(t, st, "alice", chainLength)
				start := time.Now()
				found, err := st.Delete(t.Context(), "id0")
				t.Logf("Delete of the first ID of a chain of %d renewals: %v", chainLength, time.Since(start))
				if err != nil || !found {
					t.Errorf("Delete(id0) = %v, %v; want true", found, err)
				}
				// Each step of the chain is a lookup of the renewals'
				// primary key, even on a table this small and new (no
				// statistics), where a join would scan the table once
				// per step: a chain of n renewals would cost O(n^2).
				rows, _ := pool.Query(t.Context(), `EXPLAIN `+st.q.delete, "id0", time.Now())
				lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				if plan := strings.Join(lines, "\n"); strings.Contains(plan, "Seq Scan on "+st.q.renewedTable[1]) {
					t.Errorf("Delete scans the renewals table at each step of the chain:\n%s", plan)
				}
				if n := rowCount(t, st, last); n != 0 {
					t.Errorf("%d rows under %s after Delete(id0): the session survived its logout", n, last)
				}
				if _, err := st.Load(t.Context(), last); !errors.Is(err, driver.ErrNotFound) {
					t.Errorf("Load(%s) after Delete(id0) = %v, want ErrNotFound", last, err)
				}
			})
			t.Run("DeleteUser", func(t *testing.T) {
				st := newStore(t, pool, Options{})
				last := renewChain(t, st, "alice", chainLength)
				if n, err := st.DeleteUser(t.Context(), "alice", ""); err != nil || n != 1 {
					t.Errorf("DeleteUser(alice) = %d, %v; want 1", n, err)
				}
				if n := rowCount(t, st, last); n != 0 {
					t.Errorf("%d rows under %s after DeleteUser", n, last)
				}
				if found, err := st.Delete(t.Context(), "id0"); err != nil || found {
					t.Errorf("Delete(id0) after DeleteUser = %v, %v; want false", found, err)
				}
			})
		})
	}
}

// TestDeleteEndsOnACycleOfRenewals: renewal rows that form a cycle, which
// random IDs never make but a table may hold, still end the recursive
// query, and the session on the cycle is deleted.
func TestDeleteEndsOnACycleOfRenewals(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	if err := st.Save(t.Context(), "c", liveRecord("alice", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), `INSERT INTO `+st.q.renewedTable.Sanitize()+` (id, new_id, expires)
VALUES ('a', 'b', $1), ('b', 'c', $1), ('c', 'a', $1)`, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if found, err := st.Delete(t.Context(), "a"); err != nil || !found {
		t.Errorf("Delete(a) on a cycle a -> b -> c -> a = %v, %v; want true", found, err)
	}
	if n := rowCount(t, st, "c"); n != 0 {
		t.Errorf("%d rows under c after Delete(a)", n)
	}
}

// TestAChangeOfUserClearsAuthenticatedAt applies deltas that change the
// user, or not, with and without an authentication, through every
// statement that applies a delta (apply, applyEmptying, renew), in each
// query mode, and checks each record's AuthenticatedAt against
// driver.Delta.ApplyTo: a delta that gives the record to another user
// without a Login or a Reauthenticate clears it, so that the new user
// never counts as freshly authenticated on the previous user's login.
func TestAChangeOfUserClearsAuthenticatedAt(t *testing.T) {
	alice, bob, empty := "alice", "bob", ""
	authAt := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	relogin := time.Now().Add(-time.Second).Truncate(time.Microsecond)
	cases := []struct {
		name string
		user *string
		auth time.Time
	}{
		{"another user", &bob, time.Time{}},
		{"another user, with a login", &bob, relogin},
		{"the same user", &alice, time.Time{}},
		{"no user change", nil, time.Time{}},
		{"the user removed", &empty, time.Time{}},
	}
	for _, mode := range queryModes {
		t.Run(mode.name, func(t *testing.T) {
			st := newStore(t, testPool(t, mode.mode), Options{})
			ctx := t.Context()
			for _, tt := range cases {
				for _, path := range []string{"Apply", "emptying Apply", "Renew"} {
					t.Run(tt.name+"/"+path, func(t *testing.T) {
						id := tt.name + "/" + path
						rec := liveRecord(alice, map[string]any{"a": 1, "b": 2})
						rec.AuthenticatedAt = authAt
						if err := st.Save(ctx, id, rec); err != nil {
							t.Fatal(err)
						}
						d := delta(driver.Delta{User: tt.user, AuthenticatedAt: tt.auth})
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
		})
	}
}

func show(p *string) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", *p)
}
