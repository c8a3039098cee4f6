// Package memstore is an in-process driver.Store: fast, with nothing to run,
// and lost on restart. Use it for development, tests and single-process apps.
//
// Values are kept as the Go values that were Put, never encoded, so a read
// costs no decoding. Do not modify a value after putting it in a session.
//
// The store implements every optional interface of sesame: delta commits
// and renewals are applied atomically under one lock, sessions are indexed
// by user, revocation marks are kept for cookie-only sessions, and a
// janitor goroutine purges expired sessions, renewal records and marks
// until Close.
//
// Every reader gets the same stored value: sesame.Get hands out a copy of a
// value that holds maps, slices or pointers, so that parallel requests can
// modify what they read. Plain values (numbers, strings, structs of them)
// are returned as they are, without a copy.
package memstore

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/internal/janitor"
)

// DefaultCleanupInterval is how often the janitor purges expired sessions.
const DefaultCleanupInterval = time.Minute

// Store is an in-memory session store. The zero value is not usable; call
// New. It is safe for concurrent use.
type Store struct {
	mu   sync.RWMutex
	recs map[string]*driver.Record // modified in place only if owned
	// owned holds the IDs of the large records (inPlaceMin values or
	// more) that no reader has been handed since their last write: Apply
	// and Update change those in place, and copy the others. Load takes
	// its record out of owned, so that what it returns never changes.
	owned   map[string]struct{}
	users   map[string]map[string]struct{}
	renewed map[string]renewal // by old ID
	marks   map[string]*mark   // by user

	janitor *janitor.Janitor
}

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// CleanupInterval is how often the janitor purges expired sessions,
	// renewal records, revocation marks and denied IDs. If zero,
	// DefaultCleanupInterval (1m) is used; if negative, there is no
	// janitor (expired records are still never returned, and Purge
	// removes them).
	CleanupInterval time.Duration
	// Logger receives the janitor's errors and purge counts; it never
	// receives a session ID. If nil, slog.Default() is used.
	Logger *slog.Logger
}

// inPlaceMin is the number of values from which a record is changed in
// place when the store owns it (see Store.owned). A smaller record is
// copied on write, which costs less than tracking it; a larger one would
// make a one-key write cost as much as the session.
const inPlaceMin = 32

// New returns an empty Store and starts its janitor. Call Close to stop it.
func New(opts Options) *Store {
	s := &Store{
		recs:    make(map[string]*driver.Record),
		owned:   make(map[string]struct{}),
		users:   make(map[string]map[string]struct{}),
		renewed: make(map[string]renewal),
		marks:   make(map[string]*mark),
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s.janitor = janitor.Start(janitor.Interval(opts.CleanupInterval, DefaultCleanupInterval), s.Purge, log, "memstore")
	return s
}

// renewal records that an ID was renewed to another, until the old record
// would have expired.
type renewal struct {
	to      string
	expires time.Time
}

// mark is a user's revocation mark and denied IDs.
type mark struct {
	driver.Revocation // without Denied
	denied            map[string]denial
	count             int // Denys since the last mark
}

// denial is a denied session ID's entry.
type denial struct {
	renewed bool
	expires time.Time
}

var (
	errNotFound = fmt.Errorf("memstore: %w", driver.ErrNotFound)
	errRenewed  = fmt.Errorf("memstore: %w: %w", driver.ErrNotFound, driver.ErrRenewed)
	errExpired  = fmt.Errorf("memstore: %w: %w", driver.ErrNotFound, driver.ErrExpired)
)

var (
	_ driver.DeltaStore      = (*Store)(nil)
	_ driver.Renewer         = (*Store)(nil)
	_ driver.Updater         = (*Store)(nil)
	_ driver.UserStore       = (*Store)(nil)
	_ driver.UserCapper      = (*Store)(nil)
	_ driver.Purger          = (*Store)(nil)
	_ driver.RevocationStore = (*Store)(nil)
)

// Close stops what the store started (its janitor, waiting for a purge in
// progress to end) and closes what it opened (nothing else); it leaves alone
// what the caller passed to it. Use the store no more after Close. Close may
// be called more than once.
func (s *Store) Close() error {
	s.janitor.Stop()
	return nil
}

// Load implements driver.Store. The record returned is shared and must not
// be modified; the store does not modify it either.
func (s *Store) Load(ctx context.Context, id string) (*driver.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := time.Now()
	s.mu.RLock()
	rec, err := s.live(id, now)
	_, owned := s.owned[id]
	s.mu.RUnlock()
	if !owned {
		return rec, err
	}
	// The first read since a write of a large record: from now on the
	// store copies it before changing it.
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.owned, id)
	return s.live(id, now)
}

// live returns the live record stored under id. s.mu is held.
func (s *Store) live(id string, now time.Time) (*driver.Record, error) {
	rec := s.recs[id]
	if rec != nil && now.Before(rec.Expires) {
		return rec, nil
	}
	if r, ok := s.renewed[id]; ok && now.Before(r.expires) {
		return nil, errRenewed
	}
	if rec != nil {
		return nil, errExpired
	}
	return nil, errNotFound
}

// Save implements driver.Store.
func (s *Store) Save(ctx context.Context, id string, rec *driver.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	prev := ""
	if old := s.recs[id]; old != nil {
		prev = old.User
	}
	s.set(id, rec, prev, false) // handed over by the caller (see driver.Store.Save)
	s.mu.Unlock()
	return nil
}

// Apply implements driver.DeltaStore.
func (s *Store) Apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.live(id, time.Now())
	if err != nil {
		return false, err
	}
	prev := cur.User
	rec := s.writable(id, cur)
	d.ApplyTo(rec)
	if rec.Empty() {
		s.drop(id, prev)
		return true, nil
	}
	s.set(id, rec, prev, true)
	return false, nil
}

// Renew implements driver.Renewer, under the store's lock.
func (s *Store) Renew(ctx context.Context, oldID, newID string, d *driver.Delta) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.live(oldID, time.Now())
	if err != nil {
		return err
	}
	prev, expires := cur.User, cur.Expires
	rec := s.writable(oldID, cur)
	d.ApplyTo(rec)
	s.drop(oldID, prev)
	s.set(newID, rec, "", true)
	s.renewed[oldID] = renewal{to: newID, expires: expires}
	return nil
}

// writable returns the record cur stored under id, ready to be changed:
// cur itself if the store owns it (see Store.owned), else a copy. s.mu is
// held.
func (s *Store) writable(id string, cur *driver.Record) *driver.Record {
	if _, ok := s.owned[id]; ok {
		return cur
	}
	c := *cur
	c.Values = maps.Clone(cur.Values)
	return &c
}

// set stores rec under id, where the record before it belonged to prev,
// and keeps the user index in step. If own, rec is the store's to change
// in place until a Load hands it out (if it is large, see inPlaceMin).
// s.mu is held.
func (s *Store) set(id string, rec *driver.Record, prev string, own bool) {
	if prev != rec.User {
		s.unindex(id, prev)
	}
	s.recs[id] = rec
	if own && len(rec.Values) >= inPlaceMin {
		s.owned[id] = struct{}{}
	} else {
		delete(s.owned, id)
	}
	if rec.User != "" {
		ids := s.users[rec.User]
		if ids == nil {
			ids = make(map[string]struct{}, 1)
			s.users[rec.User] = ids
		}
		ids[id] = struct{}{}
	}
}

// remove deletes id and its index entry. s.mu is held.
func (s *Store) remove(id string) bool {
	rec := s.recs[id]
	if rec == nil {
		return false
	}
	s.drop(id, rec.User)
	return true
}

// drop deletes id, stored for user, and its index entry. s.mu is held.
func (s *Store) drop(id, user string) {
	delete(s.recs, id)
	delete(s.owned, id)
	s.unindex(id, user)
}

func (s *Store) unindex(id, user string) {
	if ids := s.users[user]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(s.users, user)
		}
	}
}

// Delete implements driver.Store. Deleting a renewed ID deletes the
// session it was renewed to, through the whole chain of renewals, under the
// store's lock (see driver.Renewer).
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	// Each hop follows a distinct record, so the walk ends; the bound
	// only guards against a cycle, which random IDs never make.
	for range len(s.renewed) + 1 {
		r, ok := s.renewed[id]
		if !ok || !now.Before(r.expires) {
			break
		}
		id = r.to
	}
	if rec := s.recs[id]; rec == nil || !now.Before(rec.Expires) {
		return false, nil
	}
	return s.remove(id), nil
}

// Sessions implements driver.UserStore.
func (s *Store) Sessions(ctx context.Context, user string) ([]driver.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := make([]driver.Info, 0, len(s.users[user]))
	for id := range s.users[user] {
		rec := s.recs[id]
		if now.Before(rec.Expires) {
			list = append(list, rec.Info(id))
		}
	}
	return list, nil
}

// Update implements driver.Updater: f runs once, under the store's lock.
func (s *Store) Update(ctx context.Context, id, key string, f func(old any, ok bool) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.live(id, time.Now())
	if err != nil {
		return nil, err
	}
	old, ok := cur.Values[key]
	v, err := f(old, ok)
	if err != nil {
		return nil, err
	}
	prev := cur.User
	rec := s.writable(id, cur)
	if rec.Values == nil {
		rec.Values = make(map[string]any, 1)
	}
	rec.Values[key] = v
	s.set(id, rec, prev, true)
	return v, nil
}

// CapUser implements driver.UserCapper, under the store's lock.
func (s *Store) CapUser(ctx context.Context, user, keep string, n int, refuse bool) ([]driver.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var live []driver.Info
	for id := range s.users[user] {
		if rec := s.recs[id]; now.Before(rec.Expires) {
			live = append(live, rec.Info(id))
		}
	}
	ended := driver.OverCap(live, keep, n, refuse)
	for _, in := range ended {
		s.remove(in.ID)
	}
	return ended, nil
}

// DeleteUser implements driver.UserStore.
func (s *Store) DeleteUser(ctx context.Context, user, keep string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id := range s.users[user] {
		if id != keep && s.remove(id) {
			n++
		}
	}
	return n, nil
}

// Purge implements driver.Purger.
func (s *Store) Purge(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, rec := range s.recs {
		if !now.Before(rec.Expires) && s.remove(id) {
			n++
		}
	}
	for id, r := range s.renewed {
		if !now.Before(r.expires) {
			delete(s.renewed, id)
		}
	}
	for user, mk := range s.marks {
		for id, d := range mk.denied {
			if !now.Before(d.expires) {
				delete(mk.denied, id)
			}
		}
		if !now.Before(mk.Expires) && len(mk.denied) == 0 {
			delete(s.marks, user)
		}
	}
	return n, nil
}

// SetRevocation implements driver.RevocationStore.
func (s *Store) SetRevocation(ctx context.Context, user string, r driver.Revocation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := &mark{Revocation: r}
	mk.Denied = nil
	if old := s.marks[user]; old != nil && r.Keep != "" {
		if d, ok := old.denied[r.Keep]; ok {
			mk.denied = map[string]denial{r.Keep: d}
		}
	}
	s.marks[user] = mk
	return nil
}

// Deny implements driver.RevocationStore.
func (s *Store) Deny(ctx context.Context, user, id string, renewed bool, expires time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := s.marks[user]
	if mk == nil {
		mk = &mark{}
		s.marks[user] = mk
	}
	if mk.count >= driver.MaxDenied {
		return false, nil
	}
	if mk.denied == nil {
		mk.denied = make(map[string]denial, 1)
	}
	d, again := mk.denied[id]
	if !again {
		mk.count++
		d = denial{renewed: renewed}
	}
	d.renewed = d.renewed && renewed
	if expires.After(d.expires) {
		d.expires = expires
	}
	mk.denied[id] = d
	return true, nil
}

// Revocation implements driver.RevocationStore.
func (s *Store) Revocation(ctx context.Context, user string, ids ...string) (driver.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return driver.Revocation{}, err
	}
	now := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	mk := s.marks[user]
	if mk == nil {
		return driver.Revocation{}, nil
	}
	var r driver.Revocation
	if now.Before(mk.Expires) {
		r = mk.Revocation
	}
	for _, id := range ids {
		if d, ok := mk.denied[id]; ok && now.Before(d.expires) {
			if r.Denied == nil {
				r.Denied = make(map[string]bool, len(ids))
			}
			r.Denied[id] = d.renewed
		}
	}
	return r, nil
}

// Len returns the number of records held, expired ones included.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.recs)
}
