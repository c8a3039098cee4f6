package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts each touch a single key, so they run on one Cluster node.
// A session hash holds the metadata fields u (user), c (created), l (last
// seen), d (deadline), e (expires) and p (persist "1" or "0"), times in Unix
// milliseconds with 0 for a zero time, and one field "v:"+key per value.

// saveScript replaces the session hash KEYS[1] with the field/value pairs
// ARGV[2:], expiring at ARGV[1] (Unix ms). It returns the previous user, or
// "". HSET is called in chunks, since Lua's unpack has a stack limit.
var saveScript = redis.NewScript(`
local h = KEYS[1]
local old = redis.call('HGET', h, 'u')
redis.call('DEL', h)
for i = 2, #ARGV, 1000 do
  redis.call('HSET', h, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIREAT', h, ARGV[1])
return old or ''
`)

// applyScript applies a sesame.Delta to the session hash KEYS[1], as
// (*sesame.Delta).ApplyTo does. It returns 0, changing nothing, if there is
// no live record. ARGV: now, last seen, idle expiry (Unix ms), clear ("1"),
// set user ("1") and the user, persist ("", "0" or "1"), the number n of
// fields to delete, the n fields, then field/value pairs to set.
var applyScript = redis.NewScript(`
local h = KEYS[1]
local e = redis.call('HGET', h, 'e')
if not e or tonumber(e) <= tonumber(ARGV[1]) then return 0 end
if ARGV[4] == '1' then
  for _, f in ipairs(redis.call('HKEYS', h)) do
    if string.sub(f, 1, 2) == 'v:' then redis.call('HDEL', h, f) end
  end
end
local n = tonumber(ARGV[8])
for i = 9, 8 + n do redis.call('HDEL', h, ARGV[i]) end
for i = 9 + n, #ARGV, 2 do redis.call('HSET', h, ARGV[i], ARGV[i + 1]) end
if ARGV[5] == '1' then redis.call('HSET', h, 'u', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', h, 'p', ARGV[7]) end
local exp = ARGV[3]
local d = redis.call('HGET', h, 'd')
if d and tonumber(d) ~= 0 and tonumber(d) < tonumber(exp) then exp = d end
redis.call('HSET', h, 'l', ARGV[2], 'e', exp)
redis.call('PEXPIREAT', h, exp)
return 1
`)

// deleteScript deletes the session hash KEYS[1] and returns its user, or "".
var deleteScript = redis.NewScript(`
local u = redis.call('HGET', KEYS[1], 'u')
redis.call('DEL', KEYS[1])
return u or ''
`)

// deleteUserScript deletes the session hash KEYS[1] if it belongs to the
// user ARGV[1], and returns 1 if it did, else 0.
var deleteUserScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'u') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// indexScript adds the session ARGV[3] to the user index KEYS[1] (a sorted
// set), scored by ARGV[2], the session's deadline in Unix ms ("+inf" for
// none), after pruning the members whose deadline is before ARGV[1] (now).
// The index then expires with its latest member.
var indexScript = redis.NewScript(`
local z = KEYS[1]
redis.call('ZREMRANGEBYSCORE', z, '-inf', '(' .. ARGV[1])
redis.call('ZADD', z, ARGV[2], ARGV[3])
local top = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
if top[2] == 'inf' then redis.call('PERSIST', z) else redis.call('PEXPIREAT', z, top[2]) end
return 1
`)

var scripts = []*redis.Script{saveScript, applyScript, deleteScript, deleteUserScript, indexScript}

// call is one script call of a pipeline.
type call struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// exec runs the calls, then the plain commands cmds, in one pipeline: one
// round trip (on a Cluster, one per node, in parallel). A single call with
// no command runs through Script.Run. Scripts go as EVALSHA; one that a
// node does not have cached (NOSCRIPT: never loaded there, or the server
// restarted) did not run, and is sent again with EVAL, which caches it:
// one more round trip, once per node and script. Every script and command
// the store pipelines may run again safely, so exec does not need them to
// run in order after a NOSCRIPT.
func (s *Store) exec(ctx context.Context, calls []*call, cmds ...redis.Cmder) error {
	if len(calls) == 1 && len(cmds) == 0 {
		c := calls[0]
		c.cmd = c.script.Run(ctx, s.rdb, c.keys, c.args...)
		return c.cmd.Err()
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range calls {
			c.cmd = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		for _, cmd := range cmds {
			p.Process(ctx, cmd)
		}
		return nil
	})
	if err == nil {
		return nil
	}
	var retry []*call
	for _, c := range calls {
		switch err := c.cmd.Err(); {
		case noScript(err):
			retry = append(retry, c)
		case err != nil:
			return err
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return err
		}
	}
	if len(retry) == 0 {
		return err
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range retry {
			c.cmd = c.script.Eval(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	return err
}

func noScript(err error) bool {
	return err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT"))
}

// LoadScripts loads the store's Lua scripts into the script cache of every
// server (every master of a Cluster), so that no request pays the extra
// round trip of a first EVAL. Calling it is optional: the store loads a
// missing script on first use, on each node, and again after a server
// restart empties its cache.
func (s *Store) LoadScripts(ctx context.Context) error {
	for _, sc := range scripts {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return wrap("load scripts", err)
		}
	}
	return nil
}
