package sesame

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// This file decides what a request writes, and why it is atomic. The commit
// runs once, before the first byte of the response (see Manager.Handler).
// Every branch is one atomic store operation:
//
//	the request ...                            store operation         cookie
//	did not touch the session                  none                    none
//	carries a cookie renewed away elsewhere:
//	  and changed nothing                      none                    none
//	  and destroyed it                         Delete(id), which ends  deleted
//	                                           the session it was
//	                                           renewed into
//	  and logged in                            Create(new id)          new token
//	  and changed something else               none: ErrRenewed        none
//	destroyed its session                      Delete(id)              deleted
//	  (and then put values again)              + Create(new id)        new token
//	has no live session, stores something      Create(new id)          new token
//	renewed or logged in a live session        Renew(id, new id, Δ)    new token
//	  (and left it without values and user)    Delete(id)              deleted
//	  (and it ended meanwhile: a login)        Create(new id)          new token
//	changed a live session                     Apply(id, Δ)            refreshed if persistent
//	  (and the store found it empty after Δ)   (Apply deleted it)      deleted
//	added values without reading (blind)       Apply(id, Δ)            none
//	  (and the ID was not live)                Create(new id)          new token
//	read its session, touch due                Apply(id, touch)        refreshed if persistent
//	only read its session                      none                    none
//	any of these that gave the session its     + CapUser(user, id)     as above; deleted
//	user (a Login, a SetUser to another user),                         if the cap refused it
//	with Config.MaxSessionsPerUser
//	any of these on a session that another     none: changes dropped   none
//	request ended or renewed meanwhile         (ErrRenewed if renewed)
//
// Δ holds only what the request changed, so concurrent requests that change
// different keys all survive; Apply, Renew and Delete match only a live
// record, so a commit never brings back a session that another request
// destroyed, revoked or renewed meanwhile. Such a commit drops its changes
// and sends no cookie: the browser may already hold a newer one. A cookie
// is deleted only when this request ended its own session. Stores that lack
// DeltaStore or Renewer get the fallbacks documented on those interfaces;
// on a store without driver.Creator, Create(new id) is Save(new id).
//
// With a Sealer (commitSealed) the cookie is the one writer: any change, due
// touch or stale key reseals the whole session; a Renew or Login seals it
// with Prev set, which a Sealer that keeps revocations refuses for a
// session revoked meanwhile, and a Destroy of a session with a user calls
// SealRevoker.Revoke, so that copies of the cookie stop opening. A cookie
// that the Sealer reports renewed away is refused like a stored one, and
// its Destroy revokes it, and so every session renewed from it.

// commit saves the session and sets its cookie in h. early reports that
// the handler is still running, so it may still read the session.
func (s *Session) commit(h http.Header, early bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return nil
	}
	s.committed = true
	s.parse()
	touched := s.loaded || s.p.dirty()
	if touched || s.cookie || early {
		// The response may depend on the session: shared caches must key
		// it by the cookie.
		s.addHeader(h, "Vary", "Cookie")
	}
	if !touched {
		return nil // no store access at all
	}
	if s.err != nil {
		if s.requestEnded(s.err) {
			s.m.log.DebugContext(s.req.Context(), "sesame: session load ended with the request", "err", s.err)
			return nil
		}
		return s.err
	}
	if s.loaded && !s.p.dirty() && !s.stale && (s.base == nil || !s.due) {
		return nil // read only, no touch due when it was read
	}
	now := time.Now()
	// A context of its own: a store may still use the load's after the call
	// (database/sql does, from its own goroutines).
	c := &s.p.commitCtx // allocated with the changes
	if s.p == &unchanged {
		c = new(storeCtx) // a touch
	}
	ctx := c.bound(s.req.Context(), true, s.m.cfg.StoreTimeout, now)
	defer c.release()
	if s.m.sealer != nil {
		return s.commitSealed(ctx, h, now)
	}
	return s.commitStored(ctx, h, now)
}

// commitStored is the commit on a server store: the rows of the table
// above, one store operation each, then the cap step (admit) and the
// cookie.
func (s *Session) commitStored(ctx context.Context, h http.Header, now time.Time) error {
	p := s.p
	blind := !s.loaded && s.m.delta != nil && p.additive()
	if !s.loaded && !blind {
		if err := s.loadWith(ctx, now); err != nil {
			return err
		}
	}
	switch {
	case s.renewed && p.renew != loginID && !p.destroy: // a login is a new authentication
		return s.refuse()
	case blind && s.cid != "":
		return s.applyBlind(ctx, h, now)
	case p.destroy:
		if s.base != nil || s.renewed {
			// Of a renewed-away ID, Delete ends the session it was
			// renewed into (see Renewer).
			found, err := s.m.del(ctx, "commit", s.cid)
			if err != nil {
				return &StoreError{Op: "delete", Err: err}
			}
			if found || s.base != nil {
				s.m.event(ctx, EventDestroyed, s.cid, s.base)
			}
		}
		s.base = nil
		return s.create(ctx, h, now, s.cookie)
	case s.base == nil:
		return s.create(ctx, h, now, false)
	case p.renew != keepID:
		return s.renewStored(ctx, h, now)
	}
	if !p.dirty() && !s.m.touchDue(s.base.LastSeen, now) {
		return nil
	}
	rec := s.merged()
	s.m.seen(rec, now)
	if err := s.checkLimits(rec.Values); err != nil {
		return err
	}
	if s.m.delta == nil {
		// Save only: last writer wins.
		if rec.Empty() {
			if _, err := s.m.del(ctx, "commit", s.cid); err != nil {
				return &StoreError{Op: "delete", Err: err}
			}
			s.expireCookie(h)
			return nil
		}
		if err := s.m.save(ctx, s.cid, rec); err != nil {
			return &StoreError{Op: "save", Err: err}
		}
	} else {
		deleted, err := s.m.apply(ctx, s.cid, s.delta(now))
		switch {
		case errors.Is(err, ErrRenewed):
			return s.refuse()
		case errors.Is(err, driver.ErrNotFound):
			return s.ended(ctx)
		case err != nil:
			return &StoreError{Op: "apply", Err: err}
		case deleted:
			s.expireCookie(h)
			return nil
		}
	}
	if err := s.admit(ctx, h, s.cid, rec); err != nil {
		return err
	}
	return s.refreshCookie(h, rec, now)
}

// applyBlind commits additive changes to a session that was never read:
// one Apply, and a new session if the ID is not live (the token is never
// adopted).
func (s *Session) applyBlind(ctx context.Context, h http.Header, now time.Time) error {
	if err := s.checkLimits(s.p.set); err != nil {
		return err
	}
	_, err := s.m.apply(ctx, s.cid, s.delta(now))
	switch {
	case errors.Is(err, ErrRenewed):
		s.renewed = true
		return s.refuse()
	case errors.Is(err, driver.ErrNotFound):
		return s.create(ctx, h, now, false)
	case err != nil:
		return &StoreError{Op: "apply", Err: err}
	case s.p.user != nil:
		return s.admit(ctx, h, s.cid, &driver.Record{User: *s.p.user})
	}
	return nil
}

// renewStored gives a live session its new ID, atomically.
func (s *Session) renewStored(ctx context.Context, h http.Header, now time.Time) error {
	p := s.p
	rec := s.merged()
	if rec.Empty() {
		// Nothing left to renew: end the session instead.
		if _, err := s.m.del(ctx, "commit", s.cid); err != nil {
			return &StoreError{Op: "delete", Err: err}
		}
		s.expireCookie(h)
		return nil
	}
	if err := s.checkLimits(rec.Values); err != nil {
		return err
	}
	d := s.delta(now)
	d.User = &rec.User
	if p.renew == loginID {
		s.begin(rec, now)
		d.Created, d.Device = rec.Created, &rec.Device
	} else {
		s.m.seen(rec, now)
	}
	d.Deadline, d.AuthenticatedAt = rec.Deadline, p.auth
	var err error
	if r, ok := s.m.store.(driver.Renewer); ok {
		err = s.m.renew(ctx, r, s.cid, p.id, d)
	} else {
		err = s.renewBySaving(ctx, rec)
	}
	switch {
	case err == nil:
		if err := s.admit(ctx, h, p.id, rec); err != nil {
			return err
		}
		s.m.event(ctx, s.renewEvent(), p.id, rec)
		return s.setCookie(h, p.tok, rec, now)
	case errors.Is(err, driver.ErrNotFound) && p.renew == loginID:
		// A login is a new authentication: if the old session ended
		// meanwhile, start a new one, without the old session's values,
		// under an ID that the failed Renew never gave a store.
		s.base = nil
		s.newID(loginID)
		return s.create(ctx, h, now, false)
	case errors.Is(err, ErrRenewed):
		return s.refuse()
	case errors.Is(err, driver.ErrNotFound):
		return s.ended(ctx)
	}
	return &StoreError{Op: "renew", Err: err}
}

// renewBySaving is the Renew of a store without Renewer: save the new
// record, delete the old one, and take the new one back unless the delete
// found the old one live (another request destroyed, revoked or renewed it
// meanwhile).
func (s *Session) renewBySaving(ctx context.Context, rec *driver.Record) error {
	saved := *rec // the store keeps what it is given; rec sets the cookie
	if err := s.m.save(ctx, s.p.id, &saved); err != nil {
		return err
	}
	found, err := s.m.del(ctx, "commit", s.cid)
	if err == nil && found {
		return nil
	}
	if _, undo := s.m.del(ctx, "commit", s.p.id); undo != nil && err == nil {
		err = undo
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("sesame: renew: %w", driver.ErrNotFound)
}

// create stores the pending changes as a new session, with a new token
// (the Renew's or Login's, if any). It stores nothing for a session
// without values or user; then it deletes the cookie if expire is set.
func (s *Session) create(ctx context.Context, h http.Header, now time.Time, expire bool) error {
	rec := s.merged()
	if rec.Empty() {
		if expire {
			s.expireCookie(h)
		}
		return nil
	}
	if err := s.checkLimits(rec.Values); err != nil {
		return err
	}
	tok, id := s.p.tok, s.p.id
	if tok == "" {
		tok = newToken()
		id = s.m.hash.id(tok)
	}
	s.begin(rec, now)
	if err := s.m.saveNew(ctx, id, rec); err != nil {
		return &StoreError{Op: "save", Err: err}
	}
	if err := s.admit(ctx, h, id, rec); err != nil {
		return err
	}
	s.created(ctx, id, rec)
	return s.setCookie(h, tok, rec, now)
}

// begin sets the times and the device of a session whose absolute
// lifetime starts at now: a new session, or a Login.
func (s *Session) begin(rec *driver.Record, now time.Time) {
	s.m.start(rec, now)
	rec.Device = s.m.device(s.req)
}

// created reports a new session to the Observer.
func (s *Session) created(ctx context.Context, id string, rec *driver.Record) {
	s.m.event(ctx, EventCreated, id, rec)
	if s.p.renew == loginID {
		s.m.event(ctx, EventLoggedIn, id, rec)
	}
}

// renewEvent is the event of a committed ID change.
func (s *Session) renewEvent() EventKind {
	switch {
	case s.p.renew == loginID:
		return EventLoggedIn
	case !s.p.auth.IsZero():
		return EventReauthenticated
	}
	return EventRenewed
}

// admit applies Config.MaxSessionsPerUser after a write that gave the
// session id its user (a Login, or a SetUser to another user). With
// CapRefuse, a session over the cap has been ended by the store: its
// cookie is deleted and the commit fails with ErrTooManySessions.
func (s *Session) admit(ctx context.Context, h http.Header, id string, rec *driver.Record) error {
	p := s.p
	gotUser := p.renew == loginID || p.user != nil && (s.base == nil || s.base.User != *p.user)
	if s.m.capper == nil || rec.User == "" || !gotUser {
		return nil
	}
	ended, err := s.m.capUser(ctx, rec.User, id, s.m.cfg.CapPolicy == CapRefuse)
	if err != nil {
		return &StoreError{Op: "cap user", Err: err}
	}
	refused := false
	for _, in := range ended {
		s.m.event(ctx, EventEvicted, in.ID, &driver.Record{User: in.User, Device: in.Device})
		refused = refused || in.ID == id
	}
	if !refused {
		return nil
	}
	if s.cookie {
		s.expireCookie(h)
	}
	return fmt.Errorf("%w: the user has %d", ErrTooManySessions, s.m.cfg.MaxSessionsPerUser)
}

// refuse ends the commit of a request whose cookie was renewed away: its
// changes are refused, and it sends no cookie.
func (s *Session) refuse() error {
	if !s.p.dirty() {
		return nil
	}
	return fmt.Errorf("%w: the request's changes are refused", ErrRenewed)
}

// ended drops the changes of a session that another request ended while
// this one ran. No cookie is sent: the browser may already hold a newer one.
func (s *Session) ended(ctx context.Context) error {
	s.m.log.DebugContext(ctx, "sesame: session ended during the request; changes dropped")
	return nil
}

// commitSealed is the commit on a Sealer: a refusal for a renewed-away
// cookie, the revocation of a destroyed session, then one Seal of the
// whole session as the request leaves it (with Prev for a Renew or Login),
// or none if nothing changed and no touch or re-seal is due.
func (s *Session) commitSealed(ctx context.Context, h http.Header, now time.Time) error {
	p := s.p
	if !s.loaded {
		if err := s.loadWith(ctx, now); err != nil {
			return err
		}
	}
	if s.renewed && p.renew != loginID && !p.destroy {
		return s.refuse()
	}
	gone := s.base // the session a Destroy ends
	if gone == nil {
		gone = s.away
	}
	if p.destroy && gone != nil && gone.User != "" {
		if r, ok := s.m.sealer.(driver.SealRevoker); ok {
			if err := s.m.revokeSealed(ctx, r, driver.Sealed{ID: s.cid, Record: gone, Origin: s.origin}); err != nil {
				return &StoreError{Op: "revoke", Err: err}
			}
		}
	}
	if p.destroy {
		if gone != nil {
			s.m.event(ctx, EventDestroyed, s.cid, gone)
		}
		s.base = nil
	}
	rec := s.merged()
	if rec.Empty() {
		if s.cookie && (p.destroy || s.base != nil) { // ended here, not unknown
			s.expireCookie(h)
		}
		return nil
	}
	if err := s.checkLimits(rec.Values); err != nil {
		return err
	}
	in := driver.Sealed{ID: s.cid, Record: rec}
	switch {
	case s.base == nil:
		in.ID = s.p.id
		if in.ID == "" {
			in.ID = newToken() // an ID only: the sealed value is the credential
		}
		s.begin(rec, now)
	case p.renew != keepID:
		in.ID, in.Prev = p.id, &driver.Sealed{ID: s.cid, Record: s.base, Origin: s.origin}
		if p.renew == loginID {
			s.begin(rec, now)
		} else {
			s.m.seen(rec, now)
		}
	case p.dirty() || s.stale || s.m.touchDue(s.base.LastSeen, now):
		in.Origin = s.origin
		s.m.seen(rec, now)
	default:
		return nil
	}
	v, err := s.m.seal(ctx, in)
	if errors.Is(err, driver.ErrNotFound) && in.Prev != nil {
		if p.renew != loginID {
			return s.ended(ctx) // revoked since it was opened
		}
		s.base = nil // a new authentication: a new session, without the old values
		rec = s.merged()
		s.begin(rec, now)
		in = driver.Sealed{ID: p.id, Record: rec}
		v, err = s.m.seal(ctx, in)
	}
	if err != nil {
		return &StoreError{Op: "seal", Err: err}
	}
	switch {
	case s.base == nil:
		s.created(ctx, in.ID, rec)
	case in.Prev != nil:
		s.m.event(ctx, s.renewEvent(), in.ID, rec)
	}
	return s.setCookie(h, v, rec, now)
}

// merged returns the record as this request leaves it, in a new Record,
// with the stored record's times.
func (s *Session) merged() *driver.Record {
	rec := &driver.Record{Persist: s.m.cfg.Persist}
	if s.base != nil && !s.p.destroy {
		*rec = *s.base
	}
	rec.Values = s.values()
	if s.p.user != nil {
		if *s.p.user != "" && *s.p.user != rec.User {
			// Another user's login proves nothing of this one's (see
			// Delta.ChangesUser).
			rec.AuthenticatedAt = time.Time{}
		}
		rec.User = *s.p.user
	}
	if s.p.persist != nil {
		rec.Persist = *s.p.persist
	}
	if !s.p.auth.IsZero() {
		rec.AuthenticatedAt = s.p.auth
	}
	return rec
}

// delta returns the pending changes as a Delta.
func (s *Session) delta(now time.Time) *driver.Delta {
	p := s.p
	d := &driver.Delta{Clear: p.clear, User: p.user, Persist: p.persist, LastSeen: now, Expires: s.m.deltaExpiry(now)}
	d.Set = p.set // no change follows the commit, so the map can be shared
	for k := range p.del {
		d.Delete = append(d.Delete, k)
	}
	return d
}

// refreshCookie sends the cookie again after a change, with its token, if
// its attributes changed: a persistent cookie's expiry rolls forward, and a
// RememberMe switches the cookie between persistent and session-only.
func (s *Session) refreshCookie(h http.Header, rec *driver.Record, now time.Time) error {
	if s.p.persist != nil || rec.Persist && !s.m.cfg.FixedExpiry {
		return s.setCookie(h, s.raw, rec, now)
	}
	return nil
}

// setCookie sets the session cookie to value.
func (s *Session) setCookie(h http.Header, value string, rec *driver.Record, now time.Time) error {
	if !validCookieValue(value) {
		return &StoreError{Op: "seal", Err: errors.New("the cookie value has bytes a cookie cannot carry")}
	}
	var until time.Time
	var maxAge int
	if rec.Persist {
		until = s.m.cookieExpiry(rec)
		maxAge = max(1, int(until.Sub(now).Seconds()))
	}
	line := s.m.cookie.line(value, until, maxAge)
	if len(line) > maxCookieSize {
		return &LimitError{Limit: "cookie", Got: len(line), Max: maxCookieSize}
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
