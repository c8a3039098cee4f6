// Package redisstore is a sesame.Store on Redis, through a go-redis v9
// [redis.UniversalClient]: a standalone server, Sentinel (a failover
// client) or Redis Cluster. It implements sesame.DeltaStore,
// sesame.UserStore and sesame.RevocationStore, and needs Redis 6.2 or
// later.
//
// # Layout
//
// Every key starts with [Options.Prefix]. For a session ID, a user and a
// user's revocation mark the store keeps:
//
//	PREFIX s:ID    hash: a field "v:"+key per value, holding its JSON, and
//	               the metadata fields u (user), c (created), l (last
//	               seen), d (deadline), e (expires) and p (persist), times
//	               in Unix milliseconds. Only value fields start with "v:",
//	               so no value key can collide with a metadata field.
//	PREFIX u:USER  sorted set: the user's session IDs, scored by deadline.
//	PREFIX r:USER  string: the user's revocation mark.
//
// Expiry is native: a session hash expires at its Expires (PEXPIREAT), a
// mark at its Expires, and a user index with its latest member. The store
// needs no purge, and never runs KEYS or SCAN.
//
// # Round trips
//
// Load is one HGETALL. Save, Apply (a write or a touch) and Delete each run
// one Lua script, atomic on the session hash, sent as EVALSHA, with the
// index update, if any, in the same pipeline: one round trip. So through a
// sesame.Manager an untouched request costs no round trip, a read 1, a new
// session 1, a blind write 1, a read-modify-write 2, and a read that is due
// an idle touch 2. A few rarer operations cost more:
//
//   - Delete of a session that has a user: 2 (the index entry goes second).
//   - Save over a record of another user: 2 (likewise). The Manager only
//     saves new IDs.
//   - Apply of a delta that sets the user: 2, or 3 if the user changes (the
//     record's deadline is read, then the new index entry written, before
//     the session changes hands). Log in with Renew, which saves a new
//     record, rather than SetUser alone.
//   - A script not cached by the server yet (first use, restart, failover,
//     new node): 1 more, once per server and script. [Store.LoadScripts]
//     loads them beforehand.
//
// Listing a user's sessions reads the index, in one pipeline that first
// prunes the members past their deadline, then all the listed hashes, in
// another: 2 round trips, and a third when it removes stale entries.
// Revoking all of a user's sessions reads the index, then deletes every
// session and index entry in one pipeline: 2 round trips. Neither depends
// on the number of the user's sessions or on the size of the store.
//
// # Cluster
//
// A session hash and its user's index hash to different slots, so no
// script or command touches both: each script works on the single key it
// is given, and the commands of a pipeline each go to their own key's node.
// go-redis splits a Cluster pipeline by node and sends the parts in
// parallel, so it still costs one round trip of latency (a go-redis hook
// sees it once, as on a single server). A hash tag in the prefix
// ("{app}:") would put every key in one slot, on one node.
//
// # Consistency of the index
//
// The index is scored by each session's deadline, its absolute end, which
// no touch or write moves: writes and touches, even blind ones that do not
// know the user, leave the index alone, and a score never understates how
// long a session may live. The index key expires with its latest member.
//
// A session is not left belonging to a user whose index misses it: Apply
// writes the new user's index entry before it changes the user, and Save
// deletes the record again (best effort) if its index update failed; for a
// new session, the Manager then never hands out the token. An entry may instead
// point to a session that ended early (idle timeout) or changed user:
// listing skips and removes such entries, revoking deletes a session only
// if it still belongs to the user, and every entry goes at its deadline.
//
// # Values
//
// Values are stored as JSON (sesame.MarshalValue) and loaded as
// json.RawMessage, which sesame.Get decodes into the caller's type.
//
// # Contexts and failures
//
// Every method returns the context's error if it is done before the call,
// and passes the context to go-redis, where a deadline bounds the call. To
// have a cancellation interrupt a call in flight, set ContextTimeoutEnabled
// in the client's options. While Redis is down, methods fail with
// go-redis's error, wrapped; they work again once it is back, since go-redis
// reconnects and the store reloads its scripts as needed.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame"
)

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "sesame:"

// valuePrefix starts the hash field of every value; metadata fields never
// start with it.
const valuePrefix = "v:"

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Prefix starts every key the store uses. If empty, DefaultPrefix
	// ("sesame:") is used. Give each application, or each test, sharing a
	// Redis its own prefix.
	Prefix string
}

// Store is a session store on Redis. It is safe for concurrent use. It
// starts no goroutine; the client stays the caller's to close.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var (
	_ sesame.DeltaStore      = (*Store)(nil)
	_ sesame.UserStore       = (*Store)(nil)
	_ sesame.RevocationStore = (*Store)(nil)
)

// New returns a Store on client: a *redis.Client, a failover client
// (Sentinel) or a *redis.ClusterClient. It makes no request. It panics if
// client is nil.
func New(client redis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("redisstore: New with a nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	return &Store{rdb: client, prefix: opts.Prefix}
}

// Prefix returns the prefix of the store's keys.
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) sessionKey(id string) string { return s.prefix + "s:" + id }
func (s *Store) userKey(user string) string  { return s.prefix + "u:" + user }
func (s *Store) markKey(user string) string  { return s.prefix + "r:" + user }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

func notFound(op string) error { return fmt.Errorf("redisstore: %s: %w", op, sesame.ErrNotFound) }

// Load implements sesame.Store with one HGETALL.
func (s *Store) Load(ctx context.Context, id string) (*sesame.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("load", err)
	}
	h, err := s.rdb.HGetAll(ctx, s.sessionKey(id)).Result()
	if err != nil {
		return nil, wrap("load", err)
	}
	if len(h) == 0 {
		return nil, notFound("load")
	}
	rec, err := decode(h)
	if err != nil {
		return nil, wrap("load", err)
	}
	if !time.Now().Before(rec.Expires) {
		return nil, notFound("load")
	}
	return rec, nil
}

// decode returns the record held in the hash h.
func decode(h map[string]string) (*sesame.Record, error) {
	rec := &sesame.Record{User: h["u"], Persist: h["p"] == "1"}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"c", &rec.Created}, {"l", &rec.LastSeen}, {"d", &rec.Deadline}, {"e", &rec.Expires}} {
		t, err := parseMS(h[f.name])
		if err != nil {
			return nil, fmt.Errorf("malformed session field %q: %w", f.name, err)
		}
		*f.t = t
	}
	for k, v := range h {
		if key, ok := strings.CutPrefix(k, valuePrefix); ok {
			if rec.Values == nil {
				rec.Values = make(map[string]any, max(len(h)-6, 1))
			}
			rec.Values[key] = json.RawMessage(v)
		}
	}
	return rec, nil
}

// Save implements sesame.Store: one script on the session hash, with the
// user index update in the same pipeline. If the index update fails while
// the hash was written, the hash is deleted and Save fails. Replacing a
// record that belonged to another user costs a second round trip, to
// remove it from that user's index. A record that has already expired is
// deleted instead.
func (s *Store) Save(ctx context.Context, id string, rec *sesame.Record) error {
	if err := ctx.Err(); err != nil {
		return wrap("save", err)
	}
	now := time.Now()
	if !now.Before(rec.Expires) {
		return s.Delete(ctx, id)
	}
	calls, save, err := s.saveCalls(id, rec, now)
	if err != nil {
		return wrap("save", err)
	}
	if err := s.exec(ctx, calls); err != nil {
		if len(calls) == 2 && calls[0].cmd.Err() != nil && save.cmd.Err() == nil {
			// Saved but not indexed, so a revoke of the user would miss
			// it: delete it rather than keep it (best effort).
			s.rdb.Del(ctx, s.sessionKey(id))
		}
		return wrap("save", err)
	}
	if old, _ := save.cmd.Val().(string); old != "" && old != rec.User {
		return wrap("save: unindex", s.rdb.ZRem(ctx, s.userKey(old), id).Err())
	}
	return nil
}

// saveCalls returns the calls that save rec under id: the index update, if
// any, then save, the script that writes the hash.
func (s *Store) saveCalls(id string, rec *sesame.Record, now time.Time) (calls []*call, save *call, err error) {
	persist := "0"
	if rec.Persist {
		persist = "1"
	}
	args := make([]any, 0, 13+2*len(rec.Values))
	args = append(args, ms(rec.Expires),
		"u", rec.User, "c", ms(rec.Created), "l", ms(rec.LastSeen),
		"d", ms(rec.Deadline), "e", ms(rec.Expires), "p", persist)
	for k, v := range rec.Values {
		b, err := sesame.MarshalValue(v)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, valuePrefix+k, string(b))
	}
	if rec.User != "" {
		calls = append(calls, s.index(rec.User, id, rec.Deadline, rec.Expires, now))
	}
	save = &call{script: saveScript, keys: []string{s.sessionKey(id)}, args: args}
	return append(calls, save), save, nil
}

// index returns the call that adds id to user's index, scored by the
// session's deadline (or its expiry, if later).
func (s *Store) index(user, id string, deadline, expires, now time.Time) *call {
	score := "+inf" // no deadline: no bound on the session's life
	if !deadline.IsZero() {
		score = ms(deadline)
		if expires.After(deadline) {
			score = ms(expires)
		}
	}
	return &call{script: indexScript, keys: []string{s.userKey(user)}, args: []any{ms(now), score, id}}
}

// Apply implements sesame.DeltaStore: one script on the session hash,
// which changes nothing and reports sesame.ErrNotFound if there is no live
// record. A delta that sets the user first reads the record's user and
// deadline; if the user changes, it then adds the session to the new
// user's index, and only then runs the script, with the removal from the
// old user's index in the same pipeline: three round trips.
func (s *Store) Apply(ctx context.Context, id string, d *sesame.Delta) error {
	if err := ctx.Err(); err != nil {
		return wrap("apply", err)
	}
	now := time.Now()
	args := make([]any, 0, 8+len(d.Delete)+2*len(d.Set))
	clearValues, setUser, user, persist := "0", "0", "", ""
	if d.Clear {
		clearValues = "1"
	}
	if d.User != nil {
		setUser, user = "1", *d.User
	}
	if d.Persist != nil {
		persist = "0"
		if *d.Persist {
			persist = "1"
		}
	}
	args = append(args, ms(now), ms(d.LastSeen), ms(d.Expires), clearValues, setUser, user, persist, len(d.Delete))
	for _, k := range d.Delete {
		args = append(args, valuePrefix+k)
	}
	for k, v := range d.Set {
		b, err := sesame.MarshalValue(v)
		if err != nil {
			return wrap("apply", err)
		}
		args = append(args, valuePrefix+k, string(b))
	}
	key := s.sessionKey(id)
	apply := &call{script: applyScript, keys: []string{key}, args: args}
	var cmds []redis.Cmder
	if d.User != nil {
		cur, err := s.rdb.HMGet(ctx, key, "u", "d", "e").Result()
		if err != nil {
			return wrap("apply", err)
		}
		old := str(cur[0])
		deadline, err1 := parseMS(str(cur[1]))
		expires, err2 := parseMS(str(cur[2]))
		if cur[2] == nil || !now.Before(expires) {
			return notFound("apply")
		}
		if err := errors.Join(err1, err2); err != nil {
			return wrap("apply", err)
		}
		if user != "" && user != old {
			// Index first, in a round trip of its own: the session never
			// belongs to a user whose index misses it.
			if err := s.exec(ctx, []*call{s.index(user, id, deadline, expires, now)}); err != nil {
				return wrap("apply: index", err)
			}
		}
		if old != "" && old != user {
			cmds = append(cmds, redis.NewIntCmd(ctx, "zrem", s.userKey(old), id))
		}
	}
	if err := s.exec(ctx, []*call{apply}, cmds...); err != nil {
		return wrap("apply", err)
	}
	if n, _ := apply.cmd.Val().(int64); n == 0 {
		if d.User != nil && user != "" { // the session ended meanwhile: take back its entry
			s.rdb.ZRem(ctx, s.userKey(user), id)
		}
		return notFound("apply")
	}
	return nil
}

// Delete implements sesame.Store: one script, plus a second round trip to
// remove the session from its user's index if it had a user.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return wrap("delete", err)
	}
	del := &call{script: deleteScript, keys: []string{s.sessionKey(id)}}
	if err := s.exec(ctx, []*call{del}); err != nil {
		return wrap("delete", err)
	}
	if user, _ := del.cmd.Val().(string); user != "" {
		return wrap("delete: unindex", s.rdb.ZRem(ctx, s.userKey(user), id).Err())
	}
	return nil
}

// members returns the IDs in user's index, after pruning those past their
// deadline: one round trip.
func (s *Store) members(ctx context.Context, user string, now time.Time) ([]string, error) {
	key := s.userKey(user)
	var ids *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, key, "-inf", "("+ms(now))
		ids = p.ZRange(ctx, key, 0, -1)
		return nil
	})
	return ids.Val(), err
}

// Sessions implements sesame.UserStore: it reads the user's index, then
// the listed sessions, in two round trips. Entries for sessions that ended
// or changed user are removed, in a third, only when there are any.
func (s *Store) Sessions(ctx context.Context, user string) ([]sesame.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("sessions", err)
	}
	now := time.Now()
	ids, err := s.members(ctx, user, now)
	if err != nil || len(ids) == 0 {
		return nil, wrap("sessions", err)
	}
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, s.sessionKey(id), "u", "c", "l", "e")
		}
		return nil
	})
	if err != nil {
		return nil, wrap("sessions", err)
	}
	list := make([]sesame.Info, 0, len(ids))
	var stale []any
	for i, id := range ids {
		v := cmds[i].Val()
		info := sesame.Info{ID: id, User: user}
		c, err1 := parseMS(str(v[1]))
		l, err2 := parseMS(str(v[2]))
		e, err3 := parseMS(str(v[3]))
		if str(v[0]) != user || v[3] == nil || errors.Join(err1, err2, err3) != nil || !now.Before(e) {
			stale = append(stale, id)
			continue
		}
		info.Created, info.LastSeen, info.Expires = c, l, e
		list = append(list, info)
	}
	if len(stale) > 0 {
		// Best effort: an entry left behind is skipped again next time,
		// and goes at its deadline anyway.
		s.rdb.ZRem(ctx, s.userKey(user), stale...)
	}
	return list, nil
}

// DeleteUser implements sesame.UserStore: it reads the user's index, then
// deletes every listed session that still belongs to the user, and the
// index entries, in one pipeline: two round trips in all.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrap("delete user", err)
	}
	ids, err := s.members(ctx, user, time.Now())
	if err != nil {
		return 0, wrap("delete user", err)
	}
	calls := make([]*call, 0, len(ids))
	zrem := []any{"zrem", s.userKey(user)}
	for _, id := range ids {
		if id == keep {
			continue
		}
		calls = append(calls, &call{script: deleteUserScript, keys: []string{s.sessionKey(id)}, args: []any{user}})
		zrem = append(zrem, id)
	}
	if len(calls) == 0 {
		return 0, nil
	}
	if err := s.exec(ctx, calls, redis.NewIntCmd(ctx, zrem...)); err != nil {
		return 0, wrap("delete user", err)
	}
	n := 0
	for _, c := range calls {
		if v, _ := c.cmd.Val().(int64); v == 1 {
			n++
		}
	}
	return n, nil
}

// SetRevocation implements sesame.RevocationStore: one SET that expires at
// r.Expires. A mark that has already expired is deleted instead.
func (s *Store) SetRevocation(ctx context.Context, user string, r sesame.Revocation) error {
	if err := ctx.Err(); err != nil {
		return wrap("set revocation", err)
	}
	key := s.markKey(user)
	if !time.Now().Before(r.Expires) {
		return wrap("set revocation", s.rdb.Del(ctx, key).Err())
	}
	v := ms(r.Before) + " " + ms(r.Expires) + " " + r.Keep
	return wrap("set revocation", s.rdb.SetArgs(ctx, key, v, redis.SetArgs{ExpireAt: r.Expires}).Err())
}

// Revocation implements sesame.RevocationStore with one GET.
func (s *Store) Revocation(ctx context.Context, user string) (sesame.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return sesame.Revocation{}, wrap("revocation", err)
	}
	v, err := s.rdb.Get(ctx, s.markKey(user)).Result()
	if errors.Is(err, redis.Nil) {
		return sesame.Revocation{}, nil
	}
	if err != nil {
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
	if !time.Now().Before(expires) {
		return sesame.Revocation{}, nil
	}
	return sesame.Revocation{Before: before, Keep: parts[2], Expires: expires}, nil
}

// ms formats t in Unix milliseconds, or "0" for the zero time.
func ms(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// parseMS parses what ms formats. An empty string is the zero time.
func parseMS(s string) (time.Time, error) {
	if s == "" || s == "0" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(n), nil
}

// str returns v as a string: "" for a nil reply.
func str(v any) string {
	s, _ := v.(string)
	return s
}
