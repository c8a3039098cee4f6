// Package itsdangerous reads and writes the signed session cookies of
// Python web apps, byte for byte as Python's itsdangerous makes them, so
// that a Flask or Starlette app can move to Sesame without logging its
// visitors out. It uses the standard library only.
//
// # Signing
//
// [Signer] and [TimestampSigner] are itsdangerous' Signer and
// TimestampSigner: HMAC-SHA1 (or any hash) over a key derived from the
// secret and a salt ([DjangoConcat], [HMAC], [Concat] or [None]), in
// URL-safe base64 without padding, after a "." separator. The timestamp is
// the signing time in seconds since the Unix epoch (itsdangerous 1.0 and
// later; [LegacyEpoch] for older tokens), as big-endian bytes without
// leading zeros, in the same base64. Signatures are compared in constant
// time; older secrets can be accepted with [Options].Fallbacks.
//
// [URLSafeTimedSerializer] adds a JSON payload, zlib-compressed when that
// makes it shorter (the payload then starts with "."). Go's deflate is not
// zlib's, so a compressed payload made by Go differs from Python's, and Go
// may leave uncompressed a small payload that Python would compress; both
// read either. Uncompressed tokens are identical.
//
// # Codecs
//
// [Flask] and [Starlette] return a [Codec] for a framework's default
// session cookie:
//
//   - Flask (SecureCookieSessionInterface): salt "cookie-session", the
//     hmac key derivation, SHA-1, Flask's tagged JSON (tuples, bytes,
//     datetimes, UUIDs and Markup come back as []any, []byte, time.Time
//     and strings), and a maximum age of 31 days
//     (PERMANENT_SESSION_LIFETIME).
//   - Starlette (SessionMiddleware, also FastAPI's): a TimestampSigner
//     with itsdangerous' defaults over standard base64 of JSON, and a
//     maximum age of 14 days (max_age).
//
// Decode returns the session, with JSON numbers as json.Number, and the
// time it was signed; a bad cookie gives an error wrapping
// [ErrBadSignature], [ErrExpired] or [ErrBadPayload], never a panic.
// Encode signs a session that the Python app accepts.
//
// # Migrating a Flask app
//
// [Migrate] is middleware that copies a visitor's Python session into
// their Sesame session on their first request, and logs them in as the
// user the Python session names. Run it inside the Manager's Handler,
// behind the same host name, with the Flask app's SECRET_KEY:
//
//	m := sesame.New(sesame.Config{Store: store})
//	adopt := itsdangerous.Migrate(m, itsdangerous.Flask(os.Getenv("FLASK_SECRET_KEY")),
//		itsdangerous.MigrateOptions{UserKey: "_user_id"}) // Flask-Login's key
//	http.ListenAndServe(":8080", m.Handler(adopt(mux)))
//
// Handlers then read the values through Sesame as if it had stored them:
//
//	s := sesame.FromContext(r.Context())
//	cart, err := sesame.Lookup[[]int](s, "cart")
//
// Flask's and Starlette's cookie is called "session", as is Sesame's when
// it is not Secure: Sesame then ignores the Python value, which is not one
// of its tokens, and its own cookie replaces it. A Secure Sesame cookie is
// "__Host-session"; Migrate then expires the Python cookie. Remove the
// middleware once the Python sessions have expired (31 days for Flask).
package itsdangerous
