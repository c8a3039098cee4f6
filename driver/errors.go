package driver

import "errors"

// The errors a store returns, wrapped with its own context (%w). A store
// checks them with errors.Is, as the Manager does.
var (
	// ErrNotFound reports that a store holds no live record for an ID, or
	// that a Sealer could not open a cookie value.
	ErrNotFound = errors.New("sesame: session not found")
	// ErrExpired reports, beside ErrNotFound, that a store still held the
	// record of a session but it had expired. Stores that drop records at
	// expiry (Redis) cannot tell, and report ErrNotFound alone.
	ErrExpired = errors.New("sesame: session expired")
	// ErrRenewed reports, beside ErrNotFound, that a session ID was renewed
	// away (see Renewer). The root package exports it as sesame.ErrRenewed.
	ErrRenewed = errors.New("sesame: session renewed by another request")
	// ErrNotSupported reports that a store lacks an optional capability.
	// The root package exports it as sesame.ErrNotSupported.
	ErrNotSupported = errors.New("sesame: not supported")
)
