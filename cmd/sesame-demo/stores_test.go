package main

import (
	"net/url"
	"testing"
)

// demoStores lists the stores the demo tests run against.
func demoStores(t *testing.T) []string { return []string{"memory"} }

// storeArgs returns the flags that select store for a test.
func storeArgs(t *testing.T, store string) []string { return []string{"-store", store} }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
