package cookiestore_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/sesame-go/sesame/cookiestore"
	"github.com/sesame-go/sesame/driver"
)

// FuzzOpen feeds Open hostile cookie names and values. Open must never
// panic, must reject anything with an error wrapping driver.ErrNotFound, and
// must authenticate only the exact values that were sealed, under the name
// they were sealed for.
func FuzzOpen(f *testing.F) {
	k1, k2 := newKey(f, "k1"), newKey(f, "k2")
	ring := []cookiestore.Key{k2, k1}
	stores := []*cookiestore.Store{
		newStore(f, cookiestore.Options{Keys: ring}),
		newStore(f, cookiestore.Options{Keys: ring, SignOnly: true}),
	}
	olds := []*cookiestore.Store{ // sealing with the older key
		newStore(f, cookiestore.Options{Keys: []cookiestore.Key{k1}}),
		newStore(f, cookiestore.Options{Keys: []cookiestore.Key{k1}, SignOnly: true}),
	}
	now := time.Now()
	rec := &driver.Record{
		User: "alice", Persist: true, Created: now, LastSeen: now, Deadline: now.Add(time.Hour), Expires: now.Add(time.Hour),
		AuthenticatedAt: now, Device: driver.Device{UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", IP: "192.0.2.1"},
		Values: map[string]any{"user_id": 42, "roles": [3]string{"admin", "editor", "viewer"}},
	}
	// valid[i] holds the name and value pairs that stores[i] must accept.
	valid := make([]map[[2]string]bool, len(stores))
	for i := range stores {
		valid[i] = make(map[[2]string]bool)
		for _, st := range []*cookiestore.Store{stores[i], olds[i]} {
			for _, name := range []string{"session", "s", "__Host-id"} {
				v, err := st.Seal(context.Background(), name, driver.Sealed{ID: "id-" + name, Record: rec})
				if err != nil {
					f.Fatal(err)
				}
				valid[i][[2]string{name, v}] = true
				raw, _ := base64.RawURLEncoding.DecodeString(v)
				f.Add(name, v)
				f.Add(name, v[:len(v)-1])
				f.Add(name, v+"A")
				f.Add(name+"x", v)
				f.Add(name, base64.StdEncoding.EncodeToString(raw))
				f.Add(name, base64.RawURLEncoding.EncodeToString(raw[:len(raw)/2]))
			}
		}
	}
	for _, v := range []string{"", "A", "AQ", "AQFr", "AgJrMQ", "%%%", "\x00\xff", "AQJrMgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add("session", v)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		for i, st := range stores {
			s, err := st.Open(context.Background(), name, value)
			if err != nil {
				if !errors.Is(err, driver.ErrNotFound) {
					t.Fatalf("store %d: Open error %v does not wrap ErrNotFound", i, err)
				}
				continue
			}
			if !valid[i][[2]string{name, value}] {
				t.Fatalf("store %d authenticated a value it never sealed: name %q, value %q", i, name, value)
			}
			if s.Record == nil || s.Record.User != "alice" || s.ID != "id-"+name {
				t.Fatalf("store %d: opened %+v", i, s)
			}
		}
	})
}
