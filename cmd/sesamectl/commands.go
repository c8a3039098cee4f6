package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/sesame-go/sesame/driver"
)

// newFlags returns the FlagSet of a command.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// sessionJSON is a session's metadata, as list and show print it.
type sessionJSON struct {
	ID              string    `json:"id"`
	User            string    `json:"user"`
	Created         time.Time `json:"created"`
	LastSeen        time.Time `json:"last_seen"`
	Expires         time.Time `json:"expires"`
	Deadline        time.Time `json:"deadline,omitzero"`
	AuthenticatedAt time.Time `json:"authenticated_at,omitzero"`
	UserAgent       string    `json:"user_agent"`
	IP              string    `json:"ip"`
}

func sessionOf(in driver.Info) sessionJSON {
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.UTC()
	}
	return sessionJSON{
		ID: in.ID, User: in.User, Created: utc(in.Created), LastSeen: utc(in.LastSeen), Expires: utc(in.Expires),
		Deadline: utc(in.Deadline), AuthenticatedAt: utc(in.AuthenticatedAt),
		UserAgent: in.Device.UserAgent, IP: in.Device.IP,
	}
}

// cmdList prints the sessions of a user, most recently seen first.
func cmdList(ctx context.Context, e *env, args []string) error {
	fs := newFlags("list")
	user := fs.String("user", "", "the user whose sessions to list")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *user == "" || len(pos) > 0 {
		return usagef("list: want list --user U")
	}
	c, err := e.open(ctx)
	if err != nil {
		return err
	}
	us, ok := c.store.(driver.UserStore)
	if !ok {
		return fmt.Errorf("list: %s store cannot list a user's sessions: %w", c.kind, driver.ErrNotSupported)
	}
	infos, err := us.Sessions(ctx, *user)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	slices.SortFunc(infos, func(a, b driver.Info) int {
		return cmp.Or(b.LastSeen.Compare(a.LastSeen), cmp.Compare(a.ID, b.ID))
	})
	out := make([]sessionJSON, 0, len(infos))
	for _, in := range infos {
		out = append(out, sessionOf(in))
	}
	if e.json {
		return writeJSON(e.stdout, out)
	}
	t := newTable(e.stdout)
	t.row("ID", "CREATED", "LAST SEEN", "EXPIRES", "IP", "USER AGENT")
	for _, s := range out {
		t.row(s.ID, fmtTime(s.Created), fmtTime(s.LastSeen), fmtTime(s.Expires), dash(s.IP), dash(oneLine(s.UserAgent)))
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s of %s\n", plural(len(out), "session"), *user)
	return err
}

// keyJSON is one key of a session, as show prints it.
type keyJSON struct {
	Key   string          `json:"key"`
	Size  int             `json:"size"`
	Value json.RawMessage `json:"value,omitempty"`
}

// showJSON is what show prints.
type showJSON struct {
	sessionJSON
	Persist bool      `json:"persist"`
	Keys    []keyJSON `json:"keys"`
}

// cmdShow prints one session: its metadata, and its keys with the size of
// each value's JSON (and the value itself with --values).
func cmdShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags("show")
	values := fs.Bool("values", false, "print the values too")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" {
		return usagef("show: want show [--values] ID")
	}
	id := pos[0]
	c, err := e.open(ctx)
	if err != nil {
		return err
	}
	rec, err := c.store.Load(ctx, id)
	if err != nil {
		// The argument is not repeated: it might be a token pasted by mistake.
		if errors.Is(err, driver.ErrNotFound) {
			return errors.New("show: no live session has this ID")
		}
		return fmt.Errorf("show: %w", err)
	}
	out := showJSON{sessionJSON: sessionOf(rec.Info(id)), Persist: rec.Persist, Keys: []keyJSON{}}
	for _, k := range slices.Sorted(maps.Keys(rec.Values)) {
		raw, err := encodeValue(rec.Values[k])
		if err != nil {
			return fmt.Errorf("show: key %q: %w", k, err)
		}
		kj := keyJSON{Key: k, Size: len(raw)}
		if *values {
			kj.Value = raw
		}
		out.Keys = append(out.Keys, kj)
	}
	if e.json {
		return writeJSON(e.stdout, out)
	}
	t := newTable(e.stdout)
	s := out.sessionJSON
	t.row("id", s.ID)
	t.row("user", dash(s.User))
	t.row("created", fmtTime(s.Created))
	t.row("last seen", fmtTime(s.LastSeen))
	t.row("expires", fmtTime(s.Expires))
	t.row("deadline", fmtTime(s.Deadline))
	t.row("authenticated", fmtTime(s.AuthenticatedAt))
	t.row("persist", fmt.Sprint(out.Persist))
	t.row("ip", dash(s.IP))
	t.row("user agent", dash(oneLine(s.UserAgent)))
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	t = newTable(e.stdout)
	if *values {
		t.row("KEY", "SIZE", "VALUE")
	} else {
		t.row("KEY", "SIZE")
	}
	for _, k := range out.Keys {
		if *values {
			t.row(oneLine(k.Key), fmt.Sprint(k.Size), oneLine(string(k.Value)))
		} else {
			t.row(oneLine(k.Key), fmt.Sprint(k.Size))
		}
	}
	return t.flush()
}

// encodeValue returns a value's JSON: as the store holds it, or encoded
// by driver.MarshalValue for a store that keeps Go values.
func encodeValue(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	b, err := driver.MarshalValue(v)
	return json.RawMessage(b), err
}

// countJSON is what revoke prints.
type countJSON struct {
	Revoked int `json:"revoked"`
}

// cmdRevoke ends one session, or a user's sessions.
func cmdRevoke(ctx context.Context, e *env, args []string) error {
	fs := newFlags("revoke")
	user := fs.String("user", "", "end every session of this user")
	keep := fs.String("keep", "", "with --user, the ID of a session to keep")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *user == "" && len(pos) != 1, *user != "" && len(pos) != 0:
		return usagef("revoke: want revoke ID, or revoke --user U [--keep ID]")
	case *keep != "" && *user == "":
		return usagef("revoke: --keep needs --user")
	}
	c, err := e.open(ctx)
	if err != nil {
		return err
	}
	var n int
	if *user == "" {
		ok, err := c.store.Delete(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		if ok {
			n = 1
		}
	} else {
		ud, ok := c.store.(driver.UserDeleter)
		if !ok {
			return fmt.Errorf("revoke: %s store cannot revoke a user's sessions: %w", c.kind, driver.ErrNotSupported)
		}
		if n, err = ud.DeleteUser(ctx, *user, *keep); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
	}
	if e.json {
		return writeJSON(e.stdout, countJSON{Revoked: n})
	}
	_, err = fmt.Fprintf(e.stdout, "revoked %s\n", plural(n, "session"))
	return err
}

// purgeJSON is what purge prints.
type purgeJSON struct {
	Purged       int  `json:"purged"`
	NativeExpiry bool `json:"native_expiry"`
}

// progress shows, on a terminal, that a long call is running: what it does
// and for how long, once a second, until stop is called, which clears the
// line. On anything else it shows nothing.
func progress(w io.Writer, what string) (stop func()) {
	f, ok := w.(*os.File)
	if !ok {
		return func() {}
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(f, "\r%s… %s", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// cmdPurge deletes expired records from a driver.Purger.
func cmdPurge(ctx context.Context, e *env, args []string) error {
	fs := newFlags("purge")
	if pos, err := parseInterspersed(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("purge: takes no arguments")
	}
	c, err := e.open(ctx)
	if err != nil {
		return err
	}
	p, ok := c.store.(driver.Purger)
	if !ok {
		if c.redis == nil {
			return fmt.Errorf("purge: %s store cannot purge: %w", c.kind, driver.ErrNotSupported)
		}
		if e.json {
			return writeJSON(e.stdout, purgeJSON{NativeExpiry: true})
		}
		_, err := fmt.Fprintln(e.stdout, "nothing to purge: Redis expires every key of the store by itself (TTL)")
		return err
	}
	stop := progress(e.stderr, "purging expired records")
	n, err := p.Purge(ctx) // in batches: see each store's Purge
	stop()
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	if e.json {
		return writeJSON(e.stdout, purgeJSON{Purged: n})
	}
	_, err = fmt.Fprintf(e.stdout, "purged %s\n", plural(n, "expired record"))
	return err
}
