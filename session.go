package sesame

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"
)

// Session is one visitor's session within one request. Get it with
// [FromContext]. Its methods are safe to call from several goroutines of the
// request, and on a nil *Session (they report ErrNoSession or nothing).
//
// The session is loaded lazily, on the first read. Writes (Put, Delete,
// Clear, SetUser, RememberMe, Renew, Destroy) are recorded without a load
// and committed before the first byte of the response; a change made after
// that returns ErrCommitted and is logged.
type Session struct {
	mu  sync.Mutex
	m   *Manager
	req *http.Request

	cid  string  // ID derived from the request's token, "" if none
	err  error   // load failure
	base *Record // the live record, nil if none (or not loaded)

	set      map[string]any      // pending Puts
	del      map[string]struct{} // pending Deletes
	user     *string
	persist  *bool
	renewID  string // set by Renew: the new ID
	renewTok string // set by Renew: the new token

	parsed    bool // the cookie has been read
	cookie    bool // the request carried our cookie
	loaded    bool
	stale     bool // the Sealer asked for a re-seal
	clear     bool
	destroyed bool
	committed bool
	nhdr      uint8 // how many of hdr are used

	hdr      [3]string   // backing for the headers the commit adds
	detached uncancelled // the commit's context
}

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
func Lookup[T any](s *Session, key string) (T, error) {
	v, err := s.value(key)
	if err != nil {
		var zero T
		return zero, err
	}
	return convert[T](key, v)
}

// Decode converts a stored value, as found in [Record.Values], to T, as
// [Lookup] does: a Go value of type T is returned as is, and a
// json.RawMessage is decoded into T.
func Decode[T any](v any) (T, error) { return convert[T]("", v) }

// MarshalValue returns the JSON encoding of a session value, for stores
// that serialise: a json.RawMessage is returned as is.
func MarshalValue(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sesame: value of type %T: %w", v, err)
	}
	return b, nil
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

func convert[T any](key string, v any) (T, error) {
	if t, ok := v.(T); ok {
		return t, nil
	}
	var zero T
	raw, isJSON := v.(json.RawMessage)
	if isJSON && string(raw) != "null" {
		var t T
		if err := json.Unmarshal(raw, &t); err != nil {
			return zero, &TypeError{Key: key, Want: typeName[T](), Got: "json", Err: err}
		}
		return t, nil
	}
	if v == nil || isJSON { // a nil Put: the zero value of a type that can hold nil
		switch reflect.TypeFor[T]().Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
			return zero, nil
		}
		return zero, &TypeError{Key: key, Want: typeName[T](), Got: "nil"}
	}
	return zero, &TypeError{Key: key, Want: typeName[T](), Got: fmt.Sprintf("%T", v)}
}

func typeName[T any]() string { return reflect.TypeFor[T]().String() }

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
	if v, ok := s.set[key]; ok {
		return v, nil
	}
	if _, ok := s.del[key]; ok {
		return nil, ErrNoKey
	}
	if s.base != nil && !s.clear {
		if v, ok := s.base.Values[key]; ok {
			return v, nil
		}
	}
	return nil, ErrNoKey
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
	if s.base == nil || s.clear || len(s.base.Values) == 0 {
		return s.set
	}
	if len(s.set) == 0 && len(s.del) == 0 {
		return s.base.Values
	}
	vals := make(map[string]any, len(s.base.Values)+len(s.set))
	maps.Copy(vals, s.base.Values)
	for k := range s.del {
		delete(vals, k)
	}
	maps.Copy(vals, s.set)
	return vals
}

// Put sets key to v. With a store that serialises, v must encode to JSON
// (encoding/json); a value that does not fails the commit. With memstore, v
// is kept as is: do not modify it after Put.
func (s *Session) Put(key string, v any) error {
	return s.update("put", key, func() {
		if s.set == nil {
			s.set = make(map[string]any, 4)
		}
		s.set[key] = v
		delete(s.del, key)
	})
}

// Delete removes key. Deleting a missing key is not an error.
func (s *Session) Delete(key string) error {
	return s.update("delete", key, func() {
		delete(s.set, key)
		if s.del == nil {
			s.del = make(map[string]struct{}, 1)
		}
		s.del[key] = struct{}{}
	})
}

// writable reports ErrCommitted, and logs it, if the session is committed.
func (s *Session) writable(op, key string) error {
	if !s.committed {
		return nil
	}
	s.m.log.Error("sesame: session changed after the response started; the change is lost", "op", op, "key", key)
	return fmt.Errorf("%w: %s %q", ErrCommitted, op, key)
}

// Clear removes every value. The user, if any, stays: use Destroy to log
// out.
func (s *Session) Clear() error {
	return s.update("clear", "", func() {
		s.clear = true
		s.set, s.del = nil, nil
	})
}

// SetUser ties the session to a user, so that it can be listed and revoked
// with the user's other sessions. Call Renew with it at login.
func (s *Session) SetUser(user string) error {
	return s.update("set user", "", func() { s.user = &user })
}

// RememberMe makes the session's cookie persistent (on) or session-only
// (off), overriding Config.Persist for this session.
func (s *Session) RememberMe(on bool) error {
	return s.update("remember me", "", func() { s.persist = &on })
}

// Renew gives the session a new token and ID, keeping its data, and ends
// the old one. Call it on login and on any change of privilege, against
// session fixation. The absolute lifetime restarts.
func (s *Session) Renew() error {
	return s.update("renew", "", func() {
		s.renewTok = newToken()
		s.renewID = s.m.hash.id(s.renewTok)
	})
}

// Destroy ends the session: the record is deleted and the cookie is
// removed. A later Put in the same request starts a new session.
func (s *Session) Destroy() error {
	return s.update("destroy", "", func() {
		s.destroyed = true
		s.clear = true
		s.set, s.del = nil, nil
		s.user, s.persist = nil, nil
		s.renewID, s.renewTok = "", ""
	})
}

func (s *Session) update(op, key string, f func()) error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(op, key); err != nil {
		return err
	}
	f()
	return nil
}

// live returns the record as it stands, with the pending metadata (not the
// values), or nil for a new session. It loads the session.
func (s *Session) live() (*Record, bool) {
	if s == nil {
		return nil, false
	}
	if s.load() != nil || s.base == nil || s.destroyed {
		return nil, false
	}
	return s.base, true
}

// User returns the session's user, or "" if none.
func (s *Session) User() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.user != nil {
		return *s.user
	}
	if rec, ok := s.live(); ok {
		return rec.User
	}
	return ""
}

// ID returns the session ID: a hash of the token, safe to show to the user
// (for example in a list of their devices) and useless as a credential.
// It is "" for a session not yet stored. After Renew it is the new ID.
func (s *Session) ID() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.renewID != "" {
		return s.renewID
	}
	if _, ok := s.live(); ok {
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
	_, ok := s.live()
	return !ok
}

// Created returns when the session was created or last renewed; zero for
// a new session.
func (s *Session) Created() time.Time { return s.meta(func(r *Record) time.Time { return r.Created }) }

// LastSeen returns the session's last recorded activity; zero for a new
// session. It is updated at most once per Config.TouchInterval.
func (s *Session) LastSeen() time.Time {
	return s.meta(func(r *Record) time.Time { return r.LastSeen })
}

// Expires returns when the session will expire if unused; zero for a new
// session.
func (s *Session) Expires() time.Time { return s.meta(func(r *Record) time.Time { return r.Expires }) }

func (s *Session) meta(f func(*Record) time.Time) time.Time {
	if s == nil {
		return time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.live(); ok {
		return f(rec)
	}
	return time.Time{}
}

// Err returns the error that prevented the session from loading, if any.
// Such a request gets the ErrorHandler's response when it commits.
func (s *Session) Err() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Modified reports whether the request has changed the session.
func (s *Session) Modified() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty()
}

func (s *Session) dirty() bool {
	return len(s.set) > 0 || len(s.del) > 0 || s.clear || s.user != nil || s.persist != nil || s.renewID != "" || s.destroyed
}
