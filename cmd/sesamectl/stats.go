package main

import (
	"context"
	"fmt"

	"github.com/sesame-go/sesame/driver"
)

// statsJSON is what stats prints. Expired is absent for Redis, which
// holds no expired record.
type statsJSON struct {
	Store        string `json:"store"`
	Sessions     int    `json:"sessions"`
	Users        int    `json:"users"`
	Expired      *int   `json:"expired,omitempty"`
	TotalBytes   int64  `json:"total_bytes"`
	LargestBytes int64  `json:"largest_bytes"`
}

// cmdStats prints the store's driver.Stats (see the Stats method of each
// store package).
func cmdStats(ctx context.Context, e *env, args []string) error {
	fs := newFlags("stats")
	if pos, err := parseInterspersed(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("stats: takes no arguments")
	}
	c, err := e.open(ctx)
	if err != nil {
		return err
	}
	sr, ok := c.store.(driver.Stater)
	if !ok {
		return fmt.Errorf("stats: %s store cannot count its sessions: %w", c.kind, driver.ErrNotSupported)
	}
	st, err := sr.Stats(ctx)
	if err != nil {
		return err
	}
	out := statsJSON{Store: c.kind, Sessions: st.Sessions, Users: st.Users, TotalBytes: st.TotalBytes, LargestBytes: st.LargestBytes}
	if st.Expired != driver.CountUnknown {
		out.Expired = &st.Expired
	}
	if e.json {
		return writeJSON(e.stdout, out)
	}
	t := newTable(e.stdout)
	t.row("store", out.Store)
	t.row("sessions", fmt.Sprint(out.Sessions))
	t.row("users", fmt.Sprint(out.Users))
	if out.Expired != nil {
		t.row("expired", fmt.Sprint(*out.Expired))
	}
	t.row("total bytes", fmt.Sprint(out.TotalBytes))
	t.row("largest bytes", fmt.Sprint(out.LargestBytes))
	return t.flush()
}
