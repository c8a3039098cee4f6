package redisstore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// openTombstone is how long DeleteUser bars renewals into a listed ID
// that has no record yet, when its index score is +inf (a session saved
// without a deadline, which a sesame.Manager never does).
const openTombstone = 24 * time.Hour

// killed is deleteScript's reply.
type killed struct {
	code   int64
	user   string    // delKilled: the session's user
	target string    // delPointer: the ID renewed to
	until  time.Time // delPointer: the pointer's expiry
}

func killResult(cmd *redis.Cmd) (killed, error) {
	v, _ := cmd.Val().([]any)
	if len(v) == 0 {
		return killed{}, fmt.Errorf("unexpected script reply %v", cmd.Val())
	}
	k := killed{}
	k.code, _ = v[0].(int64)
	switch {
	case k.code == delKilled && len(v) == 2:
		k.user = str(v[1])
	case k.code == delPointer && len(v) == 3:
		k.target = str(v[1])
		until, err := parseMS(str(v[2]))
		if err != nil {
			return killed{}, fmt.Errorf("malformed forward pointer: %w", err)
		}
		k.until = until
	case k.code == delKilled || k.code == delPointer:
		return killed{}, fmt.Errorf("unexpected script reply %v", cmd.Val())
	}
	return k, nil
}

// kill returns the deleteScript call for id. user "" matches any user; a
// zero until leaves no tombstone on a missing key.
func (s *Store) kill(id, user string, until, now time.Time) *call {
	tomb := ""
	if !until.IsZero() {
		tomb = ms(until)
	}
	return &call{script: deleteScript, keys: []string{s.sessionKey(id)}, args: []any{ms(now), user, tomb}}
}

// Delete implements driver.Store: one script, plus a second round trip to
// remove the session from its user's index if it had a user. Deleting a
// renewed ID follows its forward pointers, one round trip each, however
// many renewals the chain holds, and deletes the session at the end of
// the chain; if that has no record yet (its Renew is between its two
// steps), it leaves a tombstone there, which the Renew's second step
// refuses. Delete reports true when it deleted a live session or left
// such a tombstone, and never reports success while a session renewed
// from id is live: if ctx ends before the end of the chain, it returns
// ctx's error.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap("delete", err)
	}
	s.use(ctx)
	return s.del(ctx, "delete", id, "")
}

// del is Delete of id if it is a session or a forward pointer of user ("":
// of any user), for the operation op. It follows the chain of forward
// pointers to its end, one round trip per hop: nothing bounds the chain
// but the store's contents (a pointer lives as long as the record it
// replaced, and IDs are never reused while it does) and ctx, which it
// checks before each hop. A chain that leads back to an ID it has
// followed (which only a reused ID could make) leads to no live session:
// del reports an error rather than loop.
func (s *Store) del(ctx context.Context, op, id, user string) (bool, error) {
	now := time.Now()
	var until time.Time      // the expiry of the pointer followed to id, if any
	var seen map[string]bool // the pointers followed, once there are several
	for hop := 0; ; hop++ {
		if hop > 0 {
			user = "" // a pointer of user leads to its session, whoever's
			if err := ctx.Err(); err != nil {
				return false, fmt.Errorf("redisstore: %s: after %d renewals of the chain: %w", op, hop, err)
			}
		}
		c := s.kill(id, user, until, now)
		if err := s.exec(ctx, []*call{c}); err != nil {
			return false, wrap(op, err)
		}
		k, err := killResult(c.cmd)
		if err != nil {
			return false, wrap(op, err)
		}
		switch k.code {
		case delKilled:
			if k.user != "" {
				return true, wrap(op+": unindex", s.write(ctx, redis.NewIntCmd(ctx, "zrem", s.userKey(k.user), id)))
			}
			return true, nil
		case delPointer:
			if seen == nil {
				seen = make(map[string]bool)
			}
			if seen[id] {
				return false, fmt.Errorf("redisstore: %s: the chain of renewals loops back to an ID after %d renewals", op, hop)
			}
			seen[id] = true
			id, until = k.target, k.until
		case delTombstoned:
			return true, nil
		default:
			return false, nil
		}
	}
}

// DeleteUser implements driver.UserStore. It reads the user's index (one
// round trip), then runs one script per listed ID but keep (one pipeline):
// a live session of the user is deleted and counted; a forward pointer of
// the user is followed, in one pipeline per hop, and the session it leads
// to is deleted and counted (or, if that has no record yet, a tombstone
// bars its Renew's second step); a listed ID with no record gets a
// tombstone until its index score, for the same reason, and is neither
// counted nor removed from the index, since a Save may be writing it.
// Then, in a last round trip, it removes from the indexes exactly the
// entries of what it deleted. Three round trips in all when no renewal is
// in flight.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrap("delete user", err)
	}
	s.use(ctx)
	now := time.Now()
	members, err := s.members(ctx, user, now)
	if err != nil {
		return 0, wrap("delete user", err)
	}
	type target struct {
		id    string
		first bool // listed in user's index, not reached through a pointer
	}
	var level []target
	var calls []*call
	for _, m := range members {
		id := m.Member.(string)
		if id == keep {
			continue
		}
		until := now.Add(openTombstone)
		if !math.IsInf(m.Score, 1) {
			until = time.UnixMilli(int64(m.Score))
		}
		level = append(level, target{id, true})
		calls = append(calls, s.kill(id, user, until, now))
	}
	n := 0
	unindex := map[string][]any{} // user key -> IDs to remove
	stopped := map[string]bool{}  // listed IDs without a record, now tombstones
	followed := map[string]bool{} // IDs reached through a pointer
	for hop := 0; len(calls) > 0; hop++ {
		if hop > 0 {
			if err := ctx.Err(); err != nil {
				return n, fmt.Errorf("redisstore: delete user: after %d renewals of a chain: %w", hop, err)
			}
		}
		if err := s.exec(ctx, calls, zrems(ctx, unindex)...); err != nil {
			return n, wrap("delete user", err)
		}
		clear(unindex)
		results := make([]killed, len(calls))
		for i, c := range calls {
			k, err := killResult(c.cmd)
			if err != nil {
				return n, wrap("delete user", err)
			}
			results[i] = k
			if k.code == delTombstoned && level[i].first {
				stopped[level[i].id] = true
			}
		}
		var next []target
		var nextCalls []*call
		for i, k := range results {
			t := level[i]
			switch k.code {
			case delKilled:
				n++
				if k.user != "" {
					unindex[s.userKey(k.user)] = append(unindex[s.userKey(k.user)], t.id)
				}
			case delPointer:
				// The pointer's ID is dead for good: its entry can go.
				unindex[s.userKey(user)] = append(unindex[s.userKey(user)], t.id)
				if stopped[k.target] {
					n++ // a renewal in flight, stopped by the tombstone just left
					continue
				}
				if followed[k.target] {
					// Reached already, and ended or followed then as
					// now: only a reused ID makes a chain loop back.
					continue
				}
				followed[k.target] = true
				next = append(next, target{k.target, false})
				nextCalls = append(nextCalls, s.kill(k.target, "", k.until, now))
			case delTombstoned:
				if !t.first {
					n++ // a renewal in flight, stopped
				}
			}
		}
		level, calls = next, nextCalls
	}
	if len(unindex) > 0 {
		if err := s.exec(ctx, nil, zrems(ctx, unindex)...); err != nil {
			return n, wrap("delete user: unindex", err)
		}
	}
	return n, nil
}

// zrems returns one ZREM per user index key of unindex.
func zrems(ctx context.Context, unindex map[string][]any) []redis.Cmder {
	cmds := make([]redis.Cmder, 0, len(unindex))
	for key, ids := range unindex {
		cmds = append(cmds, redis.NewIntCmd(ctx, append([]any{"zrem", key}, ids...)...))
	}
	return cmds
}
