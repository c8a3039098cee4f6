package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// maxMoves bounds how many times Apply starts again because another
// request changed the session's user between its read and its write.
const maxMoves = 8

// The fields Apply reads of the session hash before a delta that sets a
// user or a deadline, by their position in the HMGET of applyRead.
const (
	readUser      = iota // u: the record's user
	readDeadline         // d: its deadline
	readExpires          // e: its expiry (a session or a forward pointer)
	readPointer          // f: set if the hash is a forward pointer
	readTombstone        // t: set if the hash is a tombstone
)

// applyRead is the HMGET field list, in the order of the read* positions.
var applyRead = [...]string{readUser: "u", readDeadline: "d", readExpires: "e", readPointer: "f", readTombstone: "t"}

// Apply implements driver.DeltaStore: one script on the session hash,
// which changes nothing and reports driver.ErrNotFound if there is no live
// record (and driver.ErrRenewed if the ID was renewed away), and deletes
// the record if an emptying delta leaves it without values and user.
//
// A delta that changes the user, or sets a new deadline, must first make
// the index right: it reads the record's user and deadline, writes the new
// user's index entry, and only then runs the script, which checks that the
// user is still the one read. The old user's entry goes after the record
// left that user. docs/internals/redisstore.md in the repository lists
// the round trips ("Round trips, operation by operation").
func (s *Store) Apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap("apply", err)
	}
	s.use(ctx)
	key := s.sessionKey(id)
	if plainDelta(d) {
		return false, s.applyPlain(ctx, key, d)
	}
	for range maxMoves {
		now := time.Now()
		args := []any{ms(now), "0", "0", ""}
		if d.Emptying() {
			args[1] = "1"
		}
		args, err := deltaArgs(args, d)
		if err != nil {
			return false, wrap("apply", err)
		}
		var added string // the user whose index this Apply added id to
		if d.User != nil && *d.User != "" || !d.Deadline.IsZero() {
			cur, err := s.rdb.HMGet(ctx, key, applyRead[:]...).Result()
			if err != nil {
				return false, wrap("apply", err)
			}
			expires, err := parseMS(str(cur[readExpires]))
			switch {
			case err != nil:
				return false, wrap("apply: malformed session", err)
			case cur[readTombstone] != nil || cur[readExpires] == nil || !now.Before(expires):
				return false, notFound("apply")
			case cur[readPointer] != nil:
				return false, renewed("apply")
			}
			old := str(cur[readUser])
			deadline, err := parseMS(str(cur[readDeadline]))
			if err != nil {
				return false, wrap("apply: malformed session", err)
			}
			final := old
			if d.User != nil {
				final = *d.User
			}
			if !d.Deadline.IsZero() {
				deadline = d.Deadline
			}
			if final != "" && (final != old || !d.Deadline.IsZero()) {
				// Index first, in a round trip of its own: the session
				// never belongs to a user whose index misses it.
				if err := s.exec(ctx, []*call{s.index(final, id, deadline, time.Time{}, now)}); err != nil {
					return false, wrap("apply: index", err)
				}
				if final != old {
					added = final
				}
			}
			args[2], args[3] = "1", old // the script checks the user read
		}
		apply := &call{script: applyScript, keys: []string{key}, args: args}
		if err := s.exec(ctx, []*call{apply}); err != nil {
			return false, wrap("apply", err)
		}
		code, prev, err := applyResult(apply.cmd)
		if err != nil {
			return false, wrap("apply", err)
		}
		switch code {
		case applyMoved:
			continue // another request changed the user: start again
		case applyNotFound, applyRenewed:
			if added != "" { // no session took the entry: take it back
				s.write(ctx, redis.NewIntCmd(ctx, "zrem", s.userKey(added), id))
			}
			if code == applyRenewed {
				return false, renewed("apply")
			}
			return false, notFound("apply")
		}
		final := prev
		if d.User != nil {
			final = *d.User
		}
		if code == applyDeleted {
			final = ""
		}
		if prev != "" && prev != final {
			// The record has left prev: now its entry can go.
			if err := s.write(ctx, redis.NewIntCmd(ctx, "zrem", s.userKey(prev), id)); err != nil {
				return code == applyDeleted, wrap("apply: unindex", err)
			}
		}
		return code == applyDeleted, nil
	}
	return false, fmt.Errorf("redisstore: apply: the session's user changed %d times during the call", maxMoves)
}

// plainDelta reports whether setScript can apply d: it touches neither the
// user nor the deadline, so the index stays as it is, and cannot empty the
// record.
func plainDelta(d *driver.Delta) bool {
	return !d.Emptying() && d.User == nil && d.Deadline.IsZero()
}

// applyPlain applies a plain delta d with setScript, in one call.
func (s *Store) applyPlain(ctx context.Context, key string, d *driver.Delta) error {
	args, err := fieldArgs([]any{ms(time.Now())}, d)
	if err != nil {
		return wrap("apply", err)
	}
	if d.Persist != nil {
		args = append(args, "p", "0")
		if *d.Persist {
			args[len(args)-1] = "1"
		}
	}
	if !d.Created.IsZero() {
		args = append(args, "c", ms(d.Created))
	}
	set := &call{script: setScript, keys: []string{key}, args: args}
	if err := s.exec(ctx, []*call{set}); err != nil {
		return wrap("apply", err)
	}
	switch code, _, err := applyResult(set.cmd); {
	case err != nil:
		return wrap("apply", err)
	case code == applyRenewed:
		return renewed("apply")
	case code == applyNotFound:
		return notFound("apply")
	}
	return nil
}

// applyResult parses the reply of applyScript and setScript.
func applyResult(cmd *redis.Cmd) (code int64, prev string, err error) {
	v, _ := cmd.Val().([]any)
	if len(v) != 2 {
		return 0, "", fmt.Errorf("unexpected script reply %v", cmd.Val())
	}
	code, _ = v[0].(int64)
	return code, str(v[1]), nil
}
