package redisstore

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// members returns user's index, with scores, after pruning the members
// past their deadline: one round trip. Nothing else ever removes a member
// that might be live: an entry whose session is missing or has another
// user may be one whose write is in flight.
func (s *Store) members(ctx context.Context, user string, now time.Time) ([]redis.Z, error) {
	key := s.userKey(user)
	var z *redis.ZSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, key, "-inf", "("+ms(now))
		z = p.ZRangeWithScores(ctx, key, 0, -1)
		return nil
	})
	return z.Val(), err
}

// Sessions implements driver.UserStore: it reads the user's index, then
// the listed sessions, in two round trips. It skips entries whose session
// ended early, changed user or has no record (yet), and removes none:
// entries go at their deadline, or when a Delete, DeleteUser, Apply or
// Renew takes its own session out.
func (s *Store) Sessions(ctx context.Context, user string) ([]driver.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("sessions", err)
	}
	s.use(ctx)
	found, _, err := s.live(ctx, user, time.Now())
	if err != nil || len(found) == 0 {
		return nil, wrap("sessions", err)
	}
	list := make([]driver.Info, len(found))
	for i, f := range found {
		list[i] = f.Info
	}
	return list, nil
}

// listed is a live session of a user, or a live forward pointer of the
// user, as its index and its hash told.
type listed struct {
	driver.Info
	score string // its index score: Unix ms, or "+inf"
	to    string // a pointer's new ID
}

// The fields live reads of each listed hash, by their position in the
// HMGET of listRead.
const (
	listUser      = iota // u: the session's user
	listCreated          // c
	listLastSeen         // l
	listDeadline         // d
	listExpires          // e: the expiry of a session or a forward pointer
	listPointer          // f: a forward pointer's new ID
	listTombstone        // t: set if the hash is a tombstone
	listAuthAt           // a: AuthenticatedAt
	listUserAgent        // g: the device's User-Agent
	listIP               // i: the device's IP
)

// listRead is the HMGET field list, in the order of the list* positions.
var listRead = [...]string{
	listUser: "u", listCreated: "c", listLastSeen: "l", listDeadline: "d", listExpires: "e",
	listPointer: "f", listTombstone: "t", listAuthAt: "a", listUserAgent: "g", listIP: "i",
}

// live returns the live sessions of user, and its live forward pointers
// (whose Info holds the ID, the user and the pointer's expiry): its index
// (see members), then the listed hashes in one pipeline, two round trips
// in all. It skips the entries whose session ended early, changed user, is
// a tombstone or has no record (yet).
func (s *Store) live(ctx context.Context, user string, now time.Time) (found, moving []listed, err error) {
	members, err := s.members(ctx, user, now)
	if err != nil || len(members) == 0 {
		return nil, nil, err
	}
	cmds := make([]*redis.SliceCmd, len(members))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range members {
			cmds[i] = p.HMGet(ctx, s.sessionKey(m.Member.(string)), listRead[:]...)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	found = make([]listed, 0, len(members))
	for i, m := range members {
		v := cmds[i].Val()
		c, err1 := parseMS(str(v[listCreated]))
		l, err2 := parseMS(str(v[listLastSeen]))
		d, err3 := parseMS(str(v[listDeadline]))
		e, err4 := parseMS(str(v[listExpires]))
		a, err5 := parseMS(str(v[listAuthAt]))
		if str(v[listUser]) != user || v[listExpires] == nil || v[listTombstone] != nil ||
			errors.Join(err1, err2, err3, err4, err5) != nil || !now.Before(e) {
			continue
		}
		score := "+inf"
		if !math.IsInf(m.Score, 1) {
			score = strconv.FormatInt(int64(m.Score), 10)
		}
		id := m.Member.(string)
		if v[listPointer] != nil {
			moving = append(moving, listed{driver.Info{ID: id, User: user, Expires: e}, score, str(v[listPointer])})
			continue
		}
		found = append(found, listed{driver.Info{
			ID: id, User: user, Created: c, LastSeen: l, Expires: e, Deadline: d,
			AuthenticatedAt: a, Device: driver.Device{UserAgent: str(v[listUserAgent]), IP: str(v[listIP])},
		}, score, ""})
	}
	return found, moving, nil
}
