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

// applyScript applies a change set to the record under KEYS[1], at most once
// per change ID: KEYS[2] is the change's marker key (in the record's slot).
// With a third key it then renames the record to KEYS[3] (the atomic rename
// of a single-node client).
//
// ARGV: 1 now (ns, the store's clock, which alone decides whether a record is
// live), 2 the change's time (ns, written to _s, and to _c on create), 3
// create (1/0), 4 clear (1/0), 5 expires (ns, or "" to keep), 6 ttl (ms, "" to
// keep, "0" when the result is already dead), 7 setuser (1/0), 8 user, 9 ip,
// 10 user agent, 11 indexed user and 12 its horizon (ms), the index entry the
// caller has just written, 13 max size (0 = none), 14 created (ns, "" for the
// change's time), 15 the change ID ("" for none), 16 how long to remember it
// (ms), 17/18/19/20/21 the number of inflated values, deletes, sets,
// increments and pushes, then the (field, SHA-1 of the stored compressed
// value, inflated value) triples, the deleted fields, the (field, stored
// value, raw length) triples, the (field, amount) pairs and the (field,
// elements joined by commas, number of elements, keep) quadruples.
//
// Replies: "OK" (also, at once, when the marker of the change ID exists: the
// change was applied before); {"NEEDINDEX", user, expires} when the result
// belongs to a user and its expiry is past what the user index covers for
// this key (the caller indexes it and runs the script again);
// {"NEEDPLAIN", field} when a push targets a compressed value the caller has
// not inflated (the caller does, and runs the script again with it); or an
// error reply SESAME_EXISTS, SESAME_NOTFOUND, SESAME_NOTNUMBER <i> (the i-th
// increment), SESAME_NOTLIST <i> (the i-th push) or SESAME_TOOLARGE <size>.
// Nothing is written before every check passed; the marker is written with
// the change.
var applyScript = redis.NewScript(luaHelpers + `
local LIMPOS, LIMNEG = '9223372036854775807', '9223372036854775808'

-- parseint parses a JSON integer, -?(0|[1-9][0-9]*), within int64, like
-- Go's store.AddInt, and returns its sign and magnitude, or nil.
local function parseint(s)
  local sign, d = s:match('^(-?)(%d+)$')
  if not d or (#d > 1 and d:byte(1) == 48) then return nil end
  local neg = sign == '-'
  if #d > 19 or (#d == 19 and d > (neg and LIMNEG or LIMPOS)) then return nil end
  return neg and d ~= '0', d
end

local function addmag(a, b)
  local r, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry
    if i > 0 then d = d + a:byte(i) - 48 end
    if j > 0 then d = d + b:byte(j) - 48 end
    r[#r + 1] = d % 10
    carry = (d - d % 10) / 10
    i, j = i - 1, j - 1
  end
  return string.reverse(table.concat(r))
end

-- submag returns a - b for magnitudes a >= b.
local function submag(a, b)
  local r, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local d = a:byte(i) - 48 - borrow
    if j > 0 then d = d - (b:byte(j) - 48) end
    if d < 0 then d, borrow = d + 10, 1 else borrow = 0 end
    r[#r + 1] = d
    i, j = i - 1, j - 1
  end
  local s = string.reverse(table.concat(r)):gsub('^0+', '')
  if s == '' then s = '0' end
  return s
end

-- addint adds the decimal by to the stored value v (false or "" is 0), with
-- the rules of Go's store.AddInt; nil when v is not an integer or the sum
-- overflows int64.
local function addint(v, by)
  local an, am = false, '0'
  if v and #v > 0 then
    an, am = parseint(v)
    if not am then return nil end
  end
  local bn, bm = parseint(by)
  if not bm then return nil end
  local neg, mag
  if an == bn then
    neg, mag = an, addmag(am, bm)
  elseif #am < #bm or (#am == #bm and am < bm) then
    neg, mag = bn, submag(bm, am)
  else
    neg, mag = an, submag(am, bm)
  end
  if mag == '0' then neg = false end
  if #mag > 19 or (#mag == 19 and mag > (neg and LIMNEG or LIMPOS)) then return nil end
  return (neg and '-' or '') .. mag
end

-- rawlen is the length of a stored value before compression: gzip keeps it
-- in its last four bytes (ISIZE, little-endian).
local function rawlen(v)
  if #v >= 18 and v:byte(1) == 31 and v:byte(2) == 139 then
    local a, b, c, d = v:byte(-4, -1)
    return a + b * 256 + c * 65536 + d * 16777216
  end
  return #v
end

-- msceil is ceil(ns / 1e6) of a decimal nanosecond string (0 for negatives).
local function msceil(s)
  if s:byte(1) == 45 then return 0 end
  if #s <= 6 then
    if s == '0' then return 0 end
    return 1
  end
  local ms = tonumber(s:sub(1, -7))
  if s:sub(-6) ~= '000000' then ms = ms + 1 end
  return ms
end

-- gz reports whether a stored value is compressed (starts like gzip).
local function gz(v)
  return #v >= 18 and v:byte(1) == 31 and v:byte(2) == 139
end

-- split mirrors Go's store.splitArray: it returns the bounds (start, end,
-- start, end, ...; inclusive, white space trimmed) of the top-level
-- elements of the JSON array v, or nil when v is not one. It jumps from one
-- structural character to the next with string.find.
local function split(v)
  local i = v:find('[^ \t\n\r]')
  if not i then return nil end
  local e = v:find('[ \t\n\r]*$') - 1
  if e <= i or v:byte(i) ~= 91 or v:byte(e) ~= 93 then return nil end
  local b, depth, start, last = {}, 0, nil, nil
  local pos, stop = i + 1, e - 1
  while pos <= stop do
    local j = v:find('[^ \t\n\r]', pos)
    if not j or j > stop then break end
    local c = v:byte(j)
    if c == 34 then -- a string: find its closing quote
      if not start then start = j end
      local k = j + 1
      while true do
        k = v:find('["\\]', k)
        if not k or k > stop then return nil end
        if v:byte(k) == 92 then k = k + 2 else break end
      end
      last, pos = k, k + 1
    elseif c == 91 or c == 123 then
      depth = depth + 1
      if not start then start = j end
      last, pos = j, j + 1
    elseif c == 93 or c == 125 then
      depth = depth - 1
      if depth < 0 then return nil end
      last, pos = j, j + 1
    elseif c == 44 and depth == 0 then
      if not start then return nil end
      b[#b + 1], b[#b + 2] = start, last
      start, pos = nil, j + 1
    else -- a comma inside an element, or a run of other characters
      if not start then start = j end
      local k = j
      if c ~= 44 then k = (v:find('[%[%]{}", \t\n\r]', j) or (stop + 1)) - 1 end
      last, pos = k, k + 1
    end
  end
  if depth ~= 0 then return nil end
  if start then
    b[#b + 1], b[#b + 2] = start, last
  elseif #b > 0 then
    return nil
  end
  return b
end

-- append is Go's store.AppendJSON: it appends the ne elements elems (joined
-- by commas) to the JSON array cur (false or "" is empty), keeping the last
-- keep when keep > 0 (the caller passes at most keep elements). Nil when
-- cur is not an array. A compact array (no white space) without keep is
-- appended to without being parsed.
local function append(cur, elems, ne, keep)
  if not cur or cur == '' then return '[' .. elems .. ']' end
  if keep == 0 and cur:byte(1) == 91 and cur:byte(-1) == 93 and not cur:find('[ \t\n\r]') then
    if ne == 0 then return cur end
    if #cur == 2 then return '[' .. elems .. ']' end
    return cur:sub(1, -2) .. ',' .. elems .. ']'
  end
  local b = split(cur)
  if not b then return nil end
  local n = #b / 2
  local skip = 0
  if keep > 0 and n + ne > keep then skip = n + ne - keep end
  local parts = {}
  for x = skip + 1, n do parts[#parts + 1] = cur:sub(b[2 * x - 1], b[2 * x]) end
  if ne > 0 then parts[#parts + 1] = elems end
  return '[' .. table.concat(parts, ',') .. ']'
end

local K, MK, NK = KEYS[1], KEYS[2], KEYS[3]
local id, window = ARGV[15], ARGV[16]
if id ~= '' and redis.call('EXISTS', MK) == 1 then return 'OK' end
local now, at = ARGV[1], ARGV[2]
local create, clear = ARGV[3] == '1', ARGV[4] == '1'
local exp, ttl = ARGV[5], ARGV[6]
local setuser, uid, ip, ua = ARGV[7] == '1', ARGV[8], ARGV[9], ARGV[10]
local iuser, ihz = ARGV[11], ARGV[12]
local maxsize = tonumber(ARGV[13])
local created = ARGV[14]
local npl, nd, ns, ni, np = tonumber(ARGV[17]), tonumber(ARGV[18]), tonumber(ARGV[19]), tonumber(ARGV[20]), tonumber(ARGV[21])

local m = redis.call('HMGET', K, '_e', '_n', '_u', '_x', '_m', 'v:` + store.GoneField + `')
local islive = live(m[1], m[5], now)
if create then
  if islive then return redis.error_reply('SESAME_EXISTS') end
elseif not islive or m[6] then
  -- Missing, expired, or a tombstone (store.GoneField): the session ended.
  return redis.error_reply('SESAME_NOTFOUND')
end
if NK then
  local n = redis.call('HMGET', NK, '_e', '_m')
  if live(n[1], n[2], now) then return redis.error_reply('SESAME_EXISTS') end
end

-- Work out the new values and the record's size without writing anything.
local fresh = create or clear
local size = 0
if not fresh then
  size = tonumber(m[2])
  if not size then
    size = 0
    local all = redis.call('HGETALL', K)
    for i = 1, #all, 2 do
      if all[i]:sub(1, 2) == 'v:' then size = size + #all[i] - 2 + rawlen(all[i + 1]) end
    end
  end
end
-- state[f] is the new value of field f (false: none); stored[f] is true
-- while it is the value read from the record.
local state, raw, order, stored = {}, {}, {}, {}
local function touch(f)
  if state[f] == nil then
    local v = false
    if not fresh then v = redis.call('HGET', K, f) end
    if v then
      raw[f] = rawlen(v)
      size = size - (#f - 2 + raw[f])
      stored[f] = true
    end
    state[f] = v
    order[#order + 1] = f
  end
end
local p = 22
local plain = {}
for i = 1, npl do
  plain[ARGV[p]] = {ARGV[p + 1], ARGV[p + 2]}
  p = p + 3
end
for i = 1, nd do
  touch(ARGV[p])
  state[ARGV[p]], stored[ARGV[p]] = false, nil
  p = p + 1
end
for i = 1, ns do
  local f = ARGV[p]
  touch(f)
  state[f], raw[f], stored[f] = ARGV[p + 1], tonumber(ARGV[p + 2]), nil
  p = p + 3
end
for i = 1, ni do
  local f = ARGV[p]
  touch(f)
  local r = addint(state[f], ARGV[p + 1])
  if not r then return redis.error_reply('SESAME_NOTNUMBER ' .. i) end
  state[f], raw[f], stored[f] = r, #r, nil
  p = p + 2
end
for i = 1, np do
  local f = ARGV[p]
  touch(f)
  local cur = state[f]
  if cur and stored[f] and gz(cur) then
    local pl = plain[f]
    if not pl or redis.sha1hex(cur) ~= pl[1] then return {'NEEDPLAIN', f} end
    cur = pl[2]
  end
  local r = append(cur, ARGV[p + 1], tonumber(ARGV[p + 2]), tonumber(ARGV[p + 3]))
  if not r then return redis.error_reply('SESAME_NOTLIST ' .. i) end
  state[f], raw[f], stored[f] = r, #r, nil
  p = p + 4
end
local sets, dels = {}, {}
for _, f in ipairs(order) do
  if state[f] then
    size = size + #f - 2 + raw[f]
    sets[#sets + 1] = f
    sets[#sets + 1] = state[f]
  elseif not fresh then
    dels[#dels + 1] = f
  end
end
if maxsize > 0 and size > maxsize then
  return redis.error_reply('SESAME_TOOLARGE ' .. string.format('%d', size))
end

-- The user index: a record of a user must be in the user's index with a
-- score (horizon) no earlier than its expiry before it is written.
local fuid = m[3] or ''
if create then fuid = '' end
if setuser then fuid = uid end
local dies = ttl == '0'
local x = 0
if fuid ~= '' and not dies then
  if not create and not NK and fuid == (m[3] or '') then x = tonumber(m[4]) or 0 end
  if iuser ~= '' and iuser == fuid then x = math.max(x, tonumber(ihz)) end
  local fexp = exp
  if fexp == '' then fexp = m[1] end
  if msceil(fexp) > x then return {'NEEDINDEX', fuid, fexp} end
end

-- Every check passed: write.
local function batch(cmd, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, K, unpack(list, i, math.min(i + 999, #list)))
  end
end
local function applied()
  if id ~= '' then redis.call('SET', MK, '1', 'PX', window) end
  return 'OK'
end
if create or dies then redis.call('DEL', K) end
if dies then return applied() end
if clear and not create then
  local fields, vals = redis.call('HKEYS', K), {}
  for _, f in ipairs(fields) do
    if f:sub(1, 2) == 'v:' then vals[#vals + 1] = f end
  end
  batch('HDEL', vals)
end
batch('HDEL', dels)
batch('HSET', sets)
local meta, rm = {'_s', at, '_n', string.format('%d', size)}, {}
if create then
  if created == '' then created = at end
  meta[#meta + 1] = '_c'
  meta[#meta + 1] = created
end
if exp ~= '' then
  meta[#meta + 1] = '_e'
  meta[#meta + 1] = exp
end
local function put(f, v)
  if v ~= '' then
    meta[#meta + 1] = f
    meta[#meta + 1] = v
  elseif not create then
    rm[#rm + 1] = f
  end
end
if setuser then
  put('_u', uid)
  put('_ip', ip)
  put('_ua', ua)
end
if fuid ~= '' then put('_x', string.format('%d', x)) else put('_x', '') end
batch('HSET', meta)
batch('HDEL', rm)
if ttl ~= '' then redis.call('PEXPIRE', K, ttl) end
if NK then redis.call('RENAME', K, NK) end
return applied()
`)

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
