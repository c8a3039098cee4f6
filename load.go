package sesame

import (
	"context"
	"errors"
	"github.com/sesame-go/sesame/driver"
	"time"
)

// parse reads the session cookie from the request. It runs once per
// request; later calls return at once.
func (s *Session) parse() {
	if s.parsed {
		return
	}
	s.parsed = true
	s.raw, s.cookie = readCookie(s.req.Header, s.m.cfg.Name)
	if s.cookie && s.m.store != nil && validToken(s.raw) {
		s.cid = s.m.hash.id(s.raw)
	}
}

// load loads the session, once, and returns the load error, if any. An
// unknown, expired, revoked or unreadable cookie gives a new, empty
// session; one whose session was renewed away also sets s.renewed.
func (s *Session) load() error {
	if s.loaded {
		return s.loadErr()
	}
	c := &s.loadCtx
	now := time.Now()
	ctx := c.bound(s.req.Context(), false, s.m.cfg.StoreTimeout, now)
	defer c.release()
	return s.loadWith(ctx, now)
}

// loadWith loads the session with ctx, at now: the request's, or the
// commit's for a load the commit needs.
func (s *Session) loadWith(ctx context.Context, now time.Time) error {
	s.loaded = true
	s.parse()
	var rec *driver.Record
	var sealed driver.Sealed
	var err error
	switch {
	case s.m.sealer != nil && s.cookie && s.raw != "":
		sealed, err = s.m.open(ctx, s.phase(), s.raw)
		switch {
		case err == nil:
			rec, s.cid, s.stale, s.origin = sealed.Record, sealed.ID, sealed.Stale, sealed.Origin
		case errors.Is(err, driver.ErrNotFound) && !errors.Is(err, driver.ErrExpired) && sealed.Record != nil:
			// Renewed away or revoked: kept for a Destroy (see Sealer).
			s.cid, s.origin, s.away = sealed.ID, sealed.Origin, sealed.Record
			fallthrough
		case errors.Is(err, driver.ErrNotFound):
			s.m.log.DebugContext(ctx, "sesame: session cookie rejected", "err", err)
		}
	case s.cid != "":
		rec, err = s.m.load(ctx, s.phase(), s.cid)
	}
	switch {
	case errors.Is(err, ErrRenewed):
		s.renewed = true
	case errors.Is(err, driver.ErrExpired) && s.m.sealer != nil:
		s.m.event(ctx, EventExpired, sealed.ID, sealed.Record) // s.cid stays ""
	case errors.Is(err, driver.ErrExpired):
		s.m.event(ctx, EventExpired, s.cid, nil)
	case errors.Is(err, driver.ErrNotFound):
	case err != nil:
		s.err = &StoreError{Op: "load", Err: err}
	case rec == nil:
	case s.m.live(rec, now):
		s.base, s.due = rec, s.m.touchDue(rec.LastSeen, now)
	default:
		s.m.event(ctx, EventExpired, s.cid, rec)
	}
	if s.base == nil && s.away == nil && s.m.sealer != nil {
		s.cid = ""
	}
	return s.loadErr()
}

// requestEnded reports whether err comes from the end of the request's own
// context (the client went away, or an outer timeout fired), rather than
// from a failing store.
func (s *Session) requestEnded(err error) bool {
	return s.req.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
