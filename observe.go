package sesame

import (
	"context"
	"github.com/sesame-go/sesame/driver"
	"time"
)

// This file is what the Manager tells an Observer: lifecycle events and,
// for a StoreObserver, the timing of store calls.

// Observer receives lifecycle events (see Config.Observer). Event is called
// in the goroutine of the request or of the Manager method, after the store
// has done its part, so it must be quick and must not block; it may be
// called concurrently.
type Observer interface {
	Event(ctx context.Context, e Event)
}

// StoreObserver is an Observer that also times every store call, for
// latency histograms and tracing spans. StartStore is called before a call
// with its context and returns the context the call uses (one with a span,
// say) and a func called, once, when the call returns.
type StoreObserver interface {
	Observer
	StartStore(ctx context.Context, call StoreCall) (context.Context, func(err error))
}

// StoreCall names a store call: the store's Go type (such as
// "*redisstore.Store") and the operation.
type StoreCall struct {
	Store string
	// Op is "load", "create", "save", "apply", "renew", "delete", "update",
	// "sessions", "delete user", "cap user", "open", "seal" or "revoke".
	Op string
	// Phase is "load" for the load of a request's session, "commit" for
	// its commit, "update" for an Update, and "manager" for a Manager
	// method.
	Phase string
}

// EventKind is the kind of an Event. Its value is a short, stable name,
// fit for a metric attribute.
type EventKind string

// The kinds of Event.
const (
	// EventCreated: a new session was stored (or sealed).
	EventCreated EventKind = "created"
	// EventLoggedIn: a Login committed. ID is the new ID.
	EventLoggedIn EventKind = "logged_in"
	// EventReauthenticated: a Reauthenticate committed. ID is the new ID.
	EventReauthenticated EventKind = "reauthenticated"
	// EventRenewed: a Renew committed. ID is the new ID.
	EventRenewed EventKind = "renewed"
	// EventDestroyed: a request destroyed its session.
	EventDestroyed EventKind = "destroyed"
	// EventRevoked: Manager.Revoke ended a session.
	EventRevoked EventKind = "revoked"
	// EventRevokedAll: Manager.RevokeAll ended a user's sessions; Count
	// says how many (or CountUnknown), and ID is the kept one's, if any.
	EventRevokedAll EventKind = "revoked_all"
	// EventEvicted: Config.MaxSessionsPerUser ended a user's session (ID
	// is the evicted one's), or refused a login (ID is the refused one's).
	EventEvicted EventKind = "evicted"
	// EventExpired: a request presented the cookie of a session that has
	// expired, and the Manager could tell. It fires when the store
	// returned the record past its expiry by the Manager's settings, when
	// the store reported ErrExpired (memstore, sqlitestore and pgstore do
	// until their janitor removes the record; a Sealer does for every
	// expired cookie it can authenticate), and never otherwise: Redis
	// drops a record at expiry, and then the cookie is merely unknown.
	// It never depends on keyspace notifications. A session that expires
	// without being asked for again fires nothing.
	EventExpired EventKind = "expired"
	// EventStoreFailed: a store call failed (Err says how), other than by
	// the end of the request's own context.
	EventStoreFailed EventKind = "store_failed"
)

// Event is a session lifecycle event. It never holds a token: ID is the
// session ID, a hash of the token.
type Event struct {
	Kind   EventKind
	ID     string // "" if the session has none yet
	User   string
	Device Device
	Time   time.Time
	Count  int   // EventRevokedAll: how many sessions ended
	Err    error // EventStoreFailed: the failure (a *StoreError)
}

// event sends an event to the Observer, if any. rec may be nil.
func (m *Manager) event(ctx context.Context, kind EventKind, id string, rec *driver.Record) {
	if m.obs == nil {
		return
	}
	e := Event{Kind: kind, ID: id, Time: time.Now()}
	if rec != nil {
		e.User, e.Device = rec.User, rec.Device
	}
	m.obs.Event(ctx, e)
}

// failed reports a store failure to the Observer, if any.
func (m *Manager) failed(ctx context.Context, err error, id, user string) {
	if m.obs != nil {
		m.obs.Event(ctx, Event{Kind: EventStoreFailed, ID: id, User: user, Time: time.Now(), Err: err})
	}
}

func noEnd(error) {}

// startStore starts timing a store call for the StoreObserver, if any.
func (m *Manager) startStore(ctx context.Context, phase, op string) (context.Context, func(error)) {
	if m.sobs == nil {
		return ctx, noEnd
	}
	return m.sobs.StartStore(ctx, StoreCall{Store: m.kind, Op: op, Phase: phase})
}
