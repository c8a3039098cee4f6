package redisstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// TestChangeOfUserClearsAuthenticatedAt checks that a delta that gives a
// record to another non-empty user, without a Login or Reauthenticate (it
// sets no AuthenticatedAt), clears the record's AuthenticatedAt, through
// Apply and through Renew's first step, which applies a delta too: the
// new user must never count as fresh on the previous user's login (see
// driver.Delta.ChangesUser). Any other delta keeps it, or sets the
// delta's.
func TestChangeOfUserClearsAuthenticatedAt(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testChangeOfUser(t, standalone(t)) })
	t.Run("cluster", func(t *testing.T) { testChangeOfUser(t, cluster(t)) })
}

func testChangeOfUser(t *testing.T, rdb redis.UniversalClient) {
	st := testStore(t, rdb)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	logged := now.Add(-time.Minute) // alice's login
	login := now.Add(-time.Second)  // a delta's Login or Reauthenticate
	user := func(u string) *string { return &u }
	for _, tt := range []struct {
		name     string
		from     string    // the record's user
		user     *string   // the delta's
		authAt   time.Time // the delta's AuthenticatedAt
		wantAuth time.Time // the record's AuthenticatedAt after it
		deadline bool      // the delta sets the deadline (as the Manager's Renew does)
	}{
		{name: "to another user", from: "alice", user: user("bob"), wantAuth: time.Time{}},
		{name: "to another user, with the Manager's deadline", from: "alice", user: user("bob"), deadline: true, wantAuth: time.Time{}},
		{name: "to another user at a login", from: "alice", user: user("bob"), authAt: login, wantAuth: login},
		{name: "from no user to a user", from: "", user: user("bob"), wantAuth: time.Time{}},
		{name: "to the same user", from: "alice", user: user("alice"), wantAuth: logged},
		{name: "to no user", from: "alice", user: user(""), wantAuth: logged},
		{name: "leaving the user", from: "alice", wantAuth: logged},
		{name: "reauthenticating", from: "alice", authAt: login, wantAuth: login},
	} {
		for _, op := range []string{"Apply", "Renew"} {
			t.Run(op+" "+tt.name, func(t *testing.T) {
				id := fmt.Sprintf("%s-%s", op, tt.name)
				rec := &driver.Record{User: tt.from, Values: map[string]any{"a": 1}, Created: now, LastSeen: now,
					Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour), AuthenticatedAt: logged}
				if err := st.Save(ctx, id, rec); err != nil {
					t.Fatal(err)
				}
				d := &driver.Delta{User: tt.user, AuthenticatedAt: tt.authAt, LastSeen: now, Expires: now.Add(time.Hour)}
				if tt.deadline {
					d.Deadline = rec.Deadline
				}
				loaded := id
				switch op {
				case "Apply":
					if _, err := st.Apply(ctx, id, d); err != nil {
						t.Fatal(err)
					}
				case "Renew":
					loaded = id + " renewed"
					if err := st.Renew(ctx, id, loaded, d); err != nil {
						t.Fatal(err)
					}
				}
				got, err := st.Load(ctx, loaded)
				if err != nil {
					t.Fatal(err)
				}
				if !got.AuthenticatedAt.Equal(tt.wantAuth) {
					t.Errorf("%s of a record of %q with a delta setting user %v, AuthenticatedAt %v: AuthenticatedAt = %v, want %v",
						op, tt.from, deref(tt.user), when(tt.authAt), when(got.AuthenticatedAt), when(tt.wantAuth))
				}
			})
		}
	}
}

// deref returns *p, or "(not set)" for nil.
func deref(p *string) string {
	if p == nil {
		return "(not set)"
	}
	return fmt.Sprintf("%q", *p)
}

// when formats t, "zero" for the zero time.
func when(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format(time.RFC3339Nano)
}
