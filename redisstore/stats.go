package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame/driver"
)

// statsBatch is the COUNT hint of each SCAN, and so the size of each
// pipeline of HGETALLs.
const statsBatch = 500

// Stats returns a summary of the store's sessions. Redis keeps no count of
// them, so Stats SCANs the session keys (PREFIX s:*) of every server
// (every master of a Cluster, every shard of a Ring, in parallel) and reads
// each session hash with HGETALL, pipelined by batches of 500: an O(N)
// administrative operation, in time and in the load it puts on the
// servers, never one to run on a request's path. The store itself never
// SCANs.
//
// SCAN guarantees only that a key present for the whole scan is seen once
// (on a Cluster, as long as no slot migrates meanwhile): sessions created
// or ended during the scan may or may not be counted.
func (s *Store) Stats(ctx context.Context) (driver.Stats, error) {
	if err := ctx.Err(); err != nil {
		return driver.Stats{}, err
	}
	var (
		mu    sync.Mutex
		total = driver.Stats{Expired: driver.CountUnknown}
		users = make(map[string]struct{})
	)
	now := time.Now().UnixMilli()
	match := escapeGlob(s.prefix) + "s:*"
	scan := func(ctx context.Context, c *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, match, statsBatch).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, k := range keys {
						p.HGetAll(ctx, k)
					}
					return nil
				})
				if err != nil {
					return err
				}
				mu.Lock()
				for _, cmd := range cmds {
					addStats(&total, users, cmd.(*redis.MapStringStringCmd).Val(), now)
				}
				mu.Unlock()
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Ring:
		err = c.ForEachShard(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		err = fmt.Errorf("cannot scan a %T", s.rdb)
	}
	if err != nil {
		return driver.Stats{}, fmt.Errorf("redisstore: stats: %w", err)
	}
	total.Users = len(users)
	return total, nil
}

// addStats counts the session hash h, if it is a live session, into st
// and its user into users.
func addStats(st *driver.Stats, users map[string]struct{}, h map[string]string, now int64) {
	if len(h) == 0 || h["f"] != "" || h["t"] != "" {
		return // gone, a forward pointer or a tombstone
	}
	if e, err := strconv.ParseInt(h["e"], 10, 64); err != nil || e <= now {
		return
	}
	var size int64
	for f, v := range h {
		if strings.HasPrefix(f, "v:") {
			size += int64(len(v))
		}
	}
	st.Sessions++
	st.TotalBytes += size
	st.LargestBytes = max(st.LargestBytes, size)
	if u := h["u"]; u != "" {
		users[u] = struct{}{}
	}
}

// escapeGlob escapes the characters that a SCAN MATCH pattern gives a
// meaning to, so that a prefix matches only itself.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
