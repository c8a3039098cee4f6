// Package sesametest is a conformance suite for session stores. A store's
// own test is then a few lines:
//
//	func TestConformance(t *testing.T) {
//		sesametest.Run(t, func(t *testing.T) driver.Store {
//			st := mystore.New(...)
//			t.Cleanup(func() { st.Close() })
//			return st
//		})
//	}
//
// Each behaviour is a named subtest that gets a new, empty store. Optional
// capabilities (DeltaStore, Renewer, Updater, UserStore, UserCapper, Purger,
// RevocationStore) are
// tested when the store implements them; where a behaviour cannot apply, the subtest says which
// capability is missing and skips. Client-side stores run [RunSealer].
package sesametest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// Dumper is implemented by a store (usually a test wrapper of one) that can
// return its raw stored contents. The suite then checks that no token is
// ever kept at rest.
type Dumper interface {
	Dump(ctx context.Context) ([]byte, error)
}

// backend is what a subtest runs against: a server store or a sealer.
type backend struct {
	store  driver.Store
	sealer driver.Sealer
}

func (b backend) config(c sesame.Config) sesame.Config {
	c.Store, c.Sealer = b.store, b.sealer
	return c
}

// impl returns the backend as an any, for capability checks.
func (b backend) impl() any {
	if b.store != nil {
		return b.store
	}
	return b.sealer
}

type test struct {
	name string
	run  func(t *testing.T, b backend)
}

// Run runs the suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) driver.Store) {
	run(t, func(t *testing.T) backend { return backend{store: newStore(t)} }, slices.Concat(storeTests, contractTests, metadataTests, storeRaceTests, httpTests, raceTests, logoutTests, limitTests, manageTests, manageRaceTests))
}

// RunSealer runs the suite against the client-side stores newSealer
// returns.
func RunSealer(t *testing.T, newSealer func(t *testing.T) driver.Sealer) {
	run(t, func(t *testing.T) backend { return backend{sealer: newSealer(t)} }, slices.Concat(httpTests, raceTests, logoutTests, limitTests, manageTests))
}

func run(t *testing.T, newBackend func(t *testing.T) backend, tests []test) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newBackend(t)) })
	}
}

// needs returns the backend as a T, or skips t naming the capability.
func needs[T any](t *testing.T, b backend, capability string) T {
	t.Helper()
	v, ok := b.impl().(T)
	if !ok {
		t.Skipf("not applicable: %T does not implement %s", b.impl(), capability)
	}
	return v
}

func needStore(t *testing.T, b backend, why string) {
	t.Helper()
	if b.store == nil {
		t.Skipf("not applicable to a client-side Sealer: %s", why)
	}
}

// Record returns a live record of user holding vals: created now, expiring
// in 30 minutes, with a deadline in an hour. Store tests use it to Save.
func Record(user string, vals map[string]any) *driver.Record {
	now := time.Now()
	return &driver.Record{
		Values: vals, User: user, Created: now, LastSeen: now,
		Deadline: now.Add(time.Hour), Expires: now.Add(30 * time.Minute),
	}
}

// mustSave saves rec under id in st, and fails t if the store fails.
func mustSave(t *testing.T, st driver.Store, id string, rec *driver.Record) {
	t.Helper()
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatalf("Save(%s): %v", id, err)
	}
}

// mustDelete deletes id from st, and fails t if the store fails.
func mustDelete(t *testing.T, st driver.Store, id string) {
	t.Helper()
	if _, err := st.Delete(t.Context(), id); err != nil {
		t.Fatalf("Delete(%s): %v", id, err)
	}
}

// MustNotFound fails t unless err wraps driver.ErrNotFound.
func MustNotFound(t testing.TB, err error, what string) {
	t.Helper()
	if !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("%s: got %v, want an error wrapping driver.ErrNotFound", what, err)
	}
}

func key(i int) string { return "k" + string(rune('A'+i/26)) + string(rune('a'+i%26)) }

func ids(list []sesame.Info) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	slices.Sort(out)
	return out
}

// unique returns a function that makes a name unique to one test, so tests
// sharing a server (or a table) never see each other's IDs or users.
func unique() func(string) string {
	var b [6]byte
	rand.Read(b[:])
	p := hex.EncodeToString(b[:]) + "-"
	return func(name string) string { return p + name }
}
