//go:build race

package testenv

// Race reports whether the race detector is on: it adds allocations, so
// tests that count them skip.
const Race = true
