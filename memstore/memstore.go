// Package memstore is an in-process sesame.Store: fast, with nothing to run,
// and lost on restart. Use it for development, tests and single-process apps.
//
// Values are kept as the Go values that were Put, never encoded, so a read
// costs no decoding. Do not modify a value after putting it in a session.
//
// The store implements every optional interface of sesame: delta commits
// are applied atomically under a lock, sessions are indexed by user,
// revocation marks are kept for cookie-only sessions, and a janitor
// goroutine purges expired sessions and marks until Close.
package memstore

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/sesame-go/sesame"
)

// DefaultCleanupInterval is how often the janitor purges expired sessions.
const DefaultCleanupInterval = time.Minute

// Store is an in-memory session store. The zero value is not usable; call
// New. It is safe for concurrent use.
type Store struct {
	mu    sync.RWMutex
	recs  map[string]*sesame.Record // never modified once stored
	users map[string]map[string]struct{}
	marks map[string]sesame.Revocation // by user

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New returns a Store whose janitor purges expired sessions every
// DefaultCleanupInterval (1m). Call Close to stop it.
func New() *Store { return NewWithCleanupInterval(DefaultCleanupInterval) }

// NewWithCleanupInterval returns a Store whose janitor purges expired
// sessions every interval. If interval is zero, DefaultCleanupInterval is
// used; if negative, there is no janitor (expired sessions are still never
// returned, and Purge removes them). Call Close to stop the janitor.
func NewWithCleanupInterval(cleanupInterval time.Duration) *Store {
	s := &Store{
		recs:  make(map[string]*sesame.Record),
		users: make(map[string]map[string]struct{}),
		marks: make(map[string]sesame.Revocation),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if cleanupInterval == 0 {
		cleanupInterval = DefaultCleanupInterval
	}
	if cleanupInterval < 0 {
		close(s.done)
		return s
	}
	go s.janitor(cleanupInterval)
	return s
}

func (s *Store) janitor(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Purge(context.Background())
		}
	}
}

// Close stops the janitor and waits for it to exit. The store stays usable.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

// Load implements sesame.Store. The record returned is shared and must not
// be modified.
func (s *Store) Load(ctx context.Context, id string) (*sesame.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	rec := s.recs[id]
	s.mu.RUnlock()
	if rec == nil || !time.Now().Before(rec.Expires) {
		return nil, sesame.ErrNotFound
	}
	return rec, nil
}

// Save implements sesame.Store.
func (s *Store) Save(ctx context.Context, id string, rec *sesame.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.put(id, rec) // handed over by the caller (see sesame.Store.Save)
	s.mu.Unlock()
	return nil
}

// Apply implements sesame.DeltaStore.
func (s *Store) Apply(ctx context.Context, id string, d *sesame.Delta) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.recs[id]
	if cur == nil || !time.Now().Before(cur.Expires) {
		return fmt.Errorf("memstore: apply: %w", sesame.ErrNotFound)
	}
	c := *cur
	c.Values = maps.Clone(cur.Values)
	d.ApplyTo(&c)
	s.put(id, &c)
	return nil
}

// put stores rec under id and keeps the user index in step. s.mu is held.
func (s *Store) put(id string, rec *sesame.Record) {
	if old := s.recs[id]; old != nil && old.User != rec.User {
		s.unindex(id, old.User)
	}
	s.recs[id] = rec
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
	delete(s.recs, id)
	s.unindex(id, rec.User)
	return true
}

func (s *Store) unindex(id, user string) {
	if ids := s.users[user]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(s.users, user)
		}
	}
}

// Delete implements sesame.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.remove(id)
	s.mu.Unlock()
	return nil
}

// Sessions implements sesame.UserStore.
func (s *Store) Sessions(ctx context.Context, user string) ([]sesame.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := make([]sesame.Info, 0, len(s.users[user]))
	for id := range s.users[user] {
		rec := s.recs[id]
		if now.Before(rec.Expires) {
			list = append(list, sesame.Info{ID: id, User: user, Created: rec.Created, LastSeen: rec.LastSeen, Expires: rec.Expires})
		}
	}
	return list, nil
}

// DeleteUser implements sesame.UserStore.
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

// Purge implements sesame.Purger.
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
	for user, r := range s.marks {
		if !now.Before(r.Expires) {
			delete(s.marks, user)
		}
	}
	return n, nil
}

// SetRevocation implements sesame.RevocationStore.
func (s *Store) SetRevocation(ctx context.Context, user string, r sesame.Revocation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.marks[user] = r
	s.mu.Unlock()
	return nil
}

// Revocation implements sesame.RevocationStore.
func (s *Store) Revocation(ctx context.Context, user string) (sesame.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return sesame.Revocation{}, err
	}
	s.mu.RLock()
	r, ok := s.marks[user]
	s.mu.RUnlock()
	if !ok || !time.Now().Before(r.Expires) {
		return sesame.Revocation{}, nil
	}
	return r, nil
}

// Len returns the number of records held, expired ones included.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.recs)
}
