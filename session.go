package sesame

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// Session is one visitor's session within one request. Get it with
// [FromContext]. Its methods are safe to call from several goroutines of the
// request, and on a nil *Session (they report ErrNoSession or nothing).
//
// The session is loaded lazily, on the first read. Writes (Put, Delete,
// Clear, SetUser, RememberMe, Renew, Login, Reauthenticate, Destroy) are
// recorded without a load and committed before the first byte of the
// response; a change made after that returns ErrCommitted and is logged.
// [Update] is the exception: it changes a stored session at once.
type Session struct {
	mu  sync.Mutex
	m   *Manager
	req *http.Request

	// What the request carried, read once by parse.
	raw string // its value
	cid string // the session ID it names; "" if none (or not a token)

	// What the store holds, read once by load.
	err    *StoreError    // the load failed (see loadErr)
	base   *driver.Record // the live record; nil if none
	away   *driver.Record // a Sealer's authentic session renewed away or revoked, for a Destroy
	origin string         // a Sealer's Sealed.Origin

	p *pending // what this request changes: &unchanged until it changes

	hdr     [3]string // backing for the headers the commit adds
	loadCtx storeCtx  // the context of the load

	// Flags, side by side to keep the struct small.
	parsed    bool
	cookie    bool  // the request carried the session cookie
	loaded    bool  //
	renewed   bool  // the cookie's session was renewed away (ErrRenewed)
	due       bool  // an idle touch was due when it was loaded
	stale     bool  // the Sealer asked for a re-seal
	committed bool  //
	nhdr      uint8 // how many of hdr are used
}

// pending is what a request changes, applied in this order at the commit:
// Destroy (end the session first), Clear, Delete, Set, the user and the
// persist flag, and the ID change of a Renew or Login.
type pending struct {
	destroy bool
	clear   bool
	del     map[string]struct{}
	set     map[string]any
	user    *string
	persist *bool
	renew   renewal
	tok, id string    // the new token and ID of a Renew or Login
	auth    time.Time // the time of a Login or Reauthenticate

	commitCtx storeCtx // the context of the commit's store calls
}

// renewal is the ID change a request asked for.
type renewal uint8

const (
	keepID  renewal = iota
	renewID         // Renew: new ID, same lifetime
	loginID         // Login: new ID, new lifetime
)

// unchanged is the pending changes of every session that has none. It is
// never modified: the first change gives a session its own (see changes),
// so that a request that only reads allocates none.
var unchanged pending

// changes returns the session's pending changes, to modify.
func (s *Session) changes() *pending {
	if s.p == &unchanged {
		s.p = new(pending)
	}
	return s.p
}

func (p *pending) dirty() bool {
	return p.destroy || p.clear || len(p.del) > 0 || len(p.set) > 0 || p.user != nil || p.persist != nil || p.renew != keepID
}

// additive reports whether the changes only add or replace values: they
// cannot empty a session or need its current state to set the cookie.
func (p *pending) additive() bool {
	return !p.destroy && !p.clear && len(p.del) == 0 && (p.user == nil || *p.user != "") && p.persist == nil && p.renew == keepID
}

// contextKey is the type of context keys of this package.
type contextKey struct{ name string }

func (k *contextKey) String() string { return "sesame context key " + k.name }

// sessionKey is the context key of the request's Session.
var sessionKey = &contextKey{"session"}

// FromContext returns the session of the request whose context is ctx, or
// nil if the request did not pass through [Manager.Handler].
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey).(*Session)
	return s
}

// Get returns the value of key converted to T, and whether it exists and
// has that type. Use [Lookup] to tell a missing key from a wrong type.
func Get[T any](s *Session, key string) (T, bool) {
	v, err := Lookup[T](s, key)
	return v, err == nil
}

// Lookup returns the value of key converted to T. The error is ErrNoKey
// for a missing key, a *TypeError for a value of another type, or the
// store's error if the session could not be loaded.
//
// A value keeps its type through any store: a value Put as int64 comes back
// from Lookup[int64] as int64, not float64. With a store that serialises,
// Lookup[any] returns the value's json.RawMessage; ask for a concrete type.
// The value returned is the caller's to modify: one that holds maps, slices
// or pointers is a copy, on every store.
func Lookup[T any](s *Session, key string) (T, error) {
	v, err := s.value(key)
	if err != nil {
		var zero T
		return zero, err
	}
	return convert[T](key, v)
}

// Pop returns the value of key, like Get, and deletes it from the session:
// a flash message. The key is deleted even if the type is wrong.
func Pop[T any](s *Session, key string) (T, bool) {
	v, err := Lookup[T](s, key)
	if !errors.Is(err, ErrNoKey) {
		s.Delete(key)
	}
	return v, err == nil
}

// value returns the current value of key.
func (s *Session) value(key string) (any, error) {
	if s == nil {
		return nil, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	return s.valueLocked(key)
}

// valueLocked is value with s.mu held and the session loaded.
func (s *Session) valueLocked(key string) (any, error) {
	if v, ok := s.p.set[key]; ok {
		return v, nil
	}
	if _, ok := s.p.del[key]; ok {
		return nil, ErrNoKey
	}
	if v, ok := s.current()[key]; ok {
		return v, nil
	}
	return nil, ErrNoKey
}

// current returns the stored values that this request has not cleared.
func (s *Session) current() map[string]any {
	if s.base == nil || s.p.clear || s.p.destroy {
		return nil
	}
	return s.base.Values
}

// Has reports whether the session holds key.
func (s *Session) Has(key string) bool {
	_, err := s.value(key)
	return err == nil
}

// Keys returns the session's keys, sorted.
func (s *Session) Keys() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.load() != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.values()))
}

// values returns the merged current values. The map may be the pending
// Puts themselves, or the base record's: callers must not modify it.
func (s *Session) values() map[string]any {
	cur := s.current()
	if len(cur) == 0 {
		return s.p.set
	}
	if len(s.p.set) == 0 && len(s.p.del) == 0 {
		return cur
	}
	vals := make(map[string]any, len(cur)+len(s.p.set))
	maps.Copy(vals, cur)
	for k := range s.p.del {
		delete(vals, k)
	}
	maps.Copy(vals, s.p.set)
	return vals
}

// Put sets key to v. v must encode to JSON (encoding/json), on every store:
// a value that does not fails the commit. With memstore, v is kept as is:
// do not modify it after Put. The key must be valid UTF-8 without NUL bytes
// (see [ErrInvalidKey]).
func (s *Session) Put(key string, v any) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.update(edit, "put", key, func() error {
		if s.p.set == nil {
			s.p.set = make(map[string]any, 4)
		}
		s.p.set[key] = v
		delete(s.p.del, key)
		return nil
	})
}

// Delete removes key. Deleting a missing key is not an error.
func (s *Session) Delete(key string) error {
	return s.update(edit, "delete", key, func() error {
		delete(s.p.set, key)
		if s.p.del == nil {
			s.p.del = make(map[string]struct{}, 1)
		}
		s.p.del[key] = struct{}{}
		return nil
	})
}

// Clear removes every value. The user, if any, stays: use Destroy to log
// out.
func (s *Session) Clear() error {
	return s.update(edit, "clear", "", func() error {
		s.p.clear = true
		s.p.set, s.p.del = nil, nil
		return nil
	})
}

// SetUser ties the session to a user, so that it can be listed and revoked
// with the user's other sessions. At login, call Login instead: SetUser
// alone keeps the token, which allows session fixation, and keeps
// AuthenticatedAt.
func (s *Session) SetUser(user string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	return s.update(edit, "set user", "", func() error { s.p.user = &user; return nil })
}

// RememberMe makes the session's cookie persistent (on) or session-only
// (off), overriding Config.Persist for this session. The response carries
// the cookie with its new lifetime.
func (s *Session) RememberMe(on bool) error {
	return s.update(edit, "remember me", "", func() error { s.p.persist = &on; return nil })
}

// Login is what a login must do, in one call: the session gets a new token
// and ID (against session fixation), user, and a new absolute lifetime, and
// keeps its data. The old token stops working. It sets AuthenticatedAt and
// records the client's Device.
func (s *Session) Login(user string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	now := time.Now()
	return s.update(authenticate, "login", "", func() error {
		s.p.user = &user
		s.p.auth = now
		s.newID(loginID)
		return nil
	})
}

// Renew gives the session a new token and ID, keeping its data and its
// absolute deadline, and ends the old one. Call it on a change of
// privilege; at login, call Login. Of parallel Renews of one session, one
// wins; the others' commits fail with an error wrapping ErrRenewed.
func (s *Session) Renew() error {
	return s.update(edit, "renew", "", func() error {
		if s.p.renew == keepID {
			s.newID(renewID)
		}
		return nil
	})
}

func (s *Session) newID(r renewal) {
	s.p.renew = r
	s.p.tok = newToken()
	s.p.id = s.m.hash.id(s.p.tok)
}

// Destroy ends the session: the record is deleted and the cookie is
// removed. With a cookie store that keeps revocations, copies of the cookie
// stop working too. A later Put in the same request starts a new session.
func (s *Session) Destroy() error {
	return s.update(end, "destroy", "", func() error { *s.p = pending{destroy: true}; return nil })
}

// change is what a write does, for guard.
type change uint8

const (
	edit         change = iota // changes the session the cookie names
	authenticate               // Login: a new authentication
	end                        // Destroy: ends the session (or its renewal)
)

// guard refuses a write after the commit (ErrCommitted, logged), and an
// edit of a session whose cookie was renewed away elsewhere (ErrRenewed),
// unless this request destroyed it first: a Login is a new
// authentication, and a Destroy ends the session the cookie was renewed
// into. s.mu is held.
func (s *Session) guard(c change, op, key string) error {
	if s.committed {
		s.m.log.Error("sesame: session changed after the response started; the change is lost", "op", op, "key", key)
		return fmt.Errorf("%w: %s %q", ErrCommitted, op, key)
	}
	if s.renewed && c == edit && !s.p.destroy {
		return fmt.Errorf("%w: %s %q refused", ErrRenewed, op, key)
	}
	return nil
}

// update applies f to the pending changes, if guard lets c through.
func (s *Session) update(c change, op, key string, f func() error) error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.guard(c, op, key); err != nil {
		return err
	}
	s.changes()
	return f()
}

// live returns the stored record, or nil for a new session. It loads the
// session.
func (s *Session) live() *driver.Record {
	if s == nil || s.load() != nil || s.p.destroy {
		return nil
	}
	return s.base
}

// User returns the session's user, or "" if none.
func (s *Session) User() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userLocked()
}

func (s *Session) userLocked() string {
	if s.p.user != nil {
		return *s.p.user
	}
	if rec := s.live(); rec != nil {
		return rec.User
	}
	return ""
}

// ID returns the session ID: a hash of the token, safe to show to the user
// (for example in a list of their devices) and useless as a credential.
// It is "" for a session not yet stored. After Renew or Login it is the new
// ID.
func (s *Session) ID() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idLocked()
}

func (s *Session) idLocked() string {
	if s.p.renew != keepID {
		return s.p.id
	}
	if s.live() != nil {
		return s.cid
	}
	return ""
}

// IsNew reports whether the session has no stored record yet.
func (s *Session) IsNew() bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live() == nil
}

// Info returns the session as this request leaves it so far, without its
// values: its ID (as Session.ID), user, times (zero for a session not yet
// stored), AuthenticatedAt (this request's Login or Reauthenticate
// included), Device (for a new session, or at a Login, the request's own)
// and its Label (see Config.DeviceLabel).
func (s *Session) Info() Info {
	if s == nil {
		return Info{}
	}
	s.mu.Lock()
	in := Info{User: s.userLocked(), AuthenticatedAt: s.authenticatedAt()}
	if rec := s.live(); rec != nil {
		in.Created, in.LastSeen, in.Expires, in.Deadline = rec.Created, rec.LastSeen, rec.Expires, rec.Deadline
		in.Device = rec.Device
	}
	if s.live() == nil || s.p.renew == loginID {
		in.Device = s.m.device(s.req)
	}
	in.ID = s.idLocked()
	s.mu.Unlock()
	in.Label = s.m.label(in.Device)
	return in
}

// Err returns the error that prevented the session from loading, if any.
// Such a request gets the ErrorHandler's response when it commits, unless
// the request itself ended (its context is done).
func (s *Session) Err() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadErr()
}

// loadErr returns the load's error, as an error: nil, never a nil
// *StoreError. (s.err is a pointer to keep the request's one allocation
// within 256 bytes; see Handler.)
func (s *Session) loadErr() error {
	if s.err == nil {
		return nil
	}
	return s.err
}

// Modified reports whether the request has changed the session.
func (s *Session) Modified() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p.dirty()
}

// Info describes a session without its values: what [Manager.Sessions]
// lists and [Session.Info] returns. It is the store contract's
// driver.Info.
type Info = driver.Info

// Device is what a session records of its client, at creation and at each
// Login: for a user's list of their devices, never for authentication. It
// is the store contract's driver.Device.
type Device = driver.Device
