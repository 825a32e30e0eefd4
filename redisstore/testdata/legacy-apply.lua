-- The apply script of redisstore before the lean script (sesame up to
-- v0.x, commit 49c27c7), kept so that TestRollingDeploy can run old and new
-- instances against one record. Run with luaHelpers (scripts.go) before it.

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

local m = redis.call('HMGET', K, '_e', '_n', '_u', '_x', '_m', 'v:__gone')
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
