// Package driver is the contract between a sesame.Manager and the stores
// that keep its sessions, on the model of database/sql/driver: everything a
// store implements or exchanges with the Manager, and nothing an
// application needs to handle sessions.
//
// A server-side store implements [Store] and, for each capability it
// can offer atomically, the optional interfaces the Manager discovers by
// type assertion: [DeltaStore], [Renewer], [Updater], [UserStore] (with
// [UserDeleter]), [UserCapper], [Purger] and [RevocationStore]. A
// client-side store implements [Sealer], and [SealRevoker] to make logouts
// stick. A store never sees a token, only a session ID that hashes it, and
// knows nothing of HTTP.
//
// Package sesametest is the conformance suite: run it from a store's tests.
// docs/writing-a-store.md in the repository walks through a store.
package driver
