package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
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
	// Replicas, if positive, makes every write of the store wait until
	// that many replicas have acknowledged it: each command or pipeline
	// that writes is followed by WAIT Replicas ReplicaTimeout on the same
	// connection, in the same pipeline, so that a write costs no round
	// trip more, only the time the replicas take to acknowledge it. A
	// write that fewer replicas acknowledged within ReplicaTimeout
	// returns an error wrapping ErrNotReplicated: it was made on the
	// master, but is not acknowledged. With asynchronous replication
	// (Replicas 0, the zero value) a failover, or the loss of the
	// master, can lose writes that the store acknowledged, a revocation
	// among them, which brings a session back; with Replicas set, every
	// acknowledged write is on that many replicas, of which a Sentinel
	// promotes one. It needs a *redis.Client (a standalone server with
	// replicas, or redis.NewFailoverClient): New panics for a Cluster or
	// a Ring, where go-redis sends WAIT to another connection than the
	// writes. See the package doc, "Replication".
	Replicas int
	// ReplicaTimeout bounds each WAIT of Replicas. If zero,
	// DefaultReplicaTimeout (1s) is used. It must be below the client's
	// ReadTimeout (3s by default), or New panics: the pipeline is read
	// under ReadTimeout.
	ReplicaTimeout time.Duration
}

// Store is a session store on Redis. It is safe for concurrent use. It
// starts no goroutine; the client stays the caller's to close.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	turns  turns // of Updates

	logger        *slog.Logger // nil: slog.Default()
	skipEviction  bool
	evictionCheck sync.Once   // the check of the first use
	replication   replication // Options.Replicas: the WAIT after each write

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
	_ driver.Creator         = (*Store)(nil)
	_ driver.Renewer         = (*Store)(nil)
	_ driver.Updater         = (*Store)(nil)
	_ driver.UserStore       = (*Store)(nil)
	_ driver.UserCapper      = (*Store)(nil)
	_ driver.UserDeleter     = (*Store)(nil)
	_ driver.RevocationStore = (*Store)(nil)
	_ driver.Stater          = (*Store)(nil)
)

// New returns a Store on client: a *redis.Client, a failover client
// (Sentinel) or a *redis.ClusterClient. It makes no request. It panics if
// client is nil, and on Options.Replicas or ReplicaTimeout that cannot
// work with client (see Options).
func New(client redis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("redisstore: New with a nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	return &Store{rdb: client, prefix: opts.Prefix, logger: opts.Logger, skipEviction: opts.SkipEvictionCheck,
		replication: newReplication(client, opts)}
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
	args, err := fields([]any{ms(rec.Expires)}, rec)
	if err != nil {
		return nil, nil, err
	}
	if rec.User != "" {
		calls = append(calls, s.index(rec.User, id, rec.Deadline, rec.Expires, now))
	}
	save = &call{script: saveScript, keys: []string{s.sessionKey(id)}, args: args}
	return append(calls, save), save, nil
}

// fields appends the field/value pairs of rec's session hash to args: the
// metadata fields, but those that would hold a zero value (a missing field
// reads as one: see decode), then the values.
func fields(args []any, rec *driver.Record) ([]any, error) {
	args = slices.Grow(args, 2*metaFields+2*len(rec.Values))
	args = append(args, "c", ms(rec.Created), "l", ms(rec.LastSeen), "e", ms(rec.Expires))
	for _, f := range [...]struct{ name, value string }{
		{"u", rec.User}, {"d", ms(rec.Deadline)}, {"a", ms(rec.AuthenticatedAt)},
		{"g", rec.Device.UserAgent}, {"i", rec.Device.IP},
	} {
		if f.value != "" && f.value != "0" {
			args = append(args, f.name, f.value)
		}
	}
	if rec.Persist {
		args = append(args, "p", "1")
	}
	for k, v := range rec.Values {
		b, err := driver.MarshalValue(v)
		if err != nil {
			return nil, err
		}
		args = append(args, valuePrefix+k, string(b))
	}
	return args, nil
}

// Create implements driver.Creator. The hash of a new anonymous session
// is written by HSET and PEXPIREAT in one MULTI/EXEC: one round trip and
// no script, since no old hash can be there to read or remove. A record
// with a user, or one already expired, is saved as Save saves it, so that
// its index entry is written first; so is every record when
// Options.Replicas is set, since a WAIT inside a MULTI does not wait.
func (s *Store) Create(ctx context.Context, id string, rec *driver.Record) error {
	if rec.User != "" || !time.Now().Before(rec.Expires) || s.replication.n > 0 {
		return s.Save(ctx, id, rec)
	}
	if err := ctx.Err(); err != nil {
		return wrap("create", err)
	}
	s.use(ctx)
	args, err := fields(nil, rec)
	if err != nil {
		return wrap("create", err)
	}
	key := s.sessionKey(id)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, args...)
		p.PExpireAt(ctx, key, rec.Expires)
		return nil
	})
	return wrap("create", err)
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
	args = append(args, clearValues, setUser, user, persist, ms(d.Created), ms(d.Deadline), len(d.Delete))
	for _, k := range d.Delete {
		args = append(args, valuePrefix+k)
	}
	return fieldArgs(args, d)
}

// fieldArgs appends the fields d sets, as field and value pairs: l and e
// (the last seen time and the expiry, always first), a, g and i if d sets
// them, and the values.
func fieldArgs(args []any, d *driver.Delta) ([]any, error) {
	args = append(args, "l", ms(d.LastSeen), "e", ms(d.Expires))
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
