// Package otelsesame reports sesame's session lifecycle events and store
// calls to OpenTelemetry: two metrics, a span per store call, and span
// events. It is a module of its own, so that only the applications that
// import it depend on OpenTelemetry.
//
//	obs, err := otelsesame.New(otelsesame.Options{}) // the otel globals
//	if err != nil {
//		return err
//	}
//	sessions := sesame.New(sesame.Config{Store: store, Observer: obs})
//
// Options.MeterProvider and Options.TracerProvider choose other providers.
// The instrumentation scope is [ScopeName].
//
// # Metrics
//
// sesame.session.events ([EventsMetric]) is an Int64Counter, unit {event},
// of the lifecycle events, by the attribute sesame.event: the
// sesame.EventKind ("created", "logged_in", "reauthenticated", "renewed",
// "destroyed", "revoked", "revoked_all", "evicted", "expired",
// "store_failed"). One counter serves every kind, so a dashboard sums or
// splits by sesame.event. A store_failed event also has sesame.operation
// (the failed operation of the *sesame.StoreError) and error.type.
//
// sesame.store.duration ([StoreDurationMetric]) is a Float64Histogram, unit
// s, of the duration of every store (or Sealer) call, with explicit bucket
// boundaries 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250 and 500 ms, 1,
// 2.5 and 5 s (5 s is sesame's default StoreTimeout). Its attributes:
//
//   - sesame.store: the store's Go type, such as "*redisstore.Store"
//   - sesame.operation: "load", "create", "save", "apply", "renew", "delete",
//     "update", "sessions", "delete user", "cap user", "open", "seal" or
//     "revoke"
//   - sesame.phase: "load" (loading a request's session), "commit" (its
//     commit), "update" (sesame.Update) or "manager" (a Manager method)
//   - sesame.outcome, on a call that ended in an answer of normal
//     operation, which is not a failure: "not_found" (driver.ErrNotFound:
//     an unknown cookie, or a session ended meanwhile), "expired"
//     (driver.ErrExpired) or "renewed" (sesame.ErrRenewed)
//   - error.type, on a failed call: "timeout" (context.DeadlineExceeded,
//     such as StoreTimeout), "canceled" (context.Canceled), "not_supported"
//     (sesame.ErrNotSupported), else the semantic conventions' value: the
//     error's ErrorType() string if it has one, or its Go type under any
//     fmt.Errorf wrapping, such as "*net.OpError"
//
// The count of the histogram's data points with error.type is the count of
// failed store calls; there is no separate failure counter. It includes
// calls ended by the end of the request's own context (a client that went
// away), which the store_failed event leaves out. An Update refused by the
// application's own function, or by a limit, is not a failure: the call ends
// without an error.
//
// # Traces
//
// Each store call is a span named "sesame " + operation ("sesame load",
// "sesame delete user"), of kind internal, a child of the span in the
// call's context, with the histogram's attributes. A failed call has status
// Error, with the error's message as description, and the error recorded
// (an "exception" event). A call whose outcome is not a failure keeps its
// status unset.
//
// Each lifecycle event is also added, if the event's context holds a
// recording span (the request's span, from an HTTP instrumentation, or the
// span of the caller of Manager.Revoke and Manager.RevokeAll), as a span
// event named "sesame.session." + kind, such as "sesame.session.logged_in",
// with sesame.event, sesame.session.id (the session ID, when the event has
// one), sesame.count (for revoked_all: how many sessions ended, -1 if
// unknown), and, for store_failed, sesame.operation and error.type.
//
// # Tokens, IDs, users and cardinality
//
// No token is ever recorded: the Manager never hands one to an Observer.
// The session ID in sesame.session.id is a hash of the token (SHA-256, or
// HMAC-SHA-256 with sesame.Config.Secret), which cannot be turned back into
// a cookie; it goes on span events only. The metrics carry only the bounded
// attributes listed above: never the session ID, whose every value is new
// (unbounded cardinality), nor the user, nor the device. The user and the
// device are on no span or span event either; an application that wants
// the user on its traces sets user.id on its own request span.
//
// A failed call's status description and exception event hold the store's
// error message. sesame's stores put no token in their errors (a server
// store is only ever given IDs, and cookiestore never quotes the cookie it
// opens); a store of your own must not either.
package otelsesame
