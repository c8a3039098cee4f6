// Package cookiestore is a client-side session store: the cookie value is the
// session itself, sealed with a key ring, and nothing is kept on the server
// (except, optionally, a revocation mark and a list of denied session IDs
// per user). It implements [driver.Sealer] and [driver.SealRevoker]:
//
//	keys, err := cookiestore.KeysFromEnv() // SESAME_KEYS, newest key first
//	...
//	store, err := cookiestore.New(cookiestore.Config{Keys: keys})
//	...
//	m := sesame.New(sesame.Config{Sealer: store})
//
// # Encryption
//
// Values are sealed with XChaCha20-Poly1305 (golang.org/x/crypto), an AEAD:
// the session is both encrypted and authenticated. It was chosen over
// AES-256-GCM for its nonce. Every seal (a new session, an update, an idle
// touch, a re-seal after rotation) uses a fresh random nonce, and a stateless
// store running on many instances cannot count its seals. GCM's 96-bit random
// nonces are safe for at most 2^32 seals per key (NIST SP 800-38D), which a
// busy site reaches in weeks, and a repeated nonce lets an attacker forge
// values. XChaCha20-Poly1305's 192-bit nonces make a collision negligible
// for any number of seals, so no key ever has to be retired for wear.
//
// The price is speed, which does not matter here: XChaCha20-Poly1305 is
// slower than AES-256-GCM on CPUs with AES instructions, but either takes
// well under a microsecond for a typical session, a small part of a
// request next to encoding the values; bench/README.md has the measured
// figures of the whole middleware. ChaCha20 is also constant-time in
// software on CPUs without AES instructions. One caveat: XChaCha20-Poly1305
// is not FIPS 140 approved, so New fails in the Go FIPS 140-only mode
// (GODEBUG=fips140=only).
//
// With [Config.SignOnly], values are signed with HMAC-SHA-256 (crypto/hmac)
// instead: tamper-proof and readable by anyone holding the cookie. Use it
// only for data that may be seen by the user; it is not a privacy mode.
//
// Each key's 32-byte secret is not used directly: HKDF-SHA-256 (crypto/hkdf)
// derives one subkey for XChaCha20-Poly1305 and another for HMAC, so one key
// ring can serve both modes without reusing key material across algorithms.
//
// # What is bound and checked
//
//   - The cookie name is authenticated with the value (as AEAD associated
//     data, or in the MAC), so a value moved to another cookie is rejected.
//   - The mode is part of the value's authenticated header: an encrypting
//     store never accepts a signed value, and the reverse.
//   - The session's ID, user, creation, last-seen, deadline and expiry times
//     are inside the sealed data, with its authentication time (for
//     [sesame.RequireFresh]) and its [driver.Device]. [Store.Open]
//     rejects a value whose expiry or deadline has passed, or that is older
//     than [Config.Lifetime], and the Manager checks the absolute lifetime
//     and idle timeout again from the same times. A cookie replayed after
//     its end is rejected even if the browser ignored Max-Age.
//   - A value is decoded with strict base64url, so a re-encoded value (with
//     padding, another alphabet or other unused bits) is rejected.
//   - Anything that fails these checks gives an error wrapping
//     driver.ErrNotFound, which the Manager turns into a new, empty session
//     and a debug log line. An authentic value whose session has expired
//     also wraps driver.ErrExpired, so the Manager fires its
//     [sesame.EventExpired]; a forged, tampered or revoked value does not.
//     Open never panics on any input (see FuzzOpen).
//
// Values are never compressed before sealing: compressing secrets together
// with data an attacker can choose leaks them through the length (as in the
// CRIME attack).
//
// # Value format
//
// A value is unpadded base64url of
//
//	format   1 byte: 1 sealed (XChaCha20-Poly1305), 2 signed (HMAC-SHA-256)
//	key ID   1 byte length, 1 to 16 bytes
//	sealed:  24-byte nonce, ciphertext of the payload, 16-byte tag
//	signed:  payload, 32-byte HMAC-SHA-256
//
// The associated data (or the MAC's input before the payload) binds the
// header and the cookie name: the header, the name's length (2 bytes, big
// endian), the name. The payload is the session in a compact binary form:
// flags (Persist, and which of the next two fields are present), ID, user,
// the four times in Unix milliseconds, the authentication time (as
// milliseconds after the creation: 1 byte after a Login), the device (its
// User-Agent and IP, as strings), and the values, each the JSON of
// [driver.MarshalValue]. A zero authentication time and an empty device
// take no room. Open returns the values as json.RawMessage, so
// [sesame.Get] decodes each into its own type. Values sealed before the
// authentication time and the device were added lack them, and still open
// (with both zero).
//
// The whole Set-Cookie line must fit in 4096 bytes, the limit browsers
// enforce. A larger session fails its commit with a
// *sesame.LimitError (Limit "cookie") that reaches the Manager's ErrorHandler
// before anything is sent; a truncated cookie is never sent. What fits:
//
//	session                                          payload    cookie
//	a user, a cart, a CSRF token, the largest device   ~470 B    ~680 B
//	the largest device                                 ~300 B    ~400 B
//	values, without a device                        up to ~2.8 KB
//	values, beside the largest device               up to ~2.5 KB
//
// The largest device is a User-Agent of driver.MaxUserAgentLen (256) bytes
// and a full IPv6 address; a typical User-Agent is 100 to 150 bytes, and
// Config.IPStorage in package sesame can keep less of the address.
//
// # Key rotation
//
// [Config.Keys] is a key ring, newest first. The first key seals; every key
// opens the values that carry its ID. A value opened with an older key is
// marked stale and re-sealed with the newest key on the same response. To
// rotate without logging anyone out:
//
//  1. Generate a key (GenerateKey) and put it first
//     in SESAME_KEYS, keeping the old keys after it. Deploy.
//  2. Once every active session has been seen since, or after the session
//     lifetime at most, remove the old key. Its values are then rejected.
//
// Remove a key at once if it may have leaked: its sessions end. Rotating
// regularly (say, quarterly) limits what a leaked key exposes; the nonce
// space never requires it. See [ParseKeys] for the text form of a ring.
//
// # Revocation
//
// A sealed session needs no server, so it cannot be deleted: removing the
// cookie from one browser leaves every copy of it valid until its idle
// timeout or lifetime ends. Set [Config.Revocation] (any
// [driver.RevocationStore]) to end sessions for good. It keeps, per user,
// a mark ("every session created before T, except session K, is revoked")
// and a bounded list of denied session IDs, each until the end of its
// session's lifetime, marked as revoked or as renewed away. Sessions
// without a user are never checked, and cannot be revoked.
//
// Every cookie carries its session's origin: the ID the session was created
// under, which every renewal keeps ([driver.Sealed.Origin]).
//
//   - Logout sticks: when the Manager destroys a session that has a user,
//     it calls [Store.Revoke], which denies the session's origin, so a copy
//     of the cookie taken before the logout no longer opens, nor does any
//     cookie renewed from it, before or after the logout, however many
//     times. A Destroy with a cookie that was renewed away, or revoked, by
//     another request revokes its origin too.
//   - "Log out all my devices": [sesame.Manager.RevokeAll] calls
//     [Store.DeleteUser], which sets the user's mark. A Renew keeps the
//     session's creation time, so a session renewed from a revoked one
//     stays revoked, and the session kept by the mark stays kept through
//     its renewals.
//   - Renew and Login: when a session with a user gets a new ID,
//     [Store.Seal] reads the mark; if the session being renewed was
//     revoked since the request opened it (a RevokeAll or a Destroy that
//     ran meanwhile), Seal fails with driver.ErrNotFound and the Manager
//     drops the renewal (a Login starts a new session instead). Otherwise
//     Seal denies the old ID as renewed away: a copy of the pre-renewal
//     cookie opens as driver.ErrRenewed, so its request can change nothing
//     and sends no cookie (it never replaces the renewed one).
//   - Bounded lists: a user's list holds at most driver.MaxDenied IDs
//     denied since the user's last mark. When a Deny finds it full, the
//     store sets a mark instead, revoking every other session of the user
//     (kept: the renewed session, or none for a logout), which empties the
//     list. Each read asks only for the presented cookie's ID and origin, so
//     it costs the same however many IDs were denied.
//
// Renew is atomic in this sense: the renewed cookie carries the old
// session's creation time and origin, so a RevokeAll or a Destroy that lands
// at any moment during the renewal ends it too, through the mark or the
// origin's denial. The window errs
// the other way for the session a RevokeAll keeps: if that RevokeAll lands
// inside a renewal of the kept session, after Seal's mark read, the
// renewed cookie is revoked with the others and the old ID is denied, so
// that browser has to log in again.
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
// A failure of the RevocationStore fails the request (the ErrorHandler's
// answer), rather than letting a possibly revoked session in or sending a
// cookie whose predecessor could not be denied. The store may drop a mark
// after Config.Lifetime and a denied ID after its session's end, when Open
// rejects the sessions they revoke as expired anyway. Marks
// compare creation times from different instances, so the instances'
// clocks must be synchronised (as every expiry check assumes).
//
// Without Config.Revocation, RevokeAll returns an error wrapping
// driver.ErrNotSupported, Revoke does nothing, and a copy of a cookie,
// whether taken before a logout or before a Renew, stays valid until it
// expires: keep the idle timeout and lifetime short.
//
// # What a cookie store can enforce
//
// With Config.Revocation, three things can be enforced for a session with
// a user, because each names sessions the store is told about:
//
//   - Log out one session: the request's own, whose origin its Destroy
//     denies, with every renewal of it.
//   - Log out all the user's other sessions: [sesame.Manager.RevokeAll]
//     with the current session's ID as keep.
//   - Deny a renewed ID: Renew, Login and Reauthenticate deny the ID the
//     session had, so the cookie from before stops opening.
//
// Three things cannot be, with or without it, because the cookies live in
// browsers and the store sees only the one a request presents:
//
//   - Telling a pre-login anonymous cookie from a live one. A session
//     without a user is not checked, and its Login is not recorded (marks
//     are per user), so a late write with the anonymous cookie from before
//     a Login is applied to that anonymous session, and its response
//     replaces the logged-in cookie in that browser; the logged-in session
//     itself lives on. Server stores refuse such a write (ErrRenewed).
//
//   - Counting a user's live cookies. There is no list of a user's
//     sessions (Manager.Sessions and Manager.Revoke return an error
//     wrapping driver.ErrNotSupported), and so no per-user cap: sesame.New
//     refuses Config.MaxSessionsPerUser with a Sealer.
//
//   - An atomic Update across requests. [sesame.Update] is a
//     read-modify-write of this request's cookie, and the cookie is the
//     session's one writer: of two requests of one browser updating the
//     session in parallel, the browser keeps the cookie of the last
//     response, and the other request's change is lost. Updates in
//     sequence are never lost.
package cookiestore
