// Package bench holds side-by-side benchmarks of Sesame against
// github.com/alexedwards/scs/v2 and github.com/gorilla/sessions, in a module
// of its own so that the main module never depends on them.
//
// Every library serves the same four scenarios (untouched, read, create,
// update) with the same session, the same reusable response writer and a
// fresh copy of the same request, on each backend it offers (memory, cookie,
// Redis). Benchmarks are named Scenario/backend/library, for example
// BenchmarkRead/memory/sesame beside BenchmarkRead/memory/scs, so the
// results of one run compare directly. The program in ./ratios runs them and
// prints the ratios against the targets of the design. See README.md.
package bench
