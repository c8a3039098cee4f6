package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// The mark hash fields of a denied session ID: "d:"+ID if it was revoked,
// "r:"+ID if it was renewed away. Each holds the denial's expiry.
const (
	deniedPrefix  = "d:"
	renewedPrefix = "r:"
)

// SetRevocation implements driver.RevocationStore: one script on the
// user's mark hash, which drops the hash (UNLINK: a large one is freed off
// Redis's main thread) but for the live entry of r.Keep's ID, writes the
// mark (r.Before, r.Keep and r.Expires) with a count of 0 denied IDs, and
// makes the key expire at the later of r.Expires and the kept entry's
// expiry. Its cost does not depend on how many IDs were denied.
func (s *Store) SetRevocation(ctx context.Context, user string, r driver.Revocation) error {
	if err := ctx.Err(); err != nil {
		return wrap("set revocation", err)
	}
	s.use(ctx)
	keepDenied, keepRenewed := "", ""
	if r.Keep != "" {
		keepDenied, keepRenewed = deniedPrefix+r.Keep, renewedPrefix+r.Keep
	}
	c := &call{script: markScript, keys: []string{s.markKey(user)},
		args: []any{ms(time.Now()), ms(r.Before), r.Keep, ms(r.Expires), keepDenied, keepRenewed}}
	return wrap("set revocation", s.exec(ctx, []*call{c}))
}

// Deny implements driver.RevocationStore: one script on the user's mark
// hash, which reads the count of IDs denied since the mark and the ID's
// two entry fields (one HMGET), writes the ID's entry, counts the ID if it
// is new, and makes the key expire at the later of its current expiry and
// the entry's. Every command is O(1), whatever the number of denied IDs.
// Once driver.MaxDenied IDs were denied since the mark (counting those
// that have expired since, and, for a mark written by the previous
// version, every ID it denies), it adds nothing and returns false, even
// for an ID denied already. A second Deny of an ID does not count again:
// it replaces the ID's entry, merged with the first, so that a revocation
// is never weakened into a renewal, nor shortened (revoked wins, and the
// later expiry). An expires already past denies nothing,
// and returns true: the session has ended. It is atomic with respect to
// SetRevocation and other Denys: they are scripts on the same key.
func (s *Store) Deny(ctx context.Context, user, id string, renewed bool, expires time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap("deny", err)
	}
	s.use(ctx)
	flag := "0"
	if renewed {
		flag = "1"
	}
	c := &call{script: denyScript, keys: []string{s.markKey(user)},
		args: []any{deniedPrefix + id, renewedPrefix + id, ms(expires), driver.MaxDenied, ms(time.Now()), flag}}
	if err := s.exec(ctx, []*call{c}); err != nil {
		return false, wrap("deny", err)
	}
	switch n, _ := c.cmd.Val().(int64); n {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("redisstore: deny: unexpected script reply %v", c.cmd.Val())
}

// Revocation implements driver.RevocationStore with one HMGET of the mark
// fields and of the two entry fields of each of ids: its cost grows with
// len(ids), never with the number of denied IDs. A mark of the previous
// version (a string "before expires keep", until it is next written or
// expires) costs a GET more.
func (s *Store) Revocation(ctx context.Context, user string, ids ...string) (driver.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return driver.Revocation{}, wrap("revocation", err)
	}
	s.use(ctx)
	key := s.markKey(user)
	now := time.Now()
	fields := make([]string, 0, 3+2*len(ids))
	fields = append(fields, "b", "k", "x")
	for _, id := range ids {
		fields = append(fields, deniedPrefix+id, renewedPrefix+id)
	}
	v, err := s.rdb.HMGet(ctx, key, fields...).Result()
	if redis.HasErrorPrefix(err, "WRONGTYPE") {
		return s.legacyRevocation(ctx, user, now, ids)
	}
	if err != nil {
		return driver.Revocation{}, wrap("revocation", err)
	}
	if len(v) != len(fields) {
		return driver.Revocation{}, fmt.Errorf("redisstore: revocation: %d fields read, want %d", len(v), len(fields))
	}
	var r driver.Revocation
	if v[2] != nil {
		before, err1 := parseMS(str(v[0]))
		expires, err2 := parseMS(str(v[2]))
		if err := errors.Join(err1, err2); err != nil {
			return driver.Revocation{}, wrap("revocation: malformed mark", err)
		}
		if now.Before(expires) {
			r.Before, r.Keep, r.Expires = before, str(v[1]), expires
		}
	}
	for i, id := range ids {
		// Revoked comes last, to win over renewed away should both be
		// there (a Deny writes one and drops the other).
		for _, e := range []struct {
			v       any
			renewed bool
		}{{v[4+2*i], true}, {v[3+2*i], false}} {
			if e.v == nil {
				continue
			}
			until, err := parseMS(str(e.v))
			if err != nil {
				return driver.Revocation{}, wrap("revocation: malformed denied ID", err)
			}
			if now.Before(until) {
				if r.Denied == nil {
					r.Denied = make(map[string]bool, len(ids))
				}
				r.Denied[id] = e.renewed
			}
		}
	}
	return r, nil
}

// legacyRevocation reads a mark of the previous version: a string
// "before expires keep", times in Unix ms, which denies no ID.
func (s *Store) legacyRevocation(ctx context.Context, user string, now time.Time, ids []string) (driver.Revocation, error) {
	v, err := s.rdb.Get(ctx, s.markKey(user)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return driver.Revocation{}, nil
	case redis.HasErrorPrefix(err, "WRONGTYPE"): // converted meanwhile, for good
		return s.Revocation(ctx, user, ids...)
	case err != nil:
		return driver.Revocation{}, wrap("revocation", err)
	}
	parts := strings.SplitN(v, " ", 3)
	if len(parts) != 3 {
		return driver.Revocation{}, fmt.Errorf("redisstore: revocation: malformed mark %q", v)
	}
	before, err1 := parseMS(parts[0])
	expires, err2 := parseMS(parts[1])
	if err := errors.Join(err1, err2); err != nil {
		return driver.Revocation{}, wrap("revocation: malformed mark", err)
	}
	if !now.Before(expires) {
		return driver.Revocation{}, nil
	}
	return driver.Revocation{Before: before, Keep: parts[2], Expires: expires}, nil
}
