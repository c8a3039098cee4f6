package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// CapUser implements driver.UserCapper. It lists the user's live sessions
// as Sessions does (two round trips), counting a session that is being
// renewed by its forward pointer, and returns at once if they are at most
// n (or if refuse is set and keep is not among them). Otherwise one
// script on the user's cap key (PREFIX c:USER) decides, atomically with
// respect to every other CapUser of the user: of the sessions listed, it
// leaves out those that a CapUser chose to end before, and if more than n
// remain it chooses keep (refuse) or the least recently seen others until
// n remain, and records its choice in the cap key. Then CapUser deletes
// each chosen session as Delete does, following renewals, but only if it
// is still the user's. See docs/internals/redisstore.md in the
// repository, "Per-user cap", for why at most n live sessions remain once
// concurrent CapUsers have returned, and for the round trips.
//
// It returns the Info of the sessions it chose, as listed. A session that
// an earlier CapUser chose and still found live here (that CapUser failed
// before its deletes, or has not reached them yet) is deleted too, and
// listed only if it is keep.
func (s *Store) CapUser(ctx context.Context, user, keep string, n int, refuse bool) ([]driver.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("cap user", err)
	}
	s.use(ctx)
	now := time.Now()
	found, moving, err := s.live(ctx, user, now)
	if err != nil {
		return nil, wrap("cap user", err)
	}
	// A session being renewed may be a pointer at its old ID and not yet
	// live at its new one: it counts, as its pointer, unless its new ID
	// was listed live. Being renewed, it is seen now.
	for _, p := range moving {
		if !slices.ContainsFunc(found, func(f listed) bool { return f.ID == p.to }) {
			p.LastSeen, p.Created = now, now
			found = append(found, p)
		}
	}
	infos := make([]driver.Info, len(found))
	for i, f := range found {
		infos[i] = f.Info
	}
	if len(driver.OverCap(infos, keep, n, refuse)) == 0 {
		return nil, nil
	}
	slices.SortFunc(found, func(a, b listed) int { // as driver.OverCap orders them
		return cmp.Or(a.LastSeen.Compare(b.LastSeen), a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	refusing := "0"
	if refuse {
		refusing = "1"
	}
	args := make([]any, 0, 4+3*len(found))
	args = append(args, ms(now), n, refusing, keep)
	byID := make(map[string]driver.Info, len(found))
	for _, f := range found {
		args = append(args, f.ID, f.score, ms(f.Expires))
		byID[f.ID] = f.Info
	}
	decide := &call{script: capScript, keys: []string{s.capKey(user)}, args: args}
	if err := s.exec(ctx, []*call{decide}); err != nil {
		return nil, wrap("cap user", err)
	}
	chosen, before, err := capResult(decide.cmd)
	if err != nil {
		return nil, wrap("cap user", err)
	}
	var ended []driver.Info
	for _, id := range chosen {
		// Listed even if another call deleted it first: it was chosen.
		if _, err := s.del(ctx, "cap user", id, user); err != nil {
			return ended, err
		}
		ended = append(ended, byID[id])
	}
	for _, id := range before {
		// Normally being deleted by its chooser, which lists it.
		if _, err := s.del(ctx, "cap user", id, user); err != nil {
			return ended, err
		}
		if id == keep {
			ended = append(ended, byID[id])
		}
	}
	return ended, nil
}

// capResult parses capScript's reply: {chosen IDs, IDs chosen before}.
func capResult(cmd *redis.Cmd) (chosen, before []string, err error) {
	v, _ := cmd.Val().([]any)
	if len(v) != 2 {
		return nil, nil, fmt.Errorf("unexpected script reply %v", cmd.Val())
	}
	for i, list := range []*[]string{&chosen, &before} {
		ids, ok := v[i].([]any)
		if !ok {
			return nil, nil, fmt.Errorf("unexpected script reply %v", cmd.Val())
		}
		for _, id := range ids {
			*list = append(*list, str(id))
		}
	}
	return chosen, before, nil
}
