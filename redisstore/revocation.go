package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame"
)

// deniedPrefix starts the mark hash field of every denied session ID.
const deniedPrefix = "d:"

// SetRevocation implements sesame.RevocationStore: one script on the
// user's mark hash, which replaces its fields b, k and x (r.Before, r.Keep
// and r.Expires), keeps its denied IDs, drops what has expired, and makes
// the key expire at the latest time it still holds. A mark of the previous
// version (a string) is converted first.
func (s *Store) SetRevocation(ctx context.Context, user string, r sesame.Revocation) error {
	if err := ctx.Err(); err != nil {
		return wrap("set revocation", err)
	}
	c := &call{script: markScript, keys: []string{s.markKey(user)},
		args: []any{ms(time.Now()), "b", ms(r.Before), "k", r.Keep, "x", ms(r.Expires)}}
	return wrap("set revocation", s.exec(ctx, []*call{c}))
}

// Deny implements sesame.RevocationStore: one script on the user's mark
// hash, which adds the field "d:"+id holding expires, drops what has
// expired, and makes the key expire at the latest time it still holds. It
// is atomic with respect to SetRevocation and other Denys: they are
// scripts on the same key.
func (s *Store) Deny(ctx context.Context, user, id string, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("deny", err)
	}
	c := &call{script: markScript, keys: []string{s.markKey(user)},
		args: []any{ms(time.Now()), deniedPrefix + id, ms(expires)}}
	return wrap("deny", s.exec(ctx, []*call{c}))
}

// Revocation implements sesame.RevocationStore with one HGETALL. A mark of
// the previous version (a string "before expires keep", until it is next
// written or expires) costs a GET more.
func (s *Store) Revocation(ctx context.Context, user string) (sesame.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return sesame.Revocation{}, wrap("revocation", err)
	}
	key := s.markKey(user)
	now := time.Now()
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if redis.HasErrorPrefix(err, "WRONGTYPE") {
		return s.legacyRevocation(ctx, user, now)
	}
	if err != nil {
		return sesame.Revocation{}, wrap("revocation", err)
	}
	var r sesame.Revocation
	if x, ok := h["x"]; ok {
		before, err1 := parseMS(h["b"])
		expires, err2 := parseMS(x)
		if err := errors.Join(err1, err2); err != nil {
			return sesame.Revocation{}, wrap("revocation: malformed mark", err)
		}
		if now.Before(expires) {
			r.Before, r.Keep, r.Expires = before, h["k"], expires
		}
	}
	for f, v := range h {
		id, ok := strings.CutPrefix(f, deniedPrefix)
		if !ok {
			continue
		}
		until, err := parseMS(v)
		if err != nil {
			return sesame.Revocation{}, wrap("revocation: malformed denied ID", err)
		}
		if now.Before(until) {
			if r.Denied == nil {
				r.Denied = make(map[string]time.Time, len(h))
			}
			r.Denied[id] = until
		}
	}
	return r, nil
}

// legacyRevocation reads a mark of the previous version: a string
// "before expires keep", times in Unix ms.
func (s *Store) legacyRevocation(ctx context.Context, user string, now time.Time) (sesame.Revocation, error) {
	v, err := s.rdb.Get(ctx, s.markKey(user)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return sesame.Revocation{}, nil
	case redis.HasErrorPrefix(err, "WRONGTYPE"): // converted meanwhile, for good
		return s.Revocation(ctx, user)
	case err != nil:
		return sesame.Revocation{}, wrap("revocation", err)
	}
	parts := strings.SplitN(v, " ", 3)
	if len(parts) != 3 {
		return sesame.Revocation{}, fmt.Errorf("redisstore: revocation: malformed mark %q", v)
	}
	before, err1 := parseMS(parts[0])
	expires, err2 := parseMS(parts[1])
	if err := errors.Join(err1, err2); err != nil {
		return sesame.Revocation{}, wrap("revocation: malformed mark", err)
	}
	if !now.Before(expires) {
		return sesame.Revocation{}, nil
	}
	return sesame.Revocation{Before: before, Keep: parts[2], Expires: expires}, nil
}
