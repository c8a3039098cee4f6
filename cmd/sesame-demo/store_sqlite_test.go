package main

import (
	"path/filepath"
	"testing"
)

func init() {
	testStores["sqlite"] = func(t *testing.T) []string {
		return []string{"-store", "sqlite", "-sqlite", filepath.Join(t.TempDir(), "demo.db")}
	}
}
