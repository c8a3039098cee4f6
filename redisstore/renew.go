package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// Renew's result codes of step 1 (renewOutScript).
const (
	outNotFound = 0
	outMoved    = 1
	outRenewed  = 3
)

// moved is what step 1 of a Renew took out of the old ID.
type moved struct {
	code    int64
	oldUser string
	until   string // the old record's expiry, and the pointer's (Unix ms)
	fields  []any  // the new record's field/value pairs
	user    string // the new record's user
	expires string // the new record's expiry (Unix ms)
	dead    string // the new record's deadline (Unix ms, "0" for none)
}

func movedResult(cmd *redis.Cmd) (moved, error) {
	v, _ := cmd.Val().([]any)
	if len(v) == 0 {
		return moved{}, fmt.Errorf("unexpected script reply %v", cmd.Val())
	}
	m := moved{}
	m.code, _ = v[0].(int64)
	if m.code != outMoved {
		return m, nil
	}
	if len(v) < 3 || len(v)%2 != 1 {
		return moved{}, fmt.Errorf("unexpected script reply %v", cmd.Val())
	}
	m.oldUser, m.until, m.fields = str(v[1]), str(v[2]), v[3:]
	for i := 0; i+1 < len(m.fields); i += 2 {
		switch str(m.fields[i]) {
		case "u":
			m.user = str(m.fields[i+1])
		case "e":
			m.expires = str(m.fields[i+1])
		case "d":
			m.dead = str(m.fields[i+1])
		}
	}
	if m.expires == "" {
		return moved{}, errors.New("renewed record without an expiry")
	}
	return m, nil
}

// renewOut returns the call of step 1 of a Renew of oldID to newID.
func (s *Store) renewOut(oldID, newID string, d *driver.Delta, now time.Time) (*call, error) {
	args, err := deltaArgs([]any{ms(now), newID, "", ""}, d)
	if err != nil {
		return nil, err
	}
	return &call{script: renewOutScript, keys: []string{s.sessionKey(oldID)}, args: args}, nil
}

// renewIn returns the call of step 2 of a Renew: it writes what step 1
// took out under newID.
func (s *Store) renewIn(newID string, m moved) *call {
	args := make([]any, 0, 2+len(m.fields))
	args = append(args, m.until, m.expires)
	args = append(args, m.fields...)
	return &call{script: renewInScript, keys: []string{s.sessionKey(newID)}, args: args}
}

// Renew implements driver.Renewer, atomically on a Cluster too, where the
// two IDs live in different slots: step 1, a script on the old hash, takes
// the live record out with d applied and leaves a forward pointer; step
// 2, a script on the new hash, writes it unless a tombstone is there. The
// new ID enters the final user's index before step 2, and the old ID
// leaves its user's index only once step 2 has returned; see
// docs/internals/redisstore.md in the repository, "Renewal", for why no
// Delete, DeleteUser or CapUser can miss the session. When d sets the user and the deadline, as the Manager's always
// do, the index entry goes in step 1's pipeline: two round trips;
// otherwise it needs one of its own between the steps: three. The old
// ID's removal from the index, when the old record had a user, is one
// more.
//
// A failure between the steps (the server or the network fails, ctx
// ends) leaves the session under neither ID: it is logged out, never
// duplicated.
func (s *Store) Renew(ctx context.Context, oldID, newID string, d *driver.Delta) error {
	if err := ctx.Err(); err != nil {
		return wrap("renew", err)
	}
	if oldID == newID {
		return errors.New("redisstore: renew: the new ID is the old one")
	}
	s.use(ctx)
	now := time.Now()
	out, err := s.renewOut(oldID, newID, d, now)
	if err != nil {
		return wrap("renew", err)
	}
	fast := d.User != nil && !d.Deadline.IsZero()
	indexed := "" // the user whose index holds newID
	calls := []*call{out}
	if fast && *d.User != "" {
		indexed = *d.User
		calls = []*call{s.index(indexed, newID, d.Deadline, time.Time{}, now), out}
	}
	// cleanup removes the index entries given (user key, ID), in one
	// round trip, whatever ctx does: an entry of newID, which never went
	// live, or of oldID, which is a pointer for good.
	cleanup := func(entries ...[2]string) {
		c := context.WithoutCancel(ctx)
		var cmds []redis.Cmder
		for _, e := range entries {
			if e[1] != "" {
				cmds = append(cmds, redis.NewIntCmd(c, "zrem", e[0], e[1]))
			}
		}
		if len(cmds) > 0 {
			s.exec(c, nil, cmds...) // a failure leaves an entry that listing skips
		}
	}
	takeBack := func() [2]string { // newID never goes live: its entry can go
		if indexed == "" {
			return [2]string{}
		}
		return [2]string{s.userKey(indexed), newID}
	}
	if err := s.exec(ctx, calls); err != nil {
		if out.cmd != nil && out.cmd.Err() == nil {
			if m, _ := movedResult(out.cmd); m.code == outMoved {
				// Out of oldID but not indexed under newID: it cannot
				// safely land. The session ends.
				return wrap("renew: index", err)
			}
		}
		cleanup(takeBack())
		return wrap("renew", err)
	}
	m, err := movedResult(out.cmd)
	if err != nil {
		cleanup(takeBack())
		return wrap("renew", err)
	}
	switch m.code {
	case outMoved:
	case outRenewed:
		cleanup(takeBack())
		return renewed("renew")
	default:
		cleanup(takeBack())
		return notFound("renew")
	}
	if !fast && m.user != "" {
		deadline, err := parseMS(m.dead)
		if err != nil {
			return wrap("renew: malformed session", err)
		}
		indexed = m.user
		if err := s.exec(ctx, []*call{s.index(m.user, newID, deadline, time.Time{}, now)}); err != nil {
			cleanup(takeBack())
			return wrap("renew: index", err)
		}
	}
	if s.betweenSteps != nil {
		s.betweenSteps()
	}
	in := s.renewIn(newID, m)
	if err := s.exec(ctx, []*call{in}); err != nil {
		// Step 2 may have run: oldID keeps its entry, which listing
		// skips once newID is live, and the deadline prunes.
		return wrap("renew", err)
	}
	// Step 2 has returned: the session is live under newID, or ended for
	// good (refused). Only now may oldID leave the index: before, a
	// listing that missed it could find newID not live yet, and count
	// the session under neither (see docs/internals/redisstore.md,
	// "Renewal").
	old := [2]string{}
	if m.oldUser != "" {
		old = [2]string{s.userKey(m.oldUser), oldID}
	}
	if n, _ := in.cmd.Val().(int64); n != 1 {
		cleanup(takeBack(), old)
		return notFound("renew")
	}
	// A failed ZREM only leaves an entry for the pointer, which listing
	// skips (CapUser counts the pointer only if newID is not listed
	// live), revoking follows, and the deadline prunes.
	cleanup(old)
	return nil
}
