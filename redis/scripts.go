package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
)

// The Lua scripts. Each runs atomically on the node that holds its keys,
// and every script touches keys of one hash slot only: KEYS name the keys
// that route it; keys a script builds from ARGV[prefix] (a user's refresh
// token records and sets, whose number is not known in advance) share the
// {u:<user>} tag of its KEYS, so they are in the same slot. Go-redis runs
// them with EVALSHA and falls back to EVAL when the server does not have
// them cached.

// extendLua raises a key's TTL to ttl milliseconds, never lowers it.
const extendLua = `
local function extend(k, ttl)
  local t = redis.call('PTTL', k)
  if t == -1 or (t >= 0 and t < ttl) then redis.call('PEXPIRE', k, ttl) end
end
`

// createSession: KEYS record, user index; ARGV blob, version, lastSeen
// (sortable), lastSeen (ms), index member, idle (ms), expiresAt (ms), ttl
// (ms). 0 when the record exists.
var createSession = goredis.NewScript(extendLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'b', ARGV[1], 'v', ARGV[2], 'ls', ARGV[3], 'lm', ARGV[4], 'm', ARGV[5], 'i', ARGV[6], 'e', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('ZADD', KEYS[2], 0, ARGV[5])
extend(KEYS[2], tonumber(ARGV[8]))
return 1
`)

// sessionTTLLua computes a record's TTL from its idle timeout, absolute
// end and last-seen time, all in ms: the time left until its deadline,
// plus the slack.
const sessionTTLLua = `
local function sessionTTL(idle, exp, seen, slack)
  return math.floor(math.max(0, math.min(idle, exp - seen)) + slack)
end
`

// touchSession: KEYS record, user index; ARGV lastSeen (sortable), lastSeen
// (ms), slack (ms). Moves LastSeen forward only, and the TTL with it.
var touchSession = goredis.NewScript(extendLua + sessionTTLLua + `
local f = redis.call('HMGET', KEYS[1], 'ls', 'i', 'e')
if not f[1] or ARGV[1] <= f[1] then return 0 end
redis.call('HSET', KEYS[1], 'ls', ARGV[1], 'lm', ARGV[2])
local ttl = sessionTTL(tonumber(f[2]), tonumber(f[3]), tonumber(ARGV[2]), tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ttl)
extend(KEYS[2], ttl)
return 1
`)

// tokenHashesLua reads the token hashes from a session blob (see
// encodeSession, formatV1: the version byte, the ID as a uvarint length
// and its bytes, then the 32-byte token hash and the 32-byte previous
// hash) and returns them in hex, leaving out a zero hash; nothing for a
// blob it cannot read.
const tokenHashesLua = `
local function tokenHashes(b)
  if string.byte(b, 1) ~= 1 then return {} end
  local i, n, mul = 2, 0, 1
  while true do
    local c = string.byte(b, i)
    if not c then return {} end
    i = i + 1
    n = n + (c % 128) * mul
    if c < 128 then break end
    mul = mul * 128
  end
  i = i + n
  local out = {}
  for j = 0, 1 do
    local h = string.sub(b, i + 32 * j, i + 32 * j + 31)
    if #h == 32 and h ~= string.rep('\0', 32) then
      out[#out + 1] = (string.gsub(h, '.', function(c) return string.format('%02x', string.byte(c)) end))
    end
  end
  return out
end
`

// updateSession: KEYS record, user index, user's pending-unindex set;
// ARGV expected version, new version, blob, lastSeen (sortable), lastSeen
// (ms), idle (ms), expiresAt (ms), slack (ms). The version compare-and-
// swap: {0} missing, {-1} another version, {1, old blob, stored lastSeen,
// {every pending index name}} done. The later LastSeen wins. The token
// hashes the record no longer carries are added to the pending-unindex
// set in the same step, so that their indexes are removed even if the
// caller dies before it removes them.
var updateSession = goredis.NewScript(extendLua + sessionTTLLua + tokenHashesLua + `
local f = redis.call('HMGET', KEYS[1], 'v', 'b', 'ls', 'lm')
if not f[1] then return {0} end
if f[1] ~= ARGV[1] then return {-1} end
local ls, lm = ARGV[4], ARGV[5]
if f[3] > ls then ls, lm = f[3], f[4] end
redis.call('HSET', KEYS[1], 'b', ARGV[3], 'v', ARGV[2], 'ls', ls, 'lm', lm, 'i', ARGV[6], 'e', ARGV[7])
local ttl = sessionTTL(tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(lm), tonumber(ARGV[8]))
redis.call('PEXPIRE', KEYS[1], ttl)
extend(KEYS[2], ttl)
local keep = {}
for _, h in ipairs(tokenHashes(ARGV[3])) do keep[h] = true end
local dropped = {}
for _, h in ipairs(tokenHashes(f[2])) do
  if not keep[h] then
    dropped[#dropped + 1] = h
    redis.call('SADD', KEYS[3], 'tok:' .. h)
  end
end
if #dropped > 0 then
  extend(KEYS[3], math.max(tonumber(ARGV[7]) - tonumber(lm), 0) + tonumber(ARGV[8]))
end
return {1, f[2], ls, redis.call('SMEMBERS', KEYS[3])}
`)

// deleteSessions: KEYS user index, user's pending-unindex set, then one
// record per session; ARGV user prefix, slack (ms), then per record:
// session ID, expected version, expected lastSeen ("" and "" delete
// unconditionally). Deletes each record whose fields match, its index
// member, and its refresh tokens (families of the session, their token
// records, the session's family set), and adds, in the same step, the
// names of their index keys (sid:, tok:, rt:, fam:) to the pending-
// unindex set, which lives as long as those indexes can. Returns {{IDs
// deleted}, {every pending index name}}: with no session given, only the
// work that an earlier, interrupted deletion left.
var deleteSessions = goredis.NewScript(extendLua + tokenHashesLua + `
local p, slack = ARGV[1], tonumber(ARGV[2])
local ids, ttl = {}, -1
for j = 3, #KEYS do
  local a = 3 * (j - 3) + 3
  local sid, ev, els = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local f = redis.call('HMGET', KEYS[j], 'b', 'm', 'v', 'ls', 'e', 'lm')
  if f[1] and (ev == '' or (ev == f[3] and els == f[4])) then
    redis.call('DEL', KEYS[j])
    redis.call('ZREM', KEYS[1], f[2])
    local gone = {'sid:' .. sid}
    for _, h in ipairs(tokenHashes(f[1])) do gone[#gone + 1] = 'tok:' .. h end
    ttl = math.max(ttl, tonumber(f[5] or 0) - tonumber(f[6] or 0))
    local sf = p .. 'sf:' .. sid
    for _, fam in ipairs(redis.call('SMEMBERS', sf)) do
      local fk = p .. 'fam:' .. fam
      ttl = math.max(ttl, redis.call('PTTL', fk))
      for _, h in ipairs(redis.call('SMEMBERS', fk)) do
        redis.call('DEL', p .. 'rt:' .. h)
        gone[#gone + 1] = 'rt:' .. h
      end
      redis.call('DEL', fk)
      gone[#gone + 1] = 'fam:' .. fam
    end
    redis.call('DEL', sf)
    redis.call('SADD', KEYS[2], unpack(gone))
    ids[#ids + 1] = sid
  end
end
if #ids > 0 then extend(KEYS[2], math.max(ttl, 0) + slack) end
return {ids, redis.call('SMEMBERS', KEYS[2])}
`)

// listSessions: KEYS user index; ARGV user prefix. Every live session of
// the user in index order (CreatedAt, then ID): {member, blob, version,
// lastSeen}. Index members whose record has expired are dropped.
var listSessions = goredis.NewScript(`
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ARGV[1] .. 's:' .. string.sub(m, 22), 'b', 'v', 'ls')
  if f[1] then
    out[#out + 1] = {m, f[1], f[2], f[3]}
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
`)

// queueAdd: KEYS a cleanup queue; ARGV score, member, ttl (ms). Adds or
// rescores the member and keeps the queue at least as long as it.
var queueAdd = goredis.NewScript(extendLua + `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
extend(KEYS[1], tonumber(ARGV[3]))
return 1
`)

// appendChanges: KEYS feed counter, feed; ARGV max entries, feed TTL (ms),
// then one "<kind> <unix ns> <pair(sid, uid)>" per change. Gives each the
// next Seq and returns the last. A missing counter (a new deployment, or
// Redis lost its data) starts at the server's time in microseconds, so
// the Seqs of a feed that was lost and begun again are past every Seq the
// old feed gave: a reader's position then lies in a gap, which tells it
// that changes were lost (SEC-64), however many have been made since.
var appendChanges = goredis.NewScript(seedFeedLua + `
seedFeed(KEYS[1])
local last = 0
for j = 3, #ARGV do
  last = redis.call('INCR', KEYS[1])
  redis.call('ZADD', KEYS[2], last, string.format('%d', last) .. ' ' .. ARGV[j])
end
local n = redis.call('ZCARD', KEYS[2])
local max = tonumber(ARGV[1])
if n > max then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - max - 1) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return last
`)

// seedFeedLua starts a missing feed counter at the server's time in
// microseconds (see appendChanges).
const seedFeedLua = `
local function seedFeed(k)
  if redis.call('EXISTS', k) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', k, t[1] .. string.format('%06d', tonumber(t[2])))
  end
end
`

// readChanges: KEYS feed counter, feed; ARGV after, limit. Returns
// {oldest, {entries with Seq > after}}: oldest is the lowest Seq held or,
// when none is, the next Seq. It seeds a missing counter as appendChanges
// does, so that a reader of a feed that was lost and is still empty sees
// its position in a gap too.
var readChanges = goredis.NewScript(seedFeedLua + `
seedFeed(KEYS[1])
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local oldest
if first[1] then
  oldest = tonumber(first[2])
else
  oldest = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
end
local es = {}
if tonumber(ARGV[2]) > 0 then
  es = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, ARGV[2])
end
return {oldest, es}
`)

// trimChanges: KEYS feed; ARGV cut (unix ms), at most how many to remove.
// Removes entries from the oldest while their time is before cut.
var trimChanges = goredis.NewScript(`
local cut, budget, removed = tonumber(ARGV[1]), tonumber(ARGV[2]), 0
while removed < budget do
  local ms = redis.call('ZRANGE', KEYS[1], 0, 99)
  if #ms == 0 then return removed end
  for _, m in ipairs(ms) do
    local t = tonumber(string.match(m, '^%d+ %d+ (%-?%d+) '))
    if not t or t / 1e6 >= cut or removed >= budget then return removed end
    redis.call('ZREM', KEYS[1], m)
    removed = removed + 1
  end
end
return removed
`)

// createRefresh: KEYS token record, family set, session's family set,
// session record; ARGV blob, family, session ID, expiresAt (sortable), ttl
// (ms), family ttl (ms), token hash (hex). -1 when the session does not
// exist, 0 when the token does.
var createRefresh = goredis.NewScript(extendLua + `
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'b', ARGV[1], 'f', ARGV[2], 's', ARGV[3], 'e', ARGV[4], 'ua', '')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[2], ARGV[7])
extend(KEYS[2], tonumber(ARGV[6]))
redis.call('SADD', KEYS[3], ARGV[2])
extend(KEYS[3], tonumber(ARGV[6]))
return 1
`)

// getRefresh: KEYS token record; ARGV user prefix. {blob, family, session
// ID, usedAt, successor hash, successor TTL (ms)}, or nil when the token or
// its session is gone. The successor fields are set for a used token
// whose successor record exists (else "" and 0), so that the caller can
// restore the successor's index if the redeemer died before writing it.
var getRefresh = goredis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'b', 'f', 's', 'ua', 'n')
if not f[1] then return false end
if redis.call('EXISTS', ARGV[1] .. 's:' .. f[3]) == 0 then return false end
local ttl = 0
if f[5] then
  ttl = math.max(redis.call('PTTL', ARGV[1] .. 'rt:' .. f[5]), 0)
end
return {f[1], f[2], f[3], f[4], f[5] or '', ttl}
`)

// redeemRefresh: KEYS token record, successor record; ARGV user prefix,
// usedAt (sortable), successor blob, successor expiresAt (sortable),
// successor ttl (ms), successor hash (hex). The compare-and-swap on the
// use time: 0 missing (or its session is), -1 already used, -2 successor
// exists, 1 done. The token remembers its successor's hash ('n'), by
// which getRefresh finds the successor of a used token.
var redeemRefresh = goredis.NewScript(extendLua + `
local p = ARGV[1]
local f = redis.call('HMGET', KEYS[1], 'f', 's', 'ua')
if not f[1] then return 0 end
if redis.call('EXISTS', p .. 's:' .. f[2]) == 0 then return 0 end
if f[3] ~= '' then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -2 end
redis.call('HSET', KEYS[1], 'ua', ARGV[2], 'n', ARGV[6])
redis.call('HSET', KEYS[2], 'b', ARGV[3], 'f', f[1], 's', f[2], 'e', ARGV[4], 'ua', '')
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local fk = p .. 'fam:' .. f[1]
redis.call('SADD', fk, ARGV[6])
extend(fk, tonumber(ARGV[5]))
extend(p .. 'sf:' .. f[2], tonumber(ARGV[5]))
return 1
`)

// deleteFamily: KEYS family set, user's pending-unindex set; ARGV user
// prefix, family ID, slack (ms). Deletes the family's token records and
// set, adds the names of their indexes (rt:, fam:) to the pending-unindex
// set in the same step, and returns every pending index name.
var deleteFamily = goredis.NewScript(extendLua + `
local p = ARGV[1]
local hs = redis.call('SMEMBERS', KEYS[1])
local ttl = math.max(redis.call('PTTL', KEYS[1]), 0)
local sid = false
for _, h in ipairs(hs) do
  local k = p .. 'rt:' .. h
  if not sid then sid = redis.call('HGET', k, 's') end
  redis.call('DEL', k)
  redis.call('SADD', KEYS[2], 'rt:' .. h)
end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[2], 'fam:' .. ARGV[2])
if sid then redis.call('SREM', p .. 'sf:' .. sid, ARGV[2]) end
extend(KEYS[2], ttl + tonumber(ARGV[3]))
return redis.call('SMEMBERS', KEYS[2])
`)

// expireRefresh: KEYS token record, user's pending-unindex set; ARGV user
// prefix, hash (hex), now (sortable), slack (ms). Deletes the token if its
// ExpiresAt is at or before now and lists its index (and, when it was the
// family's last token, the family's index) as pending unindexing, in the
// same step. Returns {1 deleted, 0 already gone, -1 not expired; every
// pending index name (none when not expired)}.
var expireRefresh = goredis.NewScript(extendLua + `
local f = redis.call('HMGET', KEYS[1], 'e', 'f', 's')
local code, ttl = 0, 0
if f[1] then
  if f[1] > ARGV[3] then return {-1, {}} end
  redis.call('DEL', KEYS[1])
  local fk = ARGV[1] .. 'fam:' .. f[2]
  ttl = math.max(redis.call('PTTL', fk), 0)
  redis.call('SREM', fk, ARGV[2])
  if redis.call('SCARD', fk) == 0 then
    redis.call('SADD', KEYS[2], 'fam:' .. f[2])
    if f[3] then redis.call('SREM', ARGV[1] .. 'sf:' .. f[3], f[2]) end
  end
  code = 1
end
redis.call('SADD', KEYS[2], 'rt:' .. ARGV[2])
extend(KEYS[2], ttl + tonumber(ARGV[4]))
return {code, redis.call('SMEMBERS', KEYS[2])}
`)

// guardFail: KEYS counter; ARGV now (sortable), now+window (sortable),
// slack (ms). Restarts an absent or expired counter, else counts one more
// and moves Last and Expires forward only. Returns {count, last, expires};
// the key lives until Expires (measured from now) plus the slack.
var guardFail = goredis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'c', 'l', 'e')
local c, l, e
if not f[1] or ARGV[1] >= f[3] then
  c, l, e = 1, ARGV[1], ARGV[2]
else
  c, l, e = tonumber(f[1]) + 1, f[2], f[3]
  if ARGV[1] > l then l = ARGV[1] end
  if ARGV[2] > e then e = ARGV[2] end
end
redis.call('HSET', KEYS[1], 'c', c, 'l', l, 'e', e)
local ttl = math.floor((tonumber(e) - tonumber(ARGV[1])) / 1e6) + tonumber(ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.max(ttl, 1))
return {c, l, e}
`)

// runPipelined runs queued script calls in one pipeline with EVALSHA and
// re-runs with EVAL, in a second pipeline, those that failed with NOSCRIPT
// (a server that restarted or flushed its script cache); NOSCRIPT means
// the call did nothing, so re-running is safe.
type scriptCall struct {
	script *goredis.Script
	keys   []string
	args   []any
	cmd    *goredis.Cmd
}

func runPipelined(ctx context.Context, c goredis.UniversalClient, calls []*scriptCall) error {
	if len(calls) == 0 {
		return nil
	}
	pipe := c.Pipeline()
	for _, sc := range calls {
		sc.cmd = sc.script.EvalSha(ctx, pipe, sc.keys, sc.args...)
	}
	_, _ = pipe.Exec(ctx)
	var retry []*scriptCall
	for _, sc := range calls {
		if goredis.HasErrorPrefix(sc.cmd.Err(), "NOSCRIPT") {
			retry = append(retry, sc)
		}
	}
	if len(retry) > 0 {
		pipe := c.Pipeline()
		for _, sc := range retry {
			sc.cmd = sc.script.Eval(ctx, pipe, sc.keys, sc.args...)
		}
		_, _ = pipe.Exec(ctx)
	}
	for _, sc := range calls {
		if err := sc.cmd.Err(); err != nil && err != goredis.Nil {
			return err
		}
	}
	return nil
}
