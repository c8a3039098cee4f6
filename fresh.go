package sesame

import (
	"fmt"
	"net/http"
	"time"
)

// This file is step-up freshness: how recently the user proved who they
// are, for routes that need more than a live session (changing a password,
// revoking every device, paying).

// Reauthenticate records that the session's user has just proved who they
// are again (a password or a second factor, asked for a sensitive action):
// it sets AuthenticatedAt to now and, like Renew, gives the session a new
// token, keeping its user, data and deadline. It returns an error wrapping
// ErrNoUser for a session without a user.
func (s *Session) Reauthenticate() error {
	if s == nil {
		return ErrNoSession
	}
	now := time.Now()
	return s.update(edit, "reauthenticate", "", func() error {
		if s.userLocked() == "" {
			return fmt.Errorf("%w: reauthenticate", ErrNoUser)
		}
		if s.p.renew == keepID {
			s.newID(renewID)
		}
		s.p.auth = now
		return nil
	})
}

// authenticatedAt returns when the session's user last logged in or
// reauthenticated, this request's Login or Reauthenticate included; zero
// if never, or if this request gave the session to another user. s.mu is
// held.
func (s *Session) authenticatedAt() time.Time {
	if !s.p.auth.IsZero() {
		return s.p.auth
	}
	if rec := s.live(); rec != nil && rec.User != "" && (s.p.user == nil || *s.p.user == rec.User) {
		return rec.AuthenticatedAt
	}
	return time.Time{}
}

// Fresh reports whether the session's user authenticated (logged in or
// reauthenticated) less than maxAge ago.
func (s *Session) Fresh(maxAge time.Duration) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	at := s.authenticatedAt()
	s.mu.Unlock()
	return !at.IsZero() && time.Since(at) < maxAge
}

// RequireFresh returns middleware for sensitive routes: it passes a request
// on only if its session's user authenticated less than maxAge ago (see
// [Session.Fresh]), and hands any other to stale. If stale is nil, it
// answers 403 Forbidden; to send the user to a password prompt instead,
// pass http.RedirectHandler(url, http.StatusSeeOther). It must run behind
// [Manager.Handler].
func RequireFresh(maxAge time.Duration, stale http.Handler) func(http.Handler) http.Handler {
	if stale == nil {
		stale = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "reauthentication required", http.StatusForbidden)
		})
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !FromContext(r.Context()).Fresh(maxAge) {
				stale.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
