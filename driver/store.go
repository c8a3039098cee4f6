package driver

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
)

// Record is the state a store keeps for one session.
//
// Values holds the session's key/value pairs. A value is either the Go value
// that was Put (stores that keep values in memory return it unchanged) or a
// json.RawMessage holding its JSON encoding (stores that serialise). sesame.Get
// decodes a json.RawMessage into the type the caller asks for, so a value
// keeps its type through any store. Stores that serialise encode each value
// with [MarshalValue].
//
// The Manager never modifies a Record it got from a store, and never
// modifies one after handing it to a store: a store may keep the Records it
// is given and return them, shared, from Load.
type Record struct {
	// Values are the session's key/value pairs. It may be nil when empty.
	Values map[string]any
	// User is the user the session belongs to ("" if none). Stores that
	// implement UserStore index sessions by it.
	User string
	// Created is when the session's absolute lifetime started: its
	// creation, or its last sesame.Session.Login. sesame.Session.Renew keeps it.
	Created time.Time
	// LastSeen is the last recorded activity. It is updated on every write
	// and, when an idle timeout is set, by throttled touches.
	LastSeen time.Time
	// Deadline is the absolute end of the session: Created plus the
	// lifetime. No touch, write or Renew moves it; a Login sets a new one.
	Deadline time.Time
	// Expires is when the session expires: the earlier of Deadline and
	// LastSeen plus the idle timeout. Stores must not return a record at or
	// after Expires, and should drop it then (a TTL); the manager checks it
	// again on every load.
	Expires time.Time
	// Persist reports whether the session's cookie is persistent
	// ("remember me") rather than a session-only cookie.
	Persist bool
	// AuthenticatedAt is when the user last proved who they are: their
	// last sesame.Session.Login or sesame.Session.Reauthenticate; zero if never.
	// Touches, writes and Renew keep it.
	AuthenticatedAt time.Time
	// Device is the client that created the session or last logged in.
	Device Device
}

// Device is what a session records of its client, at creation and at each
// Login: for a user's list of their devices, never for authentication.
type Device struct {
	// UserAgent is the request's User-Agent header, truncated to
	// MaxUserAgentLen bytes (at a UTF-8 boundary).
	UserAgent string
	// IP is the client address, as sesame.Config.ClientIP finds it and
	// sesame.Config.IPStorage keeps it: the full address (the default), its
	// network prefix, or "".
	IP string
}

// Delta is a change to an existing record: the keys a request set or deleted,
// plus the new metadata. It is applied in this order: Clear, Delete, Set.
//
// A Delta with no key changes is a touch: it only moves LastSeen and Expires.
// A store must not modify a Delta or keep its maps.
type Delta struct {
	// Clear removes every value before Delete and Set are applied.
	Clear bool
	// Delete lists keys to remove.
	Delete []string
	// Set holds values to add or replace.
	Set map[string]any
	// User, if non-nil, is the record's new user.
	User *string
	// Persist, if non-nil, is the record's new Persist flag.
	Persist *bool
	// LastSeen replaces the record's LastSeen. It is always set.
	LastSeen time.Time
	// Expires is the new idle expiry. The store sets the record's Expires
	// to the earlier of this and the record's Deadline (the new one, if
	// the delta sets it), so a delta applied without reading the record
	// never extends a session past its absolute lifetime.
	Expires time.Time
	// Created and Deadline, if not zero, replace the record's: a Login
	// starts a new absolute lifetime. Renew sets Deadline to the record's
	// current one, so that a store knows it without a read.
	Created, Deadline time.Time
	// AuthenticatedAt, if not zero, replaces the record's: a Login or a
	// Reauthenticate.
	AuthenticatedAt time.Time
	// Device, if non-nil, replaces the record's: a Login.
	Device *Device
}

// ApplyTo applies d to rec in place, as a DeltaStore must. rec.Values must be
// a map the caller owns (or nil).
func (d *Delta) ApplyTo(rec *Record) {
	if d.ChangesUser(rec.User) {
		// Another user's login proves nothing of this one's.
		rec.AuthenticatedAt = time.Time{}
	}
	if d.Clear {
		clear(rec.Values)
	}
	for _, k := range d.Delete {
		delete(rec.Values, k)
	}
	if len(d.Set) > 0 && rec.Values == nil {
		rec.Values = make(map[string]any, len(d.Set))
	}
	for k, v := range d.Set {
		rec.Values[k] = v
	}
	if d.User != nil {
		rec.User = *d.User
	}
	if d.Persist != nil {
		rec.Persist = *d.Persist
	}
	if !d.Created.IsZero() {
		rec.Created = d.Created
	}
	if !d.Deadline.IsZero() {
		rec.Deadline = d.Deadline
	}
	if !d.AuthenticatedAt.IsZero() {
		rec.AuthenticatedAt = d.AuthenticatedAt
	}
	if d.Device != nil {
		rec.Device = *d.Device
	}
	rec.LastSeen = d.LastSeen
	rec.Expires = d.Expires
	if !rec.Deadline.IsZero() && rec.Deadline.Before(rec.Expires) {
		rec.Expires = rec.Deadline
	}
}

// ChangesUser reports whether d gives a record whose user is user to
// another user, without a Login or Reauthenticate (d.AuthenticatedAt is
// zero): such a delta clears the record's AuthenticatedAt, so that the new
// user never counts as fresh on the previous user's login. Every
// DeltaStore's Apply must do so too, as ApplyTo does.
func (d *Delta) ChangesUser(user string) bool {
	return d.User != nil && *d.User != "" && *d.User != user && d.AuthenticatedAt.IsZero()
}

// Emptying reports whether d can leave a record empty: it removes values
// or the user. A DeltaStore need only check for emptiness after such a
// delta.
func (d *Delta) Emptying() bool {
	return d.Clear || len(d.Delete) > 0 || d.User != nil && *d.User == ""
}

// Empty reports whether rec has no values and no user: such a record is
// never kept.
func (rec *Record) Empty() bool { return len(rec.Values) == 0 && rec.User == "" }

// Info describes a session without its values. It is what UserStore lists.
type Info struct {
	// ID is the session ID: a hash of the token, safe to show to the user
	// and useless as a credential.
	ID       string
	User     string
	Created  time.Time
	LastSeen time.Time
	Expires  time.Time
	// Deadline is the session's absolute end (Record.Deadline).
	Deadline        time.Time
	AuthenticatedAt time.Time
	Device          Device
	// Label names the device for people, such as "Chrome 156 on Linux" (see
	// sesame.Config.DeviceLabel). sesame.Manager.Sessions sets it; stores
	// leave it empty.
	Label string
}

// Info returns the Info of rec stored under id.
func (rec *Record) Info(id string) Info {
	return Info{
		ID: id, User: rec.User, Created: rec.Created, LastSeen: rec.LastSeen, Expires: rec.Expires,
		Deadline: rec.Deadline, AuthenticatedAt: rec.AuthenticatedAt, Device: rec.Device,
	}
}

// Store keeps session records on the server, keyed by session ID.
//
// The ID a store sees is a hash of the token sent in the cookie (see
// sesame.Config.Secret); a store never sees the token itself, so a leaked
// database or dump holds no usable credential.
//
// A store must honour ctx cancellation and deadlines (the Manager bounds
// every call with sesame.Config.StoreTimeout). All methods may be called
// concurrently.
//
// Optional capabilities are separate interfaces, discovered by type assertion:
// [DeltaStore], [Creator], [Renewer], [Updater], [UserStore] (with [UserDeleter]),
// [UserCapper], [Purger] and [RevocationStore]. A store that implements only
// Store works: commits save the whole record, so two concurrent requests that
// change one session resolve last-writer-wins, and a write racing a Destroy
// may bring the session back. Renew and Login stay safe (see [Renewer]).
// Implement DeltaStore and Renewer to make every commit atomic.
type Store interface {
	// Load returns the record stored under id. It returns an error wrapping
	// ErrNotFound if there is none or it has expired, and any other error
	// only when the store failed.
	Load(ctx context.Context, id string) (*Record, error)
	// Save creates or replaces the record stored under id. It may keep rec
	// and its Values map: the caller hands them over and never modifies
	// them afterwards (the Manager gives every Save a new Record).
	Save(ctx context.Context, id string, rec *Record) error
	// Delete removes the record stored under id, and reports whether it
	// removed a live one. Deleting a record that does not exist is not an
	// error. Of concurrent Deletes of one record, exactly one reports true.
	Delete(ctx context.Context, id string) (bool, error)
}

// DeltaStore is a Store that applies partial updates atomically, so that
// concurrent requests changing different keys of one session all survive.
type DeltaStore interface {
	Store

	// Apply applies d to the live record stored under id, atomically. If
	// no live record exists it changes nothing and returns an error
	// wrapping ErrNotFound: a commit never brings a destroyed session back.
	// If the result is empty (see [Record.Empty]; only an
	// [Delta.Emptying] delta can do that) it deletes the record instead,
	// in the same atomic step, and reports deleted.
	Apply(ctx context.Context, id string, d *Delta) (deleted bool, err error)
}

// Creator is a Store with a cheaper write for a new session. The Manager
// calls Create instead of Save when it stores a session under an ID it
// has just derived from a new 256-bit random token: no record can hold
// that ID, and no other call uses it yet. Create does what Save does for
// such an ID, and may skip what replacing costs (reading the old record's
// user, removing the old record). Saves of other IDs still go to Save.
type Creator interface {
	Store

	// Create stores rec under id, an ID no record has held. It may keep
	// rec and its Values map, as Save may.
	Create(ctx context.Context, id string, rec *Record) error
}

// Renewer is a Store that changes a session's ID atomically, for
// sesame.Session.Renew and sesame.Session.Login.
//
// Without it the Manager saves the record under the new ID, deletes the old
// one, and deletes the new one again unless that Delete reported a live
// record: of parallel renewals one wins, and none resurrects a session
// destroyed or revoked meanwhile. What it cannot do is tell a request that
// carries the old cookie from one with an unknown cookie, so such a request
// may start a new session.
type Renewer interface {
	Store

	// Renew moves the live record stored under oldID to newID, with d
	// applied (d.User and d.Deadline are always set), in one step that is
	// atomic with respect to every other method: of concurrent Renews of
	// one ID exactly one succeeds, and a Delete or DeleteUser that
	// returns before Renew starts, or that Renew returns before, leaves no
	// live record under either ID.
	//
	// If no live record exists under oldID it changes nothing and returns
	// an error wrapping ErrNotFound, and also ErrRenewed if oldID was
	// renewed. After a Renew, until the old record would have expired,
	// Load, Apply, Update and Renew of oldID report ErrNotFound and
	// ErrRenewed, and Delete of oldID deletes the session now under newID
	// (so that a revocation racing a renewal still ends it), through any
	// number of renewals: Delete and DeleteUser follow the whole chain of
	// renewals, however long, and never report success while a session
	// renewed from the ID is still live. A store that cannot follow it in
	// full returns an error.
	Renew(ctx context.Context, oldID, newID string, d *Delta) error
}

// Updater is a Store that changes one value of a session atomically, for
// sesame.Update: concurrent Updates of one key of one session never lose a
// change, where Apply would keep only the last writer's value.
type Updater interface {
	Store

	// Update replaces the value of key in the live record stored under id
	// with the result of f, atomically, and returns that result. f gets
	// the current value (a Go value or a json.RawMessage, as in
	// Record.Values) and whether there is one. It may be called more than
	// once (a store that compares and swaps calls it again after losing a
	// race), so it must have no side effects. If f fails, Update changes
	// nothing and returns f's error. If no live record exists, it changes
	// nothing and returns an error wrapping ErrNotFound, as Apply does (and
	// ErrRenewed for a renewed ID). Update changes nothing else: not
	// LastSeen, not Expires.
	Update(ctx context.Context, id, key string, f func(old any, ok bool) (any, error)) (any, error)
}

// UserCapper is a UserStore that caps a user's live sessions, for
// sesame.Config.MaxSessionsPerUser.
type UserCapper interface {
	UserStore

	// CapUser ends sessions of user until at most n live ones remain, and
	// returns those it ended. It ends the least recently seen sessions
	// other than keep; or, if refuse is set, keep itself, and only keep
	// (then it returns a list holding keep's Info alone, and no error).
	//
	// Concurrent CapUsers of one user are atomic with respect to each
	// other: once every CapUser that follows a session write has returned,
	// the user has at most n live sessions, however they interleaved.
	CapUser(ctx context.Context, user, keep string, n int, refuse bool) ([]Info, error)
}

// UserStore is a Store that indexes sessions by [Record.User], so a user's
// sessions can be listed and revoked at a cost proportional to that user's
// sessions, never to the size of the store.
type UserStore interface {
	Store
	UserDeleter

	// Sessions lists the live sessions of user, in no particular order.
	// An unknown user has no sessions and is not an error.
	Sessions(ctx context.Context, user string) ([]Info, error)
}

// UserDeleter ends every session of a user: sesame.Manager.RevokeAll calls it.
// A UserStore implements it, and so does a Sealer that keeps per-user
// revocation marks (package cookiestore).
type UserDeleter interface {
	// DeleteUser deletes every session of user except the one with ID
	// keep (none if keep is ""). It returns how many it deleted, or
	// CountUnknown if it cannot know (a Sealer).
	DeleteUser(ctx context.Context, user, keep string) (int, error)
}

// CountUnknown is the count DeleteUser and sesame.Manager.RevokeAll return when
// the number of sessions ended cannot be known: a cookie store cannot count
// the cookies that exist.
const CountUnknown = -1

// Purger is a store that can remove its expired records on demand.
type Purger interface {
	// Purge deletes expired records and returns how many it deleted.
	Purge(ctx context.Context) (int, error)
}

// Sealer is a client-side store: the cookie value is the sealed session
// itself, and nothing is kept on the server.
//
// Open must treat its input as hostile. Any value it cannot authenticate
// (tampered, truncated, sealed for another cookie name, expired or revoked)
// gives an error wrapping ErrNotFound. Any other error means a server-side
// dependency failed. Both methods may be called concurrently.
type Sealer interface {
	// Seal returns the cookie value for the session with the given ID. If
	// s.Prev is set (the ID changes), a Sealer that keeps revocations
	// returns an error wrapping ErrNotFound if s.Prev has been revoked
	// since it was opened.
	Seal(ctx context.Context, name string, s Sealed) (string, error)
	// Open authenticates and decodes a cookie value. With an error
	// wrapping ErrExpired (an authentic value whose session has expired) it
	// may also return that session: the Manager names it in EventExpired,
	// and never adopts it. A Sealer that keeps revocations returns an
	// error wrapping ErrRenewed (and ErrNotFound) for a value whose session
	// was renewed into another ID, together with that session, so that the
	// Manager refuses the request's changes and a Destroy revokes it
	// (see SealRevoker); it may return the session of an authentic value it
	// revoked, too, for the same Destroy.
	Open(ctx context.Context, name, value string) (Sealed, error)
}

// SealRevoker is a Sealer that can revoke one sealed session, so that
// copies of its cookie stop opening: the Manager calls Revoke when a session
// that has a user is destroyed, so that logging out sticks for cookie-only
// sessions too.
type SealRevoker interface {
	Sealer

	// Revoke revokes the session s, as opened by Open (live or renewed
	// away), and every session renewed from it: everything that shares
	// its Origin.
	Revoke(ctx context.Context, s Sealed) error
}

// Sealed is a session as a Sealer sees it.
type Sealed struct {
	// ID is the session's ID, kept inside the sealed value.
	ID string
	// Record is the session's state.
	Record *Record
	// Stale, set by Open, asks for the value to be sealed again on this
	// response; for example because it was sealed with an old key.
	Stale bool
	// Prev, set by the Manager when a commit changes the ID (Renew,
	// Login), is the session as it was opened.
	Prev *Sealed
	// Origin is the session's stable identity: the ID it was created
	// under, which every renewal keeps ("" means ID itself). Open sets it,
	// the Manager passes it back unchanged to every Seal of the session,
	// and a Sealer gives a renewal (Prev set) the origin of Prev.
	Origin string
}

// MaxDenied is how many session IDs a RevocationStore keeps denied per
// user, at most, between two marks. Past it, [RevocationStore.Deny] adds
// nothing and the caller sets a mark instead, which revokes every session
// of the user but one: the list of a user's denied IDs stays bounded, and
// reading it costs the same whatever its length.
const MaxDenied = 1000

// RevocationStore keeps, per user, a revocation mark and a bounded list of
// denied session IDs, for sessions that have no server-side record (a
// Sealer's), so that "log out all my devices", logging out one session and
// a renewal work for cookie-only sessions too. Package cookiestore
// consults it on every open of a session that has a user: one store read
// per such request, whose cost does not depend on how many IDs the user
// has denied.
//
// All methods may be called concurrently.
type RevocationStore interface {
	// SetRevocation sets user's mark to r.Before, r.Keep and r.Expires,
	// replacing an earlier one. It drops user's denied IDs other than
	// r.Keep, and starts their count (see MaxDenied) again: the mark
	// revokes the sessions they denied, which were all created before it.
	// r.Denied is ignored. The store may drop the mark after r.Expires.
	SetRevocation(ctx context.Context, user string, r Revocation) error
	// Deny adds id to user's denied IDs until expires, recording whether it
	// was renewed away (renewed) rather than revoked. Denying an ID again
	// merges the entries: the later expiry, and revoked if either is (a
	// revocation is never turned back into a renewal, which revokes less); a
	// store need not count the ID again. It is atomic with respect to
	// SetRevocation and other Denys, and costs the same whatever the list's
	// length. If MaxDenied IDs of user were denied since its last mark (a
	// store may count those that have expired since), it adds nothing and
	// returns false: the caller then sets a mark instead.
	Deny(ctx context.Context, user, id string, renewed bool, expires time.Time) (bool, error)
	// Revocation returns user's mark (zero if none, or expired) and, in
	// Denied, those of ids that are denied and not expired, at a cost that
	// does not depend on how many IDs the user has denied. An unknown user
	// gives the zero Revocation and no error.
	Revocation(ctx context.Context, user string, ids ...string) (Revocation, error)
}

// Revocation is a per-user revocation mark: every session of the user
// created before Before is revoked, except the one whose ID is Keep; and,
// as RevocationStore.Revocation returns it, the denials of the IDs it was
// asked about.
type Revocation struct {
	// Before is the revocation time. Stores keep at least millisecond
	// precision, so callers round it up to the next millisecond.
	Before time.Time
	// Keep is the ID of the session that stays valid ("" for none): the
	// one that asked to log out everywhere else.
	Keep string
	// Expires is when Before and Keep become useless, because every
	// session they revoke has ended: Before plus the session lifetime.
	Expires time.Time
	// Denied maps each ID asked about that is denied to whether it was
	// renewed away (true) rather than revoked (false).
	Denied map[string]bool
}

// Revokes reports whether r revokes the session with the given ID, origin
// (see Sealed.Origin; "" for id itself) and creation time: the mark covers
// it, its ID is denied (revoked or renewed away), or its origin is revoked.
func (r Revocation) Revokes(id, origin string, created time.Time) bool {
	if _, ok := r.Denied[id]; ok {
		return true
	}
	if renewed, ok := r.Denied[origin]; ok && !renewed {
		return true
	}
	return !r.Before.IsZero() && created.Before(r.Before) && (r.Keep == "" || id != r.Keep)
}

// OverCap returns the sessions a UserCapper ends, of a user's live ones:
// none if there are at most n; otherwise keep alone if refuse is set, and
// else the least recently seen of those other than keep, until n remain
// (ties go to the earlier created, then to the smaller ID).
func OverCap(live []Info, keep string, n int, refuse bool) []Info {
	if len(live) <= n {
		return nil
	}
	if refuse {
		for _, in := range live {
			if in.ID == keep {
				return []Info{in}
			}
		}
		return nil
	}
	others := slices.DeleteFunc(slices.Clone(live), func(in Info) bool { return in.ID == keep })
	slices.SortFunc(others, func(a, b Info) int {
		return cmp.Or(a.LastSeen.Compare(b.LastSeen), a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return others[:min(len(others), len(live)-n)]
}

// Lifetimed is a Sealer whose revocation marks last a session lifetime of
// its own (package cookiestore): sesame.New refuses a Config.Lifetime
// longer than it, under which a revoked session would outlive its mark.
type Lifetimed interface {
	// Lifetime returns the longest session lifetime the Sealer revokes.
	Lifetime() time.Duration
}

// DefaultLifetime is the absolute session lifetime of a Manager, and of a
// store that needs one, when none is configured: 8 hours.
const DefaultLifetime = 8 * time.Hour

// Stater is a store that can summarise the sessions it holds, for
// operators (sesamectl stats). Stats is an O(N) administrative call, never
// one for a request's path.
type Stater interface {
	Stats(ctx context.Context) (Stats, error)
}

// Stats summarises the sessions a store holds.
type Stats struct {
	// Sessions is the number of live sessions: records whose expiry has
	// not passed (a renewal record or a tombstone is not a session).
	Sessions int
	// Users is the number of distinct users among the live sessions
	// (sessions without a user are not counted).
	Users int
	// Expired is the number of records past their expiry that no purge has
	// removed yet, or CountUnknown for a store that drops records at
	// expiry (Redis).
	Expired int
	// TotalBytes is the sum, over the live sessions, of the sizes of their
	// values: the bytes of each value's JSON encoding.
	TotalBytes int64
	// LargestBytes is the size of the largest live session, measured as
	// TotalBytes is.
	LargestBytes int64
}
