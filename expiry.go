package sesame

import (
	"github.com/sesame-go/sesame/driver"
	"time"
)

// This file is the time policy, in one place. A session has:
//
//   - an absolute lifetime (Config.Lifetime), from its creation or its last
//     Login to its Deadline; nothing else moves the Deadline, Renew
//     included;
//   - an idle timeout (Config.IdleTimeout), measured from LastSeen;
//   - Expires, the earlier of the two ends, which stores use as a TTL.
//
// A request that only reads a session writes its new LastSeen (a touch) at
// most once per Config.TouchInterval. A persistent cookie expires with the
// session: at Expires (rolling) or at the Deadline (Config.FixedExpiry).

// idleExpiry returns a session's idle expiry if it is seen at now, or the
// zero time if there is no idle timeout.
func (m *Manager) idleExpiry(now time.Time) time.Time {
	if m.cfg.IdleTimeout < 0 {
		return time.Time{}
	}
	return now.Add(m.cfg.IdleTimeout)
}

// expiry returns the Expires of a session seen at now with the given
// deadline.
func (m *Manager) expiry(deadline, now time.Time) time.Time {
	if idle := m.idleExpiry(now); !idle.IsZero() && idle.Before(deadline) {
		return idle
	}
	return deadline
}

// deltaExpiry is the Expires a delta carries: the idle expiry, or, without
// an idle timeout, a bound the store caps at the record's deadline.
func (m *Manager) deltaExpiry(now time.Time) time.Time {
	if e := m.idleExpiry(now); !e.IsZero() {
		return e
	}
	return now.Add(m.cfg.Lifetime)
}

// start sets the times of a session whose absolute lifetime starts at now:
// a new session, or a Login.
func (m *Manager) start(rec *driver.Record, now time.Time) {
	rec.Created, rec.LastSeen = now, now
	rec.Deadline = now.Add(m.cfg.Lifetime)
	rec.Expires = m.expiry(rec.Deadline, now)
}

// seen moves a live session's LastSeen and Expires to now.
func (m *Manager) seen(rec *driver.Record, now time.Time) {
	rec.LastSeen = now
	rec.Expires = m.expiry(rec.Deadline, now)
}

// live reports whether rec is still live at now by the Manager's own
// settings, whatever the store says: a store may keep a record longer (a
// lagging TTL), and the settings may have been shortened since it was
// written.
func (m *Manager) live(rec *driver.Record, now time.Time) bool {
	if !now.Before(rec.Expires) || !now.Before(rec.Created.Add(m.cfg.Lifetime)) {
		return false
	}
	if !rec.Deadline.IsZero() && !now.Before(rec.Deadline) {
		return false
	}
	return m.cfg.IdleTimeout < 0 || now.Before(rec.LastSeen.Add(m.cfg.IdleTimeout))
}

// touchDue reports whether a live session last seen at lastSeen is due an
// idle-timeout touch at now.
func (m *Manager) touchDue(lastSeen, now time.Time) bool {
	return m.cfg.IdleTimeout > 0 && now.Sub(lastSeen) >= m.cfg.TouchInterval
}

// cookieExpiry returns when a persistent cookie for rec should expire.
func (m *Manager) cookieExpiry(rec *driver.Record) time.Time {
	if m.cfg.FixedExpiry {
		return rec.Deadline
	}
	return rec.Expires
}
