// Package demo is the web app of cmd/sesame-demo: login with session
// renewal, reauthentication for a sensitive action, a per-session counter
// safe across tabs, per-session values, "your devices" with revoke, and
// logout, on any Sesame store. cmd/sesame-demo serves it, and the browser
// tests (module browser/) drive it in Chromium.
//
// Routes registers the app's routes on a mux; New serves them behind a
// Manager's middleware; Options' methods of the same names take the demo's
// own rules (how fresh a login revoke-all needs). Observer logs the
// Manager's lifecycle events. The routes, all answering JSON except the
// first two:
//
//	GET  /                     the demo's page (index.html), which calls the API below
//	GET  /healthz              "ok"
//	POST /api/login            {"user":"alice"} logs in: Session.Login (a new token,
//	                           the user, a new lifetime; the data is kept);
//	                           {"user":"alice","remember":true} also calls
//	                           Session.RememberMe(true), for a persistent cookie.
//	                           200 {"user":"alice"}; 400 unless user is 1 to 64 bytes
//	GET  /api/me               200 {"user","counter","created","last_seen","expires",
//	                           "authenticated_at","device"}: authenticated_at is
//	                           Info.AuthenticatedAt (the last login or
//	                           reauthentication), device is Info.Label;
//	                           401 when not logged in
//	POST /api/reauth           {"user":"alice"} proves again who the logged-in user
//	                           is (a real app would check a password; the demo takes
//	                           the name): Session.Reauthenticate, which moves
//	                           authenticated_at to now and renews the cookie.
//	                           200 with the body of GET /api/me; 401 when not logged
//	                           in; 403 for another user's name
//	POST /api/counter          increments the session's counter with sesame.Update,
//	                           atomically in the store, so that parallel requests
//	                           (two tabs) lose no increment: 200 {"counter":n}, the
//	                           committed value; 409 if the session was renewed
//	                           meanwhile; 501 on a store without driver.Updater
//	PUT  /api/values/{key}     {"value":any JSON} stores it: 200 {"value":...};
//	                           413 for an anonymous visitor past 16 keys or 1 KiB a value
//	GET  /api/values/{key}     200 {"value":...}; 404 when unset
//	GET  /api/sessions         the user's sessions, as a JSON array of Device (id,
//	                           device: the label, ip, created, last_seen, current);
//	                           with a store that cannot list them (a cookie store),
//	                           only this one; 401 when not logged in
//	POST /api/sessions/revoke  {"id":"..."} ends one of the user's sessions, {"all":true}
//	                           all but this one: 200 {"revoked":n}; 400, 401, 404 (not
//	                           the user's), 501 (the store cannot revoke); {"all":true}
//	                           needs a login or reauthentication within Options.Fresh
//	                           (Session.Fresh), else 403 {"error":"reauthentication required"}
//	POST /api/logout           Session.Destroy: 204
//
// New also refuses a browser's cross-origin POST, PUT or DELETE with 403
// (http.CrossOriginProtection), before the session is touched.
//
// Errors are {"error":"..."}. Request bodies are limited to 64 KiB; one
// that is not JSON gets 400. Times are RFC 3339.
//
// The page lists "Your devices" (label, address, created, last seen, and
// which one is this device), revokes one or all others, and on a 403
// "reauthentication required" reauthenticates and retries.
package demo
