package main

import (
	"context"
	"fmt"
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

// cmdStats prints the store's Stats (see the Stats method of each store
// package).
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
	out := statsJSON{Store: c.kind}
	switch {
	case c.sqlite != nil:
		st, err := c.sqlite.Stats(ctx)
		if err != nil {
			return err
		}
		out.Sessions, out.Users, out.Expired, out.TotalBytes, out.LargestBytes = st.Sessions, st.Users, &st.Expired, st.TotalBytes, st.LargestBytes
	case c.pg != nil:
		st, err := c.pg.Stats(ctx)
		if err != nil {
			return err
		}
		out.Sessions, out.Users, out.Expired, out.TotalBytes, out.LargestBytes = st.Sessions, st.Users, &st.Expired, st.TotalBytes, st.LargestBytes
	case c.redis != nil:
		st, err := c.redis.Stats(ctx)
		if err != nil {
			return err
		}
		out.Sessions, out.Users, out.TotalBytes, out.LargestBytes = st.Sessions, st.Users, st.TotalBytes, st.LargestBytes
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
