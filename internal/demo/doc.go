// Package demo is the web app of cmd/sesame-demo: login with session
// renewal, a per-session counter, per-session values, "your devices" with
// revoke, and logout, on any Sesame store. cmd/sesame-demo serves it, and
// the browser tests (module browser/) drive it in Chromium.
//
// Routes registers the app's routes on a mux; New serves them behind a
// Manager's middleware. The routes, all answering JSON except the first two:
//
//	GET  /                     the demo's page (index.html), which calls the API below
//	GET  /healthz              "ok"
//	POST /api/login            {"user":"alice"} logs in: Session.Login (a new token,
//	                           the user, a new lifetime; the data is kept);
//	                           {"user":"alice","remember":true} also calls
//	                           Session.RememberMe(true), for a persistent cookie.
//	                           200 {"user":"alice"}; 400 unless user is 1 to 64 bytes
//	GET  /api/me               200 {"user","counter","created","last_seen","expires"};
//	                           401 when not logged in
//	POST /api/counter          increments the session's counter: 200 {"counter":n}
//	PUT  /api/values/{key}     {"value":any JSON} stores it: 200 {"value":...};
//	                           413 for an anonymous visitor past 16 keys or 1 KiB a value
//	GET  /api/values/{key}     200 {"value":...}; 404 when unset
//	GET  /api/sessions         the user's sessions, as a JSON array of Device; with a
//	                           store that cannot list them (a cookie store), only this
//	                           one; 401 when not logged in
//	POST /api/sessions/revoke  {"id":"..."} ends one of the user's sessions, {"all":true}
//	                           all but this one: 200 {"revoked":n}; 400, 401, 404 (not
//	                           the user's), 501 (the store cannot revoke)
//	POST /api/logout           Session.Destroy: 204
//
// Errors are {"error":"..."}. Request bodies are limited to 64 KiB; one
// that is not JSON gets 400.
package demo
