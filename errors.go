package sesame

import (
	"github.com/sesame-go/sesame/driver"

	"errors"
	"fmt"
)

var (
	// ErrRenewed reports that a session ID was renewed away: another
	// request gave the session a new ID. A request that still carries the
	// old cookie sees an empty session, and its changes are refused with
	// an error wrapping ErrRenewed (409 by default). It is the store
	// contract's driver.ErrRenewed.
	ErrRenewed = driver.ErrRenewed
	// ErrNotSupported reports that the store lacks an optional capability
	// that a call needs. It is the store contract's driver.ErrNotSupported.
	ErrNotSupported = driver.ErrNotSupported
	// ErrCommitted reports a change made after the session was committed,
	// that is after the response started. The change is not saved.
	ErrCommitted = errors.New("sesame: session already committed")
	// ErrNoSession reports that no session is in the context: the request
	// did not pass through [Manager.Handler].
	ErrNoSession = errors.New("sesame: no session in context")
	// ErrNoKey reports that the session holds no value for a key.
	ErrNoKey = errors.New("sesame: no such key")
	// ErrNoUser reports an operation that needs a session with a user.
	ErrNoUser = errors.New("sesame: session has no user")
	// ErrTooManySessions reports a login refused because its user already
	// has Config.MaxSessionsPerUser sessions (with CapRefuse).
	ErrTooManySessions = errors.New("sesame: too many sessions for the user")
	// ErrNotOwner reports an attempt to revoke a session that does not
	// belong to the given user.
	ErrNotOwner = errors.New("sesame: session does not belong to user")
	// ErrInvalidKey reports a key that no store can keep exactly: empty,
	// longer than MaxKeyLen, not valid UTF-8, or holding a NUL byte.
	ErrInvalidKey = errors.New("sesame: invalid key")
	// ErrInvalidUser reports a user that no store can keep exactly: longer
	// than MaxUserLen, not valid UTF-8, or holding a NUL byte.
	ErrInvalidUser = errors.New("sesame: invalid user")
)

// TypeError reports a value whose type is not the one asked for.
type TypeError struct {
	Key  string
	Want string // the type asked for
	Got  string // the stored value's type, or "json" with the decode error
	Err  error  // the decode error, if any
}

func (e *TypeError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("sesame: value %q is not a %s: %v", e.Key, e.Want, e.Err)
	}
	return fmt.Sprintf("sesame: value %q is a %s, not a %s", e.Key, e.Got, e.Want)
}

func (e *TypeError) Unwrap() error { return e.Err }

// LimitError reports a session over one of its limits: [Config.MaxSize],
// [Config.MaxKeys], or the 4096 bytes of a Set-Cookie line that browsers
// accept (a cookie store's session, sealed). Nothing is written: a Put
// returns it at once when it can tell, and a commit fails with it (the
// ErrorHandler answers) before it reaches the store or sends the cookie.
type LimitError struct {
	// Limit is "size" (bytes of encoded keys and values), "keys", or
	// "cookie" (bytes of the Set-Cookie line).
	Limit string
	Got   int
	Max   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("sesame: session over its %s limit: %d > %d", e.Limit, e.Got, e.Max)
}

// StoreError wraps a failure of the store, with the operation that failed.
type StoreError struct {
	Op  string // "load", "save", "apply", "renew", "delete", "seal", "open", ...
	Err error
}

func (e *StoreError) Error() string { return "sesame: store " + e.Op + ": " + e.Err.Error() }

func (e *StoreError) Unwrap() error { return e.Err }
