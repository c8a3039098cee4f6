package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "sesame:"

// valuePrefix starts the hash field of every value; metadata fields never
// start with it.
const valuePrefix = "v:"

// openTombstone is how long DeleteUser bars renewals into a listed ID
// that has no record yet, when its index score is +inf (a session saved
// without a deadline, which a sesame.Manager never does).
const openTombstone = 24 * time.Hour

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Prefix starts every key the store uses. If empty, DefaultPrefix
	// ("sesame:") is used. Give each application, or each test, sharing a
	// Redis its own prefix.
	Prefix string
	// Logger receives the store's only log records: those of the
	// eviction check that the store runs on its first use (see
	// SkipEvictionCheck). They name servers and policies, never a session
	// ID or a user. If nil, slog.Default() is used, as it is when the
	// record is logged.
	Logger *slog.Logger
	// SkipEvictionCheck, if true, turns off the check of the servers'
	// maxmemory-policy that the store otherwise runs once, in the first
	// call that uses it (see the package doc, "# Eviction"): a CONFIG GET
	// per server, which logs an error through Logger if a server may
	// evict the store's keys, and a warning if it cannot tell (CONFIG is
	// renamed, disabled or denied, as on many managed services). Set it
	// for such servers once you have made sure by other means that they
	// run maxmemory-policy noeviction. If false (the zero value), the
	// check runs.
	SkipEvictionCheck bool
}

// Store is a session store on Redis. It is safe for concurrent use. It
// starts no goroutine; the client stays the caller's to close.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	turns  turns // of Updates

	logger        *slog.Logger // nil: slog.Default()
	skipEviction  bool
	evictionCheck sync.Once // the check of the first use

	// betweenSteps, if set (by tests only), runs between the two steps
	// of a Renew, once the new ID is indexed.
	betweenSteps func()
	// updateLost, if set (by tests only), runs when an Update loses a
	// race, with the number of its tries so far, before its backoff.
	updateLost func(try int)
}

var (
	_ driver.Store           = (*Store)(nil)
	_ driver.DeltaStore      = (*Store)(nil)
	_ driver.Renewer         = (*Store)(nil)
	_ driver.Updater         = (*Store)(nil)
	_ driver.UserStore       = (*Store)(nil)
	_ driver.UserCapper      = (*Store)(nil)
	_ driver.UserDeleter     = (*Store)(nil)
	_ driver.RevocationStore = (*Store)(nil)
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
	return &Store{rdb: client, prefix: opts.Prefix, logger: opts.Logger, skipEviction: opts.SkipEvictionCheck}
}

// use is called by every method that talks to Redis, before it does: the
// first call runs the eviction check (see Options.SkipEvictionCheck), and
// those that come meanwhile wait for it; later calls cost nothing.
func (s *Store) use(ctx context.Context) {
	if !s.skipEviction {
		s.evictionCheck.Do(func() { s.logEviction(ctx) })
	}
}

// Prefix returns the prefix of the store's keys.
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) sessionKey(id string) string { return s.prefix + "s:" + id }
func (s *Store) userKey(user string) string  { return s.prefix + "u:" + user }
func (s *Store) markKey(user string) string  { return s.prefix + "r:" + user }
func (s *Store) capKey(user string) string   { return s.prefix + "c:" + user }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

func notFound(op string) error { return fmt.Errorf("redisstore: %s: %w", op, driver.ErrNotFound) }

func renewed(op string) error {
	return fmt.Errorf("redisstore: %s: %w: %w", op, driver.ErrNotFound, driver.ErrRenewed)
}

// Load implements driver.Store with one HGETALL. A forward pointer (the ID
// was renewed) gives an error wrapping driver.ErrNotFound and
// driver.ErrRenewed.
func (s *Store) Load(ctx context.Context, id string) (*driver.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("load", err)
	}
	s.use(ctx)
	h, err := s.rdb.HGetAll(ctx, s.sessionKey(id)).Result()
	if err != nil {
		return nil, wrap("load", err)
	}
	now := time.Now()
	if _, ok := h["t"]; ok || len(h) == 0 {
		return nil, notFound("load")
	}
	if _, ok := h["f"]; ok {
		if e, err := parseMS(h["e"]); err == nil && now.Before(e) {
			return nil, renewed("load")
		}
		return nil, notFound("load")
	}
	rec, err := decode(h)
	if err != nil {
		return nil, wrap("load", err)
	}
	if !now.Before(rec.Expires) {
		return nil, notFound("load")
	}
	return rec, nil
}

// metaFields is how many metadata fields a session hash has (the fields
// Save writes besides the values).
const metaFields = 9

// decode returns the record held in the session hash h. A record written
// before the fields a, g and i existed has none of them: it loads with a
// zero AuthenticatedAt and Device.
func decode(h map[string]string) (*driver.Record, error) {
	rec := &driver.Record{User: h["u"], Persist: h["p"] == "1",
		Device: driver.Device{UserAgent: h["g"], IP: h["i"]}}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"c", &rec.Created}, {"l", &rec.LastSeen}, {"d", &rec.Deadline}, {"e", &rec.Expires}, {"a", &rec.AuthenticatedAt}} {
		t, err := parseMS(h[f.name])
		if err != nil {
			return nil, fmt.Errorf("malformed session field %q: %w", f.name, err)
		}
		*f.t = t
	}
	for k, v := range h {
		if key, ok := strings.CutPrefix(k, valuePrefix); ok {
			if rec.Values == nil {
				rec.Values = make(map[string]any, max(len(h)-metaFields, 1))
			}
			rec.Values[key] = json.RawMessage(v)
		}
	}
	return rec, nil
}

// Save implements driver.Store: one script on the session hash, with the
// user index update in the same pipeline. If the index update fails while
// the hash was written, the hash is deleted and Save fails. Replacing a
// record that belonged to another user costs a second round trip, to
// remove it from that user's index, after the record left it. A record
// that has already expired is not written: the key is deleted instead.
func (s *Store) Save(ctx context.Context, id string, rec *driver.Record) error {
	if err := ctx.Err(); err != nil {
		return wrap("save", err)
	}
	s.use(ctx)
	now := time.Now()
	var calls []*call
	var save *call
	gone := !now.Before(rec.Expires)
	if !gone {
		var err error
		if calls, save, err = s.saveCalls(id, rec, now); err != nil {
			return wrap("save", err)
		}
	} else {
		// Replaced by an expired record: the script deletes the key.
		save = &call{script: saveScript, keys: []string{s.sessionKey(id)}, args: []any{ms(rec.Expires)}}
		calls = []*call{save}
	}
	if err := s.exec(ctx, calls); err != nil {
		if len(calls) == 2 && calls[0].cmd.Err() != nil && save.cmd.Err() == nil {
			// Saved but not indexed, so a revoke of the user would miss
			// it: delete it rather than keep it (best effort).
			s.rdb.Del(ctx, s.sessionKey(id))
		}
		return wrap("save", err)
	}
	if old, _ := save.cmd.Val().(string); old != "" && (old != rec.User || gone) {
		return wrap("save: unindex", s.rdb.ZRem(ctx, s.userKey(old), id).Err())
	}
	return nil
}

// saveCalls returns the calls that save rec under id: the index update, if
// any, then save, the script that writes the hash.
func (s *Store) saveCalls(id string, rec *driver.Record, now time.Time) (calls []*call, save *call, err error) {
	persist := "0"
	if rec.Persist {
		persist = "1"
	}
	args := make([]any, 0, 1+2*metaFields+2*len(rec.Values))
	args = append(args, ms(rec.Expires),
		"u", rec.User, "c", ms(rec.Created), "l", ms(rec.LastSeen),
		"d", ms(rec.Deadline), "e", ms(rec.Expires), "p", persist,
		"a", ms(rec.AuthenticatedAt), "g", rec.Device.UserAgent, "i", rec.Device.IP)
	for k, v := range rec.Values {
		b, err := driver.MarshalValue(v)
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

// deltaArgs appends d to args as the scripts take it (see scripts.go). The
// metadata fields a (d.AuthenticatedAt), g and i (d.Device) go with the
// field/value pairs to set, before the values, when d sets them.
func deltaArgs(args []any, d *driver.Delta) ([]any, error) {
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
	args = append(args, ms(d.LastSeen), ms(d.Expires), clearValues, setUser, user, persist,
		ms(d.Created), ms(d.Deadline), len(d.Delete))
	for _, k := range d.Delete {
		args = append(args, valuePrefix+k)
	}
	if !d.AuthenticatedAt.IsZero() {
		args = append(args, "a", ms(d.AuthenticatedAt))
	}
	if d.Device != nil {
		args = append(args, "g", d.Device.UserAgent, "i", d.Device.IP)
	}
	for k, v := range d.Set {
		b, err := driver.MarshalValue(v)
		if err != nil {
			return nil, fmt.Errorf("value %q: %w", k, err)
		}
		args = append(args, valuePrefix+k, string(b))
	}
	return args, nil
}

// maxMoves bounds how many times Apply starts again because another
// request changed the session's user between its read and its write.
const maxMoves = 8

// Apply implements driver.DeltaStore: one script on the session hash,
// which changes nothing and reports driver.ErrNotFound if there is no live
// record (and driver.ErrRenewed if the ID was renewed away), and deletes
// the record if an emptying delta leaves it without values and user.
//
// A delta that changes the user, or sets a new deadline, must first make
// the index right: it reads the record's user and deadline, writes the new
// user's index entry, and only then runs the script, which checks that the
// user is still the one read. The old user's entry goes after the record
// left that user. See the package doc for the round trips.
func (s *Store) Apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap("apply", err)
	}
	s.use(ctx)
	key := s.sessionKey(id)
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
			cur, err := s.rdb.HMGet(ctx, key, "u", "d", "e", "f", "t").Result()
			if err != nil {
				return false, wrap("apply", err)
			}
			expires, err := parseMS(str(cur[2]))
			switch {
			case err != nil:
				return false, wrap("apply: malformed session", err)
			case cur[4] != nil || cur[2] == nil || !now.Before(expires):
				return false, notFound("apply")
			case cur[3] != nil:
				return false, renewed("apply")
			}
			old := str(cur[0])
			deadline, err := parseMS(str(cur[1]))
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
				s.rdb.ZRem(ctx, s.userKey(added), id)
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
			if err := s.rdb.ZRem(ctx, s.userKey(prev), id).Err(); err != nil {
				return code == applyDeleted, wrap("apply: unindex", err)
			}
		}
		return code == applyDeleted, nil
	}
	return false, fmt.Errorf("redisstore: apply: the session's user changed %d times during the call", maxMoves)
}

// applyResult parses applyScript's reply.
func applyResult(cmd *redis.Cmd) (code int64, prev string, err error) {
	v, _ := cmd.Val().([]any)
	if len(v) != 2 {
		return 0, "", fmt.Errorf("unexpected script reply %v", cmd.Val())
	}
	code, _ = v[0].(int64)
	return code, str(v[1]), nil
}

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
				return true, wrap(op+": unindex", s.rdb.ZRem(ctx, s.userKey(k.user), id).Err())
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
	driver.
		Info
	score string // its index score: Unix ms, or "+inf"
	to    string // a pointer's new ID
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
			cmds[i] = p.HMGet(ctx, s.sessionKey(m.Member.(string)), "u", "c", "l", "e", "f", "t", "a", "g", "i")
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	found = make([]listed, 0, len(members))
	for i, m := range members {
		v := cmds[i].Val()
		c, err1 := parseMS(str(v[1]))
		l, err2 := parseMS(str(v[2]))
		e, err3 := parseMS(str(v[3]))
		a, err4 := parseMS(str(v[6]))
		if str(v[0]) != user || v[3] == nil || v[5] != nil || errors.Join(err1, err2, err3, err4) != nil || !now.Before(e) {
			continue
		}
		score := "+inf"
		if !math.IsInf(m.Score, 1) {
			score = strconv.FormatInt(int64(m.Score), 10)
		}
		id := m.Member.(string)
		if v[4] != nil {
			moving = append(moving, listed{driver.Info{ID: id, User: user, Expires: e}, score, str(v[4])})
			continue
		}
		found = append(found, listed{driver.Info{
			ID: id, User: user, Created: c, LastSeen: l, Expires: e,
			AuthenticatedAt: a, Device: driver.Device{UserAgent: str(v[7]), IP: str(v[8])},
		}, score, ""})
	}
	return found, moving, nil
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
