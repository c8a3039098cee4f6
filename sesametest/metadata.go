package sesametest

import (
	"testing"
	"time"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// metadataTests exercise the device metadata and freshness of the Store
// interfaces directly.
var metadataTests = []test{
	{"MetadataRoundTrips", func(t *testing.T, b backend) {
		u := unique()
		ctx := t.Context()
		in := Record(u("alice"), map[string]any{"n": 1})
		in.AuthenticatedAt = in.Created.Add(-time.Minute)
		in.Device = sesame.Device{UserAgent: uaTwo, IP: "2001:db8::1"}
		if err := b.store.Save(ctx, u("id"), in); err != nil {
			t.Fatal(err)
		}
		checkMeta(t, "Load after Save", mustLoad(t, b.store, u("id")), in.AuthenticatedAt, in.Device)
		if us, ok := b.store.(driver.UserStore); ok {
			list, err := us.Sessions(ctx, u("alice"))
			if err != nil || len(list) != 1 {
				t.Fatalf("Sessions: %v, %v; want 1 session", list, err)
			}
			got := list[0]
			if d := got.AuthenticatedAt.Sub(in.AuthenticatedAt).Abs(); d > time.Millisecond || got.Device != in.Device {
				t.Errorf("Sessions lists %+v, want AuthenticatedAt %v and Device %+v", got, in.AuthenticatedAt, in.Device)
			}
		}
		ds, ok := b.store.(driver.DeltaStore)
		if !ok {
			return
		}
		now := time.Now()
		dev := sesame.Device{UserAgent: uaOne, IP: "192.0.2.7"}
		d := &driver.Delta{LastSeen: now, Expires: now.Add(10 * time.Minute), AuthenticatedAt: now, Device: &dev}
		if _, err := ds.Apply(ctx, u("id"), d); err != nil {
			t.Fatal(err)
		}
		checkMeta(t, "Load after an Apply that sets them", mustLoad(t, b.store, u("id")), now, dev)
		touch := &driver.Delta{LastSeen: now, Expires: now.Add(10 * time.Minute)}
		if _, err := ds.Apply(ctx, u("id"), touch); err != nil {
			t.Fatal(err)
		}
		checkMeta(t, "Load after a touch", mustLoad(t, b.store, u("id")), now, dev)
		r, ok := b.store.(driver.Renewer)
		if !ok {
			return
		}
		user := u("alice")
		rd := &driver.Delta{User: &user, LastSeen: now, Expires: now.Add(10 * time.Minute), Deadline: in.Deadline}
		if err := r.Renew(ctx, u("id"), u("id2"), rd); err != nil {
			t.Fatal(err)
		}
		checkMeta(t, "Load after a Renew that keeps them", mustLoad(t, b.store, u("id2")), now, dev)
		later := now.Add(time.Second)
		rd = &driver.Delta{User: &user, LastSeen: later, Expires: later.Add(10 * time.Minute), Deadline: in.Deadline, AuthenticatedAt: later, Device: &in.Device}
		if err := r.Renew(ctx, u("id2"), u("id3"), rd); err != nil {
			t.Fatal(err)
		}
		checkMeta(t, "Load after a Renew that sets them", mustLoad(t, b.store, u("id3")), later, in.Device)
	}},
}
