// Package sesame is HTTP session management for net/http: one middleware, a
// typed session API, and stores from an encrypted cookie up to Redis Cluster
// and PostgreSQL.
//
// # Getting started
//
// Create a [Manager] once, with a store, and wrap your handler:
//
//	store := memstore.New(memstore.Options{})
//	defer store.Close()
//	sessions := sesame.New(sesame.Config{Store: store})
//	http.ListenAndServe(addr, sessions.Handler(mux))
//
// In a handler, get the request's [Session] from its context:
//
//	s := sesame.FromContext(r.Context())
//	n, _ := sesame.Get[int](s, "visits")
//	s.Put("visits", n+1)
//
// # Typed values
//
// [Get] returns a value converted to the type you ask for, and whether the key
// exists with that type; [Lookup] tells a missing key ([ErrNoKey]) from a
// value of another type (*[TypeError]). A value keeps its type through every
// store: an int64 comes back as an int64 and a time.Time as a time.Time, never
// as a float64 or a string. A value must encode to JSON (encoding/json), on
// every store; the in-memory store keeps the Go value itself, and hands each
// reader a copy of a value that holds maps, slices or pointers. Keys must be
// valid UTF-8 without NUL bytes ([ErrInvalidKey]). [Config.MaxSize] and
// [Config.MaxKeys] (64 KiB and 1000 by default) bound a session; a commit
// over them fails with a *[LimitError] before anything is written.
//
// [Pop] reads a value and deletes it, for a flash message shown once:
//
//	s.Put("flash", "Saved.") // before the redirect
//	msg, ok := sesame.Pop[string](s, "flash") // on the next page
//
// # Login, logout and fixation
//
// At login, call [Session.Login]: in one step the session gets a new token
// (the old one stops working), the user and a new absolute lifetime, and
// keeps its data. At logout, call [Session.Destroy]: the record is deleted and
// the cookie removed. [Session.Renew] changes the token without a new login,
// for a change of privilege; it keeps the absolute deadline, so rotating IDs
// never keeps a session alive for ever.
//
//	s.Login(userID)
//
// [Manager.Sessions] lists a user's sessions ("your devices"), and
// [Manager.Revoke] and [Manager.RevokeAll] end one or all of them, from inside
// or outside a request.
//
// # Devices, freshness and a cap
//
// Each session records its client's [Device] (User-Agent and address) at
// creation and at each Login, so that a "your devices" page can tell them
// apart: Info.Label names one for people ("Chrome 156 on Linux", with
// DeviceLabel set to package device's Label). [Config.ClientIP] finds the
// address (RemoteAddr by default) and [Config.IPStorage] keeps it whole (the
// default), as a /24 or /48 prefix, or not at all.
//
// Login and [Session.Reauthenticate] set Info.AuthenticatedAt; touches,
// writes and Renew never move it. [Session.Fresh] and the [RequireFresh]
// middleware ask for a recent authentication on sensitive routes;
// [Config.Lifetime] lists the timeouts of NIST SP 800-63B-4 and OWASP.
//
// [Config.MaxSessionsPerUser] caps a user's live sessions: the least
// recently seen goes ([CapEvictOldest]), or the new login is refused
// ([CapRefuse], [ErrTooManySessions]). The store enforces it atomically
// (driver.UserCapper): however many logins of one user run in parallel, at most
// the cap survive.
//
// # Atomic updates
//
// [Update] changes one value in the store, atomically, and returns the
// committed value: a counter clicked in two tabs at once loses no click,
// where Get and Put would keep the last writer's value (driver.Updater).
//
// # Events and metrics
//
// [Config.Observer] receives lifecycle events (created, logged in, renewed,
// reauthenticated, destroyed, revoked, evicted, expired, store failure),
// each with the session ID, the user and the device and never a token; a
// [StoreObserver] also times every store call. Package otelsesame turns them
// into OpenTelemetry metrics and spans.
//
// # When the session is saved
//
// Sessions load lazily: a request that never touches its session costs no
// store access and sets no cookie. Changes are committed before the first byte
// of the response: on the first WriteHeader with a status of 200 or more, on
// Write, Flush, ReadFrom or Hijack, or when the handler returns. A change made
// after that returns [ErrCommitted]; it is never silently lost. If the store
// fails before the response starts, [Config.ErrorHandler] writes the response
// (a plain 500 by default). Every store call is bounded by
// [Config.StoreTimeout] (5s by default). A load that fails only because the
// request's own context ended (the client left, an outer timeout fired)
// writes nothing: the outer middleware answers.
//
// Only what changed is written. With a driver.DeltaStore, the manager sends
// just the keys a request set or deleted, so two concurrent requests of one
// visitor that change different keys both survive. With a driver.Renewer,
// Renew and Login change the ID in one atomic step. Together they make logout
// stick: a request that races a Destroy, a Revoke or a RevokeAll never brings
// the session back, whatever the interleaving, and of parallel renewals of one
// session exactly one survives. A request still carrying a cookie that another
// request renewed sees an empty session, and its changes are refused
// ([ErrRenewed]); it never deletes or replaces the new cookie.
//
// # Caches
//
// Every response that may depend on the session carries Vary: Cookie: one
// whose request carried the cookie or touched the session, and one that
// started before its handler returned (the handler may still read the
// session). Cache-Control: no-cache="Set-Cookie" accompanies every cookie.
//
// # Security
//
// Tokens are 256 bits from crypto/rand. Stores see only a SHA-256 hash of the
// token (HMAC-SHA-256 with [Config.Secret]), so a leaked database holds no
// usable credential. An unknown or expired token is never adopted: a new one
// is issued. Cookies are HttpOnly, Secure and SameSite=Lax by default, and
// named __Host-session, a name a sibling subdomain cannot plant. The absolute
// lifetime and idle timeout are enforced on the server, and no token is ever
// logged.
//
// # Stores
//
// Config.Store takes a server-side store (memstore, sqlitestore, pgstore,
// redisstore) and Config.Sealer a client-side one (cookiestore). What a
// store implements is the contract in package driver: a small core and
// optional capabilities, which the Manager finds by type assertion; a
// missing one gives an error wrapping [ErrNotSupported], never a panic.
// Package sesametest is the conformance suite every store passes.
package sesame
