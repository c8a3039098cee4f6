package main

import (
	"maps"
	"net/url"
	"slices"
	"testing"
)

// testStores maps each store the demo tests run against to a function
// returning the flags that select it. A store that needs a service skips or,
// in CI, fails the test when the service is absent (see internal/testenv).
// Each store registers itself from its own _test.go file.
var testStores = map[string]func(t *testing.T) []string{
	"memory": func(t *testing.T) []string { return []string{"-store", "memory"} },
}

// demoStores lists the stores the demo tests run against.
func demoStores() []string { return slices.Sorted(maps.Keys(testStores)) }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
