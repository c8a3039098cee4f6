package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts each touch a single key, so they run on one Cluster node.
//
// A session key s:ID is a hash in one of three states (see
// docs/internals/redisstore.md, "Key layout"):
//
//   - a session: the metadata fields u (user), c (created), l (last seen),
//     d (deadline), e (expires), p (persist "1" or "0"), a (authenticated
//     at), g (User-Agent) and i (IP), times in Unix milliseconds with 0 for
//     a zero time (a record of the previous version lacks a, g and i), one
//     field "v:"+key per value, and, if the session was renewed into this
//     ID, r: the expiry of the forward pointer that leads here;
//   - a forward pointer left by a Renew: f (the new ID), u (the user) and
//     e (the old record's expiry, when the pointer goes);
//   - a tombstone: t = "1", left where a renewal must not land.
//
// A session is live while e is after now; a key that has f or t is never a
// live session. Every key has a TTL.
//
// Scripts that apply a driver.Delta take it as the arguments from ARGV[5]
// on (see deltaArgs): clear ("1"), set user ("1") and the user, persist
// ("", "0" or "1"), created and deadline ("0" if not set), the number n of
// value fields to delete, the n fields, then, from ARGV[12 + n], the
// field/value pairs to set: l (last seen) and e (the idle expiry, which
// the script lowers to the deadline), then the metadata fields a, g and i
// if the delta sets them, then the values. The scripts set the pairs as
// they come, in one HSET. A delta that sets a non-empty user other than
// the record's, and no a (no Login or Reauthenticate: the third pair is
// not a's), also sets a to 0, as (*driver.Delta).ChangesUser asks:
// another user's login proves nothing of the new user's.
//
// Redis spends more time on a script's redis.call than on the command it
// runs (the arguments and the reply cross into Lua and back), so the
// scripts make as few calls as their case needs: the common delta (values
// set, nothing deleted) is one HMGET, one HSET and one PEXPIREAT.

// saveScript replaces the session hash KEYS[1] with the field/value pairs
// ARGV[2:], expiring at ARGV[1] (Unix ms; a time past deletes it). It
// returns the previous user, or "". HSET is called in chunks, since Lua's
// unpack has a stack limit.
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

// Apply's result codes.
const (
	applyNotFound = 0 // no live session: nothing changed
	applyDone     = 1
	applyDeleted  = 2 // the delta left the session empty: it is deleted
	applyRenewed  = 3 // the ID was renewed away (a forward pointer)
	applyMoved    = 4 // the user is not the one expected: nothing changed
)

// applyScript applies a delta to the session hash KEYS[1], as
// (*driver.Delta).ApplyTo does, and returns {code, previous user} (see the
// apply* codes). ARGV: now (Unix ms), emptying ("1": delete the session if
// the delta leaves it without values and user), check ("1": refuse with
// applyMoved unless the user is ARGV[4]), the expected user, then the
// delta (from ARGV[5]). A session deleted here that was renewed into
// leaves a tombstone until its field r, as a Delete does.
var applyScript = redis.NewScript(`
local h = KEYS[1]
local m = redis.call('HMGET', h, 'e', 'f', 't', 'u', 'r', 'd')
if m[3] or not m[1] or tonumber(m[1]) <= tonumber(ARGV[1]) then return {0, ''} end
if m[2] then return {3, ''} end
local prev = m[4] or ''
if ARGV[3] == '1' and prev ~= ARGV[4] then return {4, prev} end
local n = tonumber(ARGV[11])
local p = 12 + n
if ARGV[5] == '1' or n > 0 then
  local del = {}
  if ARGV[5] == '1' then
    for _, f in ipairs(redis.call('HKEYS', h)) do
      if string.sub(f, 1, 2) == 'v:' then del[#del + 1] = f end
    end
  end
  for i = 12, p - 1 do del[#del + 1] = ARGV[i] end
  for i = 1, #del, 1000 do redis.call('HDEL', h, unpack(del, i, math.min(i + 999, #del))) end
end
if ARGV[2] == '1' and (ARGV[6] == '1' and ARGV[7] or prev) == '' then
  local empty = true
  for i = p, #ARGV, 2 do
    if string.sub(ARGV[i], 1, 2) == 'v:' then empty = false break end
  end
  if empty then
    for _, f in ipairs(redis.call('HKEYS', h)) do
      if string.sub(f, 1, 2) == 'v:' then empty = false break end
    end
  end
  if empty then
    redis.call('DEL', h)
    if m[5] then
      redis.call('HSET', h, 't', '1')
      redis.call('PEXPIREAT', h, m[5])
    end
    return {2, prev}
  end
end
if ARGV[6] == '1' then
  if ARGV[7] ~= '' and ARGV[7] ~= prev and ARGV[p + 4] ~= 'a' then
    ARGV[#ARGV + 1] = 'a'
    ARGV[#ARGV + 1] = '0'
  end
  ARGV[#ARGV + 1] = 'u'
  ARGV[#ARGV + 1] = ARGV[7]
end
if ARGV[8] ~= '' then
  ARGV[#ARGV + 1] = 'p'
  ARGV[#ARGV + 1] = ARGV[8]
end
if ARGV[9] ~= '0' then
  ARGV[#ARGV + 1] = 'c'
  ARGV[#ARGV + 1] = ARGV[9]
end
local d = m[6]
if ARGV[10] ~= '0' then
  d = ARGV[10]
  ARGV[#ARGV + 1] = 'd'
  ARGV[#ARGV + 1] = d
end
if d and tonumber(d) ~= 0 and tonumber(d) < tonumber(ARGV[p + 3]) then ARGV[p + 3] = d end
for i = p, #ARGV, 1000 do
  redis.call('HSET', h, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIREAT', h, ARGV[p + 3])
return {1, prev}
`)

// setScript applies a plain delta (see plainDelta) to the session hash
// KEYS[1]: it is applyScript without what such a delta cannot need, the
// user, the index, the deadline and the emptying of the record, so that
// the commonest write costs Redis the least. It returns {code, ”} (see the
// apply* codes). ARGV: now (Unix ms), then the fields to set as pairs,
// from fieldArgs: the expiry, which is capped at the record's deadline, is
// ARGV[5].
var setScript = redis.NewScript(`
local h = KEYS[1]
local m = redis.call('HMGET', h, 'e', 'f', 't', 'd')
if m[3] or not m[1] or tonumber(m[1]) <= tonumber(ARGV[1]) then return {0, ''} end
if m[2] then return {3, ''} end
if m[4] and tonumber(m[4]) ~= 0 and tonumber(m[4]) < tonumber(ARGV[5]) then ARGV[5] = m[4] end
for i = 2, #ARGV, 1000 do
  redis.call('HSET', h, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIREAT', h, ARGV[5])
return {1, ''}
`)

// Delete's result codes.
const (
	delNone       = 0 // nothing live: nothing changed
	delKilled     = 1 // a live session was deleted
	delPointer    = 2 // a forward pointer: follow it
	delTombstoned = 3 // nothing there: a tombstone now bars a renewal
)

// deleteScript ends what the key KEYS[1] holds, for Delete and DeleteUser.
// ARGV: now (Unix ms), the user ("" for any: Delete) and the tombstone
// expiry T ("" for none). It returns:
//
//   - {1, user} if it deleted a live session (of the user, if one is
//     given). A session that was renewed into (field r) leaves a
//     tombstone until r: a pointer may still lead here, and a second
//     Delete through it must find nothing live.
//   - {2, target, expiry} for a live forward pointer (of the user): the
//     caller follows it, with T = expiry. The pointer stays.
//   - {3} if the key does not exist and T is given and not past: it leaves
//     a tombstone there until T, so that a pending renewIn refuses.
//   - {0} otherwise: a tombstone, an expired or another user's key.
var deleteScript = redis.NewScript(`
local h = KEYS[1]
local m = redis.call('HMGET', h, 'e', 'f', 't', 'u', 'r')
if m[3] then return {0} end
if not m[1] then
  if ARGV[3] == '' or tonumber(ARGV[3]) <= tonumber(ARGV[1]) then return {0} end
  redis.call('HSET', h, 't', '1')
  redis.call('PEXPIREAT', h, ARGV[3])
  return {3}
end
if tonumber(m[1]) <= tonumber(ARGV[1]) then return {0} end
local u = m[4] or ''
if ARGV[2] ~= '' and u ~= ARGV[2] then return {0} end
if m[2] then return {2, m[2], m[1]} end
redis.call('DEL', h)
if m[5] then
  redis.call('HSET', h, 't', '1')
  redis.call('PEXPIREAT', h, m[5])
end
return {1, u}
`)

// renewOutScript is step 1 of a Renew, on the old session hash KEYS[1]:
// if it holds a live session, it applies the delta (from ARGV[5]) to it in
// Lua, replaces the hash with a forward pointer {f: ARGV[2], u: the old
// user, e: the old expiry} expiring at the old expiry, and returns {1, old
// user, old expiry, field, value, ...}: the new record's fields. It
// returns {3} for a live forward pointer (renewed), {0} otherwise.
// ARGV[1] is now (Unix ms); ARGV[3] and ARGV[4] are unused.
var renewOutScript = redis.NewScript(`
local h = KEYS[1]
local now = tonumber(ARGV[1])
local cur = redis.call('HGETALL', h)
local r = {}
for i = 1, #cur, 2 do r[cur[i]] = cur[i + 1] end
if r.t or not r.e or tonumber(r.e) <= now then return {0} end
if r.f then return {3} end
local olduser, oldexp = r.u or '', r.e
r.r = nil
if ARGV[5] == '1' then
  for k in pairs(r) do
    if string.sub(k, 1, 2) == 'v:' then r[k] = nil end
  end
end
local n = tonumber(ARGV[11])
local p = 12 + n
for i = 12, p - 1 do r[ARGV[i]] = nil end
for i = p, #ARGV, 2 do r[ARGV[i]] = ARGV[i + 1] end
if ARGV[6] == '1' and ARGV[7] ~= '' and ARGV[7] ~= olduser and ARGV[p + 4] ~= 'a' then r.a = '0' end
if ARGV[6] == '1' then r.u = ARGV[7] end
if ARGV[8] ~= '' then r.p = ARGV[8] end
if ARGV[9] ~= '0' then r.c = ARGV[9] end
if ARGV[10] ~= '0' then r.d = ARGV[10] end
if r.d and tonumber(r.d) ~= 0 and tonumber(r.d) < tonumber(r.e) then r.e = r.d end
redis.call('DEL', h)
redis.call('HSET', h, 'f', ARGV[2], 'u', olduser, 'e', oldexp)
redis.call('PEXPIREAT', h, oldexp)
local out = {1, olduser, oldexp}
for k, v in pairs(r) do
  out[#out + 1] = k
  out[#out + 1] = v
end
return out
`)

// renewInScript is step 2 of a Renew, on the new session hash KEYS[1]: it
// writes the field/value pairs ARGV[3:] and the field r = ARGV[1] (the
// forward pointer's expiry), expiring at ARGV[2] (the new expiry), and
// returns 1; or returns 0, writing nothing, if the key exists (a
// tombstone: a Delete or DeleteUser got there first) or if the server's
// clock is at or past either time. A tombstone that a Delete left through
// the pointer expires with the pointer, on this same node's clock, so it
// cannot have expired while the pointer's time has not come.
var renewInScript = redis.NewScript(`
local h = KEYS[1]
if redis.call('EXISTS', h) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now >= tonumber(ARGV[1]) or now >= tonumber(ARGV[2]) then return 0 end
for i = 3, #ARGV, 1000 do
  redis.call('HSET', h, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('HSET', h, 'r', ARGV[1])
redis.call('PEXPIREAT', h, ARGV[2])
return 1
`)

// indexScript adds the session ARGV[3] to the user index KEYS[1] (a sorted
// set), scored by ARGV[2], the session's deadline in Unix ms ("+inf" for
// none), after pruning the members whose deadline is before ARGV[1] (now).
// A member's score only ever grows (ZADD GT), so it never understates how
// long the session may live. The index then expires with its latest
// member.
var indexScript = redis.NewScript(`
local z = KEYS[1]
redis.call('ZREMRANGEBYSCORE', z, '-inf', '(' .. ARGV[1])
redis.call('ZADD', z, 'GT', ARGV[2], ARGV[3])
local top = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
if top[2] == 'inf' then redis.call('PERSIST', z) else redis.call('PEXPIREAT', z, top[2]) end
return 1
`)

// A revocation mark KEYS[1] is a hash (see docs/internals/redisstore.md,
// "Key layout"): b, k and x (before, keep, expires: the mark), c (how
// many IDs were denied since the mark), "d:"+ID per revoked ID and "r:"+ID
// per ID renewed away, each holding the denial's expiry (Unix ms). No script
// reads more of it than a few fields: none is O(number of denied IDs).
// The key expires at the latest time any field of it was given; an entry
// that has expired stays until then, and reads as absent. A mark of the
// version before c and "r:" (a hash with b, k, x and "d:" fields, and no
// c), and the string mark "before expires keep" of the version before
// that, are read and written as they are, or converted in O(1).

// denyScript is a Deny, on the mark KEYS[1]. ARGV: the ID's two entry
// fields ("d:" and "r:", then the ID), the expiry (Unix ms), MaxDenied,
// now (Unix ms), and renewed ("1": renewed away, else revoked). If the
// expiry is past, it changes nothing and returns 1. If c (for a mark
// without c: the number of its fields but b, k and x, which counts its
// expired entries too) has reached MaxDenied, it changes nothing and
// returns 0. Otherwise it writes the ID's entry, merged with the live one
// it may have: a revocation is never weakened into a renewal nor
// shortened (revoked wins, and the later expiry), and only one of the two
// fields remains; it counts the ID in c if it had no field, and returns 1.
// The key's expiry becomes the later of its current one (its PTTL, on the
// server's clock from TIME: PEXPIRETIME is Redis 7) and the entry's. A
// string mark is converted into the hash first, keeping its expiry.
var denyScript = redis.NewScript(`
local h = KEYS[1]
local now, exp = tonumber(ARGV[5]), tonumber(ARGV[3])
if exp <= now then return 1 end
local typ = redis.call('TYPE', h).ok
local cur = nil
if typ == 'string' then
  local v = redis.call('GET', h)
  redis.call('DEL', h)
  local b, x, k = string.match(v, '^(%d+) (%d+) (.*)$')
  if b then
    redis.call('HSET', h, 'b', b, 'x', x, 'k', k)
    cur = tonumber(x)
  end
elseif typ == 'hash' then
  local ttl = redis.call('PTTL', h)
  if ttl >= 0 then
    local t = redis.call('TIME')
    cur = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
  end
end
local m = redis.call('HMGET', h, 'c', ARGV[1], ARGV[2], 'b', 'k', 'x')
local c = tonumber(m[1])
if not c then
  c = redis.call('HLEN', h)
  for i = 4, 6 do if m[i] then c = c - 1 end end
end
if c >= tonumber(ARGV[4]) then return 0 end
if not m[2] and not m[3] then c = c + 1 end
redis.call('HSET', h, 'c', c)
local revoked = ARGV[6] ~= '1'
local d, r = tonumber(m[2]), tonumber(m[3])
if d and d > now then
  revoked = true
  if d > exp then exp = d end
end
if r and r > now and r > exp then exp = r end
local set, drop = ARGV[1], m[3] and ARGV[2]
if not revoked then set, drop = ARGV[2], m[2] and ARGV[1] end
redis.call('HSET', h, set, string.format('%.0f', exp))
if drop then redis.call('HDEL', h, drop) end
if typ ~= 'hash' or not cur or cur < exp then
  if cur and cur > exp then exp = cur end
  redis.call('PEXPIREAT', h, string.format('%.0f', exp))
end
return 1
`)

// markScript is a SetRevocation, on the mark KEYS[1]. ARGV: now (Unix
// ms), before, keep and expires (the mark), then keep's two entry fields
// ("d:" and "r:", then keep; "" for none). It drops the hash, with
// UNLINK, which frees a large one off the main thread, keeping only keep's
// live entry, and writes the mark with c = 0. The key expires at the
// later of the mark's expiry and the entry's; it is deleted if both have
// passed. It returns 1 if the key remains, else 0.
var markScript = redis.NewScript(`
local h = KEYS[1]
local now = tonumber(ARGV[1])
local kept = {}
if ARGV[5] ~= '' and redis.call('TYPE', h).ok == 'hash' then
  local m = redis.call('HMGET', h, ARGV[5], ARGV[6])
  for i = 1, 2 do
    if m[i] and tonumber(m[i]) and tonumber(m[i]) > now then kept[#kept + 1] = {ARGV[4 + i], m[i]} end
  end
end
redis.call('UNLINK', h)
local latest = tonumber(ARGV[4])
if #kept == 0 and latest <= now then return 0 end
redis.call('HSET', h, 'b', ARGV[2], 'k', ARGV[3], 'x', ARGV[4], 'c', '0')
for _, e in ipairs(kept) do
  redis.call('HSET', h, e[1], e[2])
  if tonumber(e[2]) > latest then latest = tonumber(e[2]) end
end
redis.call('PEXPIREAT', h, string.format('%.0f', latest))
return 1
`)

// Update's result codes.
const (
	updateNotFound = 0 // no live session: nothing changed
	updateDone     = 1
	updateRenewed  = 3 // the ID was renewed away (a forward pointer)
	updateLost     = 5 // the value is not the one read: nothing changed
)

// updateScript is the compare-and-swap of an Update, on the session hash
// KEYS[1]: if it holds a live session whose field ARGV[2] holds ARGV[4]
// (if ARGV[3] is "1") or nothing (if ARGV[3] is "0"), it sets the field to
// ARGV[5] and returns 1 (see the update* codes). ARGV[1] is now (Unix ms).
// It changes nothing else: not l, not e, not the TTL.
var updateScript = redis.NewScript(`
local h = KEYS[1]
local m = redis.call('HMGET', h, 'e', 'f', 't', ARGV[2])
if m[3] or not m[1] or tonumber(m[1]) <= tonumber(ARGV[1]) then return 0 end
if m[2] then return 3 end
if ARGV[3] == '1' then
  if m[4] ~= ARGV[4] then return 5 end
elseif m[4] then
  return 5
end
redis.call('HSET', h, ARGV[2], ARGV[5])
return 1
`)

// capScript decides which sessions a CapUser ends, on the user's cap key
// KEYS[1]: a sorted set of the session IDs that CapUsers chose to end,
// each scored by its index score (a time after which it cannot be live).
// ARGV: now (Unix ms), n, refuse ("1"), keep, then a triple per session
// that the caller found live (ID, index score, expiry in Unix ms), least
// recently seen first. It prunes the IDs whose score is past, then counts
// the triples that are neither chosen already nor expired by now. If more
// than n remain, it chooses keep alone (refuse) or, else, the first of
// them other than keep until n remain, and adds them to the set, which
// then expires with its latest member. It returns {chosen IDs, IDs of the
// triples chosen before}: the caller ends both (the second are normally
// being ended by their chooser; if that failed, this ends them).
var capScript = redis.NewScript(`
local z = KEYS[1]
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', z, '-inf', '(' .. ARGV[1])
local n, refuse, keep = tonumber(ARGV[2]), ARGV[3] == '1', ARGV[4]
local live, before = {}, {}
for i = 5, #ARGV, 3 do
  if redis.call('ZSCORE', z, ARGV[i]) then
    before[#before + 1] = ARGV[i]
  elseif tonumber(ARGV[i + 2]) > now then
    live[#live + 1] = i
  end
end
local chosen = {}
if #live > n then
  for _, i in ipairs(live) do
    if refuse then
      if ARGV[i] == keep then chosen[1] = i break end
    elseif #chosen >= #live - n then
      break
    elseif ARGV[i] ~= keep then
      chosen[#chosen + 1] = i
    end
  end
end
local out = {}
for _, i in ipairs(chosen) do
  redis.call('ZADD', z, ARGV[i + 1], ARGV[i])
  out[#out + 1] = ARGV[i]
end
if #out > 0 then
  local top = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
  if top[2] == 'inf' then redis.call('PERSIST', z) else redis.call('PEXPIREAT', z, top[2]) end
end
return {out, before}
`)

var scripts = []*redis.Script{saveScript, applyScript, setScript, deleteScript, renewOutScript, renewInScript, indexScript, denyScript, markScript, updateScript, capScript}

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
// one more round trip, once per node and script. The store pipelines only
// scripts and commands that need no order among themselves (on a Cluster
// they run in parallel anyway), so a script sent again after the others
// is as good as one sent first. If a call or command fails otherwise,
// exec returns its error and sends nothing again: a call that got NOSCRIPT
// then did not run. A caller that must know which parts ran looks at each
// cmd.
//
// With Options.Replicas set, every pipeline exec sends, a single call's
// too, ends with WAIT: on the connection that took the writes, in the
// same round trip. If a WAIT counts too few replicas, exec returns an
// error wrapping ErrNotReplicated (once the calls and commands succeeded:
// their own errors come first), and sends nothing again.
func (s *Store) exec(ctx context.Context, calls []*call, cmds ...redis.Cmder) error {
	if len(calls) == 1 && len(cmds) == 0 && s.replication.n == 0 {
		c := calls[0]
		c.cmd = c.script.Run(ctx, s.rdb, c.keys, c.args...)
		return c.cmd.Err()
	}
	var wait *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range calls {
			c.cmd = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		for _, cmd := range cmds {
			p.Process(ctx, cmd)
		}
		wait = s.replication.wait(ctx, p)
		return nil
	})
	if err == nil {
		return s.replication.check(wait)
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
		if err := s.replication.check(wait); err != nil {
			return err
		}
		return err
	}
	// The calls that ran are covered by the first WAIT only: the second
	// pipeline may go on another connection.
	if err := s.replication.check(wait); err != nil {
		return err
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range retry {
			c.cmd = c.script.Eval(ctx, p, c.keys, c.args...)
		}
		wait = s.replication.wait(ctx, p)
		return nil
	})
	if err != nil {
		return err
	}
	return s.replication.check(wait)
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
	s.use(ctx)
	for _, sc := range scripts {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return wrap("load scripts", err)
		}
	}
	return nil
}
