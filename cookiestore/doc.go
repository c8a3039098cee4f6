// Package cookiestore is a client-side session store: the cookie value is the
// session itself, sealed with a key ring, and nothing is kept on the server
// (except, optionally, a revocation mark and a list of denied session IDs
// per user). It implements [driver.Sealer] and [driver.SealRevoker].
//
// Use it when the servers should share no session state: any number of
// instances open each other's cookies with the key ring alone. Use a server
// store (memstore, sqlitestore, redisstore, pgstore) if sessions must be
// listed or capped per user, hold more than about 2.5 KB, or be revoked
// without a user: the last section says what a cookie store cannot enforce.
//
// # Setup
//
//	keys, err := cookiestore.KeysFromEnv() // SESAME_KEYS, newest key first
//	...
//	store, err := cookiestore.New(cookiestore.Options{Keys: keys, Revocation: marks})
//	...
//	m := sesame.New(sesame.Config{Sealer: store})
//
// [GenerateKey] makes a key, and [FormatKeys] prints a ring in the text form
// that SESAME_KEYS and [ParseKeys] take. Set [Options.Lifetime] to the
// Manager's Config.Lifetime.
//
// Sessions are encrypted and authenticated with XChaCha20-Poly1305: its
// random 192-bit nonces let any number of instances seal with one key for
// as long as they like. It is not FIPS 140 approved, so New fails in the Go
// FIPS 140-only mode (GODEBUG=fips140=only). With [Options.SignOnly],
// sessions are signed with HMAC-SHA-256 instead: tamper-proof, and readable
// by anyone holding the cookie. Use it only for data that may be seen by the
// user; it is not a privacy mode.
//
// Every value is bound to its cookie's name and to its mode, and carries the
// session's times: a value moved to another cookie, opened by a store of the
// other mode, or replayed after its idle timeout, deadline or
// [Options.Lifetime] (even by a browser that ignored Max-Age) is rejected.
// A rejected value opens as an error wrapping driver.ErrNotFound, which the
// Manager turns into a new, empty session; an authentic but expired one
// also wraps driver.ErrExpired, so that the Manager fires
// [sesame.EventExpired]. Open never panics on any input.
//
// # Limits
//
// The whole Set-Cookie line must fit in 4096 bytes, the limit browsers
// enforce. A larger session fails its commit with a *sesame.LimitError
// (Limit "cookie") that reaches the Manager's ErrorHandler before anything
// is sent; a truncated cookie is never sent. What fits:
//
//	session                                          payload    cookie
//	a user, a cart, a CSRF token, the largest device   ~470 B    ~680 B
//	the largest device                                 ~300 B    ~400 B
//	values, without a device                        up to ~2.8 KB
//	values, beside the largest device               up to ~2.5 KB
//
// The largest device is a User-Agent of driver.MaxUserAgentLen (256) bytes
// and a full IPv6 address; a typical User-Agent is 100 to 150 bytes, and
// Config.IPStorage in package sesame can keep less of the address. Values
// are never compressed, as compression would leak them through the length.
//
// # Key rotation
//
// [Options.Keys] is a key ring, newest first. The first key seals; every key
// opens the values that carry its ID. A value opened with an older key is
// re-sealed with the newest key on the same response. To rotate without
// logging anyone out:
//
//  1. Generate a key (GenerateKey) and put it first in SESAME_KEYS, keeping
//     the old keys after it. Deploy.
//  2. Once every active session has been seen since, or after the session
//     lifetime at most, remove the old key. Its values are then rejected.
//
// Remove a key at once if it may have leaked: its sessions end. Rotating
// regularly (say, quarterly) limits what a leaked key exposes; no key ever
// has to be retired for the number of values it sealed.
//
// # Revocation
//
// A sealed session needs no server, so it cannot be deleted: removing the
// cookie from one browser leaves every copy of it valid until its idle
// timeout or lifetime ends. Set [Options.Revocation] (any
// [driver.RevocationStore]) to end sessions for good. It keeps, per user,
// a mark ("every session created before T, except session K, is revoked")
// and a bounded list of denied session IDs, each until the session it
// denies would have ended anyway. Sessions without a user are never
// checked, and cannot be revoked. With it:
//
//   - Logout sticks: when the Manager destroys a session with a user, it
//     calls [Store.Revoke], and no copy of the cookie, nor any cookie
//     renewed from it, opens again.
//   - "Log out all my devices": [sesame.Manager.RevokeAll] calls
//     [Store.DeleteUser], which sets the user's mark. The sessions renewed
//     from a revoked one stay revoked; the kept one stays kept.
//   - Renew and Login deny the old ID: a copy of the cookie from before
//     opens as driver.ErrRenewed, so its request can change nothing and
//     sends no cookie. If the session was revoked since its request opened
//     it, the renewal is dropped (a Login starts a new session instead).
//   - A user's list holds at most driver.MaxDenied IDs. A Deny that finds
//     it full sets a mark instead, which logs out every other session of
//     the user and empties the list.
//
// The cost per request, in RevocationStore calls:
//
//	the request ...                              calls
//	does not touch the session                   none
//	loads a session without a user               none
//	loads a live session with a user (Open)      1 read (the mark, and the ID's and origin's entries)
//	  and destroys it (Revoke)                   + 1 write (Deny)
//	  and renews it or logs in (Seal)            + 1 read and 1 write (the mark, Deny)
//	calls RevokeAll (DeleteUser)                 1 write (SetRevocation)
//
// A read costs the same however many IDs the user has denied. A failure of
// the RevocationStore fails the request (the ErrorHandler's answer), rather
// than letting a possibly revoked session in. Marks compare creation times
// from different instances, so the instances' clocks must be synchronised.
//
// Without Options.Revocation, RevokeAll returns an error wrapping
// driver.ErrNotSupported, Revoke does nothing, and a copy of a cookie,
// whether taken before a logout or before a Renew, stays valid until it
// expires: keep the idle timeout and lifetime short.
//
// # What a cookie store can enforce
//
// With Options.Revocation, three things can be enforced for a session with
// a user, because each names sessions the store is told about: logging out
// one session (the request's own, with every renewal of it), logging out
// all the user's other sessions ([sesame.Manager.RevokeAll] with the
// current session's ID as keep), and denying a renewed ID (Renew, Login
// and Reauthenticate deny the ID the session had).
//
// Three things cannot be, with or without it, because the cookies live in
// browsers and the store sees only the one a request presents:
//
//   - Telling a pre-login anonymous cookie from a live one. A session
//     without a user is not checked, and its Login is not recorded, so a
//     late write with the anonymous cookie from before a Login is applied
//     to that anonymous session, and its response replaces the logged-in
//     cookie in that browser; the logged-in session itself lives on.
//     Server stores refuse such a write (ErrRenewed).
//   - Counting a user's live cookies. There is no list of a user's
//     sessions (Manager.Sessions and Manager.Revoke return an error
//     wrapping driver.ErrNotSupported), and so no per-user cap: sesame.New
//     refuses Config.MaxSessionsPerUser with a Sealer.
//   - An atomic Update across requests. [sesame.Update] is a
//     read-modify-write of this request's cookie: of two requests of one
//     browser updating the session in parallel, the browser keeps the
//     cookie of the last response, and the other change is lost. Updates
//     in sequence are never lost.
//
// Design notes (the cipher, the value format, atomicity): see
// docs/internals/cookiestore.md in the repository.
package cookiestore
