package redisstore

import (
	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// The Lua scripts. Every script touches only the keys it is given in KEYS, and
// each of those calls touches one key (or, for the atomic rename, which runs
// only on a single-node client, two), so they route correctly in a Cluster.
//
// Times in a record hash are decimal Unix nanoseconds. Lua numbers are
// doubles, exact only up to 2^53, so the scripts compare those strings as
// decimals (luaBefore) instead of converting them; millisecond values (index
// scores, TTLs) fit a double exactly.

// luaHelpers is shared by the scripts that read record expiry.
const luaHelpers = `
-- before reports whether a < b for canonical signed decimal strings.
local function before(a, b)
  local na, nb = a:byte(1) == 45, b:byte(1) == 45
  if na ~= nb then return na end
  if na then a, b = b:sub(2), a:sub(2) end
  if #a ~= #b then return #a < #b end
  return a < b
end

-- live reports whether a record whose _e (expiry) and _m (moved) fields are
-- e and m is live at now.
local function live(e, m, now)
  return e and not m and before(now, e)
end
`

// indexScript records that the session KEYS... ARGV[1] belongs to the user
// whose index is KEYS[1], up to the horizon ARGV[2] (ms), prunes entries whose
// horizon is before ARGV[3] (now, ms), and keeps the index alive ARGV[4] ms
// past its latest horizon. A score never goes down.
var indexScript = redis.NewScript(`
local K = KEYS[1]
local now = tonumber(ARGV[3])
redis.call('ZADD', K, 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', K, '-inf', '(' .. ARGV[3])
local top = redis.call('ZRANGE', K, -1, -1, 'WITHSCORES')
if top[2] then
  redis.call('PEXPIRE', K, string.format('%d', tonumber(top[2]) - now + tonumber(ARGV[4])))
end
return 1
`)

// deleteUserScript deletes the record KEYS[1] if it belongs to the user
// ARGV[1]. Replies 1 when it deleted a record live at ARGV[2] (ns), 0 when it
// deleted a dead one, -1 when the record belongs to someone else and -2 when
// there is no record.
var deleteUserScript = redis.NewScript(luaHelpers + `
local m = redis.call('HMGET', KEYS[1], '_u', '_e', '_m')
if not m[1] then
  if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
  return -1
end
if m[1] ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
if live(m[2], m[3], ARGV[2]) then return 1 end
return 0
`)

// moveScript is the first step of a rename in a Cluster: it marks the live
// record KEYS[1] as moving to ARGV[2] (so it loads as missing and takes no
// more changes), caps its TTL at ARGV[3] ms, and replies with its fields.
// A repeat (the record is already moving to ARGV[2]) replies with them
// again; "DONE" means the rename under the change ID ARGV[4] has finished
// (its marker KEYS[2] exists).
var moveScript = redis.NewScript(luaHelpers + `
local K = KEYS[1]
if ARGV[4] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then return 'DONE' end
local m = redis.call('HMGET', K, '_e', '_m', 'v:` + store.GoneField + `')
if m[2] and m[2] == ARGV[2] and m[1] and before(ARGV[1], m[1]) then
  return redis.call('HGETALL', K)
end
if not live(m[1], m[2], ARGV[1]) or m[3] then return redis.error_reply('SESAME_NOTFOUND') end
local fields = redis.call('HGETALL', K)
redis.call('HSET', K, '_m', ARGV[2])
local pttl = redis.call('PTTL', K)
if pttl < 0 or pttl > tonumber(ARGV[3]) then redis.call('PEXPIRE', K, ARGV[3]) end
return fields
`)

// unmoveScript ends a rename of KEYS[1] to ARGV[1] started by moveScript:
// with ARGV[2] == "" it deletes the record (the rename succeeded) and writes
// the marker KEYS[2] of the change ID ARGV[3] for ARGV[4] ms, otherwise it
// undoes the mark and restores the TTL ARGV[2] (ms). It does nothing when
// the record is no longer marked as moving to ARGV[1].
var unmoveScript = redis.NewScript(`
local K = KEYS[1]
if redis.call('HGET', K, '_m') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', K)
  if ARGV[3] ~= '' then redis.call('SET', KEYS[2], '1', 'PX', ARGV[4]) end
elseif tonumber(ARGV[2]) <= 0 then
  redis.call('DEL', K)
else
  redis.call('HDEL', K, '_m')
  redis.call('PEXPIRE', K, ARGV[2])
end
return 1
`)

// pruneScript deletes the record KEYS[1] if it is expired at ARGV[1] (ns) and
// not in the middle of a rename. Replies 1 when it deleted it.
var pruneScript = redis.NewScript(luaHelpers + `
local m = redis.call('HMGET', KEYS[1], '_e', '_m')
if m[2] then return 0 end
if m[1] and before(ARGV[1], m[1]) then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

// unlockScript deletes the lock KEYS[1] if it still holds the token ARGV[1].
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// lockScript takes the lock KEYS[1] for the token ARGV[1] for ARGV[2] ms if
// it is free, and replies 1 when the token holds it (taken now, or before:
// a repeat), 0 when another token does.
var lockScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  if v == ARGV[1] then return 1 end
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// takeScript removes the value field ARGV[2] from the record KEYS[1] if the
// record is live at ARGV[1] (ns) and replies with it (false when there is
// none), keeping the record's size (_n) right. With a take ID ARGV[3] it
// keeps the value it took under the marker KEYS[2] for ARGV[4] ms, and a
// repeat replies with that value instead of taking again.
var takeScript = redis.NewScript(luaHelpers + `
local K, f, id = KEYS[1], ARGV[2], ARGV[3]
if id ~= '' then
  local done = redis.call('GET', KEYS[2])
  if done then return done end
end
local m = redis.call('HMGET', K, '_e', '_m', '_n', f)
if not live(m[1], m[2], ARGV[1]) or not m[4] then return false end
local v = m[4]
local n = #v
if n >= 18 and v:byte(1) == 31 and v:byte(2) == 139 then
  local a, b, c, d = v:byte(-4, -1)
  n = a + b * 256 + c * 65536 + d * 16777216
end
redis.call('HDEL', K, f)
if m[3] then
  redis.call('HSET', K, '_n', string.format('%d', tonumber(m[3]) - (#f - 2) - n))
end
if id ~= '' then redis.call('SET', KEYS[2], v, 'PX', ARGV[4]) end
return v
`)
