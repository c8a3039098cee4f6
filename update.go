package sesame

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// Update changes the value of key with f, atomically, and returns the new
// value: f gets the current value (the zero T if there is none) and returns
// the one to store. Of concurrent Updates of one key of one session, even
// from requests running in parallel (a counter clicked in two tabs), none
// is lost; a Put would keep only the last writer's value.
//
// With a store that implements driver.Updater (memstore, sqlitestore, pgstore,
// redisstore) a live session's value is changed in the store at once, and
// the value returned is the committed one. f may then be called more than
// once, and must have no side effects. Otherwise the change is made in this
// request and committed with it, which is atomic only where the request is
// the key's one writer:
//   - a session not yet stored, or one this request destroyed, cleared, or
//     changed key of (with Put or Delete);
//   - a Sealer's session (package cookiestore): the cookie is one writer,
//     so of two requests updating one cookie in parallel, the browser
//     keeps the last response's cookie and the other update is lost.
//
// A live session on a store without Updater gives an error wrapping
// ErrNotSupported. If f fails, nothing changes and Update returns f's
// error. Like a Put, the result must encode to JSON and fit the limits.
func Update[T any](s *Session, key string, f func(T) (T, error)) (T, error) {
	var zero T
	if err := checkKey(key); err != nil {
		return zero, err
	}
	var out T
	err := s.updateValue(key, func(old any, ok bool) (any, error) {
		var cur T
		if ok {
			var err error
			if cur, err = convert[T](key, old); err != nil {
				return nil, err
			}
		}
		v, err := f(cur)
		if err != nil {
			return nil, err
		}
		out = v
		return v, nil
	})
	if err != nil {
		return zero, err
	}
	return private(out), nil
}

// updateValue is Update without types.
func (s *Session) updateValue(key string, f func(old any, ok bool) (any, error)) error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.guard(edit, "update", key); err != nil {
		return err
	}
	if err := s.load(); err != nil {
		return err
	}
	if err := s.guard(edit, "update", key); err != nil { // renewed is known once loaded
		return err
	}
	_, set := s.p.set[key]
	_, del := s.p.del[key]
	if s.base == nil || s.p.destroy || s.p.clear || set || del || s.m.sealer != nil {
		// This request is the key's one writer: change it here.
		old, err := s.valueLocked(key)
		v, err := f(old, err == nil)
		if err != nil {
			return err
		}
		p := s.changes()
		if p.set == nil {
			p.set = make(map[string]any, 1)
		}
		p.set[key] = v
		delete(p.del, key)
		return nil
	}
	u, ok := s.m.store.(driver.Updater)
	if !ok {
		return s.m.unsupported("atomic updates")
	}
	var ferr error // f's error, or the limits', which the store returns as is
	checked := func(old any, ok bool) (any, error) {
		v, err := f(old, ok)
		if err == nil {
			err = s.checkWith(key, v)
		}
		ferr = err
		return v, err
	}
	c := new(storeCtx) // a store may use it after the call: never reused
	ctx := c.bound(s.req.Context(), true, s.m.cfg.StoreTimeout, time.Now())
	defer c.release()
	v, err := s.m.updateValue(ctx, u, s.cid, key, checked, &ferr)
	switch {
	case errors.Is(err, ErrRenewed):
		s.renewed = true
		return fmt.Errorf("sesame: update %q: %w", key, err)
	case errors.Is(err, driver.ErrNotFound):
		return fmt.Errorf("sesame: update %q: the session ended meanwhile: %w", key, err)
	case err != nil && ferr != nil && errors.Is(err, ferr):
		return err
	case err != nil:
		err = &StoreError{Op: "update", Err: err}
		s.m.failed(ctx, err, s.cid, s.base.User)
		return err
	}
	base := *s.base // shared with the store: change a copy
	base.Values = maps.Clone(base.Values)
	if base.Values == nil {
		base.Values = make(map[string]any, 1)
	}
	base.Values[key] = v
	s.base = &base
	return nil
}
