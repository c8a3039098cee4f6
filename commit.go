package sesame

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// parse reads the session cookie from the request, once.
func (s *Session) parse() (string, bool) {
	v, ok := readCookie(s.req.Header, s.m.cfg.Name)
	if !s.parsed {
		s.parsed = true
		s.cookie = ok
		if ok && s.m.store != nil && validToken(v) {
			s.cid = s.m.hash.id(v)
		}
	}
	return v, ok
}

// load loads the session, once, and returns the load error, if any. An
// unknown, expired or unreadable cookie gives a new, empty session.
func (s *Session) load() error {
	if s.loaded {
		return s.err
	}
	s.loaded = true
	raw, ok := s.parse()
	ctx := s.req.Context()
	now := time.Now()
	var rec *Record
	var err error
	switch {
	case s.m.sealer != nil && ok && raw != "":
		var sealed Sealed
		sealed, err = s.m.sealer.Open(ctx, s.m.cfg.Name, raw)
		if err == nil {
			rec, s.cid, s.stale = sealed.Record, sealed.ID, sealed.Stale
		} else if errors.Is(err, ErrNotFound) {
			s.m.log.DebugContext(ctx, "sesame: session cookie rejected", "err", err)
		}
	case s.cid != "":
		rec, err = s.m.store.Load(ctx, s.cid)
	}
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		s.err = &StoreError{Op: "load", Err: err}
	case rec != nil && s.m.live(rec, now):
		s.base = rec
	}
	if s.base == nil && s.m.sealer != nil {
		s.cid = ""
	}
	return s.err
}

// commit saves the session and sets its cookie in h. It runs once, before
// the response starts.
func (s *Session) commit(h http.Header) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return nil
	}
	s.committed = true
	if !s.loaded && !s.dirty() {
		return nil // untouched: no store access at all
	}
	s.addHeader(h, "Vary", "Cookie")
	if s.err != nil {
		return s.err
	}
	now := time.Now()
	if s.loaded && !s.dirty() && !s.stale && !s.touchDue(now) && (s.base != nil || !s.cookie) {
		return nil // read-only, no touch due, and no dead cookie to delete
	}
	s.detached = uncancelled{s.req.Context()}
	ctx := &s.detached
	if s.m.sealer != nil {
		return s.commitSealed(ctx, h, now)
	}
	return s.commitStored(ctx, h, now)
}

func (s *Session) commitStored(ctx context.Context, h http.Header, now time.Time) error {
	st := s.m.store
	s.parse()
	if s.destroyed {
		if s.cid != "" {
			if err := st.Delete(ctx, s.cid); err != nil {
				return &StoreError{Op: "delete", Err: err}
			}
		}
		s.base, s.cid = nil, ""
		return s.create(ctx, h, now)
	}
	if !s.loaded && s.cid != "" {
		// A blind write: apply the delta without reading the record. If
		// there is no live record, the token is not adopted. A delta that
		// removes values might empty the session, which must then be
		// deleted, so it reads first.
		if s.m.delta != nil && s.renewID == "" && s.additive() {
			err := s.m.delta.Apply(ctx, s.cid, s.delta(now))
			if !errors.Is(err, ErrNotFound) {
				return wrapStore("apply", err)
			}
			s.cid = ""
			return s.create(ctx, h, now)
		}
		if err := s.load(); err != nil {
			return err
		}
	}
	if s.base == nil {
		return s.create(ctx, h, now)
	}
	rec := s.merged(now)
	if empty(rec) {
		if err := st.Delete(ctx, s.cid); err != nil {
			return &StoreError{Op: "delete", Err: err}
		}
		s.expireCookie(h)
		return nil
	}
	if s.renewID != "" {
		rec.Created, rec.LastSeen = now, now
		s.setTimes(rec, now)
		if err := st.Save(ctx, s.renewID, rec); err != nil {
			return &StoreError{Op: "save", Err: err}
		}
		if err := st.Delete(ctx, s.cid); err != nil {
			return &StoreError{Op: "delete", Err: err}
		}
		return s.setCookie(h, s.renewTok, rec, now)
	}
	touch := s.touchDue(now)
	if !s.dirty() && !touch {
		return nil
	}
	rec.LastSeen = now
	rec.Expires = s.expiry(rec.Deadline, now)
	var err error
	if s.m.delta != nil {
		err = s.m.delta.Apply(ctx, s.cid, s.delta(now))
		if errors.Is(err, ErrNotFound) {
			// Destroyed or revoked while this request ran: it stays dead.
			s.m.log.DebugContext(ctx, "sesame: session ended during the request; changes dropped")
			s.expireCookie(h)
			return nil
		}
	} else {
		err = st.Save(ctx, s.cid, rec)
	}
	if err != nil {
		return wrapStore("apply", err)
	}
	if rec.Persist && (!s.m.cfg.FixedExpiry || s.persist != nil) {
		return s.setCookie(h, "", rec, now) // rolling expiry: refresh Max-Age
	}
	return nil
}

// additive reports whether the pending changes only add: they cannot leave
// the session empty.
func (s *Session) additive() bool {
	return !s.clear && len(s.del) == 0 && (s.user == nil || *s.user != "")
}

// create stores the pending changes as a new session with a new token. It
// stores nothing for a session without values or user.
func (s *Session) create(ctx context.Context, h http.Header, now time.Time) error {
	rec := s.merged(now)
	if empty(rec) {
		if s.cookie {
			s.expireCookie(h)
		}
		return nil
	}
	tok, id := s.renewTok, s.renewID
	if tok == "" {
		tok = newToken()
		id = s.m.hash.id(tok)
	}
	rec.Created, rec.LastSeen = now, now
	s.setTimes(rec, now)
	if err := s.m.store.Save(ctx, id, rec); err != nil {
		return &StoreError{Op: "save", Err: err}
	}
	return s.setCookie(h, tok, rec, now)
}

func (s *Session) commitSealed(ctx context.Context, h http.Header, now time.Time) error {
	if err := s.load(); err != nil {
		return err
	}
	if s.destroyed {
		s.base = nil
	}
	rec := s.merged(now)
	if empty(rec) {
		if s.cookie {
			s.expireCookie(h)
		}
		return nil
	}
	id := s.cid
	switch {
	case s.base == nil || s.renewID != "":
		id = s.renewID
		if id == "" {
			id = newToken() // an ID only: the sealed value is the credential
		}
		rec.Created = now
		s.setTimes(rec, now)
	case s.dirty() || s.stale || s.touchDue(now):
		rec.Expires = s.expiry(rec.Deadline, now)
	default:
		return nil
	}
	rec.LastSeen = now
	v, err := s.m.sealer.Seal(ctx, s.m.cfg.Name, Sealed{ID: id, Record: rec})
	if err != nil {
		return wrapStore("seal", err)
	}
	return s.setCookie(h, v, rec, now)
}

// merged returns the record as this request leaves it, in a new Record.
func (s *Session) merged(now time.Time) *Record {
	rec := &Record{Persist: s.m.cfg.Persist}
	if s.base != nil && !s.destroyed {
		*rec = *s.base
	}
	rec.Values = s.values()
	if s.user != nil {
		rec.User = *s.user
	}
	if s.persist != nil {
		rec.Persist = *s.persist
	}
	return rec
}

func empty(rec *Record) bool { return len(rec.Values) == 0 && rec.User == "" }

// setTimes sets a new session's deadline and expiry.
func (s *Session) setTimes(rec *Record, now time.Time) {
	rec.Deadline = now.Add(s.m.cfg.Lifetime)
	rec.Expires = s.expiry(rec.Deadline, now)
}

// expiry returns the expiry of a session seen at now with the given
// deadline.
func (s *Session) expiry(deadline, now time.Time) time.Time {
	if idle := s.m.idleExpiry(now); !idle.IsZero() && idle.Before(deadline) {
		return idle
	}
	return deadline
}

// touchDue reports whether a loaded session is due an idle-timeout touch.
func (s *Session) touchDue(now time.Time) bool {
	return s.m.cfg.IdleTimeout > 0 && s.base != nil && now.Sub(s.base.LastSeen) >= s.m.cfg.TouchInterval
}

// delta returns the pending changes as a Delta.
func (s *Session) delta(now time.Time) *Delta {
	d := &Delta{Clear: s.clear, User: s.user, Persist: s.persist, LastSeen: now}
	d.Expires = s.m.idleExpiry(now)
	if d.Expires.IsZero() {
		d.Expires = now.Add(s.m.cfg.Lifetime) // capped by the record's deadline
	}
	d.Set = s.set // no change follows the commit, so the map can be shared
	for k := range s.del {
		d.Delete = append(d.Delete, k)
	}
	return d
}

// setCookie sets the session cookie. An empty value keeps the request's.
func (s *Session) setCookie(h http.Header, value string, rec *Record, now time.Time) error {
	if value == "" {
		value, _ = s.parse()
	}
	if !validCookieValue(value) {
		return &StoreError{Op: "seal", Err: errors.New("the cookie value has bytes a cookie cannot carry")}
	}
	var until time.Time
	var maxAge int
	if rec.Persist {
		until = rec.Expires
		if s.m.cfg.FixedExpiry {
			until = rec.Deadline
		}
		maxAge = max(1, int(until.Sub(now).Seconds()))
	}
	line := s.m.cookie.line(value, until, maxAge)
	if len(line) > maxCookieSize {
		return &CookieTooLargeError{Name: s.m.cfg.Name, Size: len(line), Limit: maxCookieSize}
	}
	s.addHeader(h, "Set-Cookie", line)
	s.addHeader(h, "Cache-Control", `no-cache="Set-Cookie"`)
	return nil
}

// expireCookie tells the browser to delete the session cookie.
func (s *Session) expireCookie(h http.Header) {
	s.addHeader(h, "Set-Cookie", s.m.cookie.line("", time.Unix(1, 0), -1))
	s.addHeader(h, "Cache-Control", `no-cache="Set-Cookie"`)
}

// addHeader adds a value to h under a canonical key. A first value goes in
// a slice of the session's own, saving an allocation per header.
func (s *Session) addHeader(h http.Header, key, value string) {
	if old := h[key]; len(old) > 0 || int(s.nhdr) == len(s.hdr) {
		h[key] = append(old, value)
		return
	}
	s.hdr[s.nhdr] = value
	h[key] = s.hdr[s.nhdr : s.nhdr+1 : s.nhdr+1]
	s.nhdr++
}

func wrapStore(op string, err error) error {
	if err == nil {
		return nil
	}
	return &StoreError{Op: op, Err: err}
}

// uncancelled is the context of a commit: the request's values without its
// cancellation, like context.WithoutCancel, but kept in the Session rather
// than allocated. A commit completes even if the client has gone: a
// half-applied logout or renewal would be worse than the wasted work.
type uncancelled struct{ parent context.Context }

func (uncancelled) Deadline() (time.Time, bool) { return time.Time{}, false }
func (uncancelled) Done() <-chan struct{}       { return nil }
func (uncancelled) Err() error                  { return nil }
func (c *uncancelled) Value(key any) any        { return c.parent.Value(key) }
