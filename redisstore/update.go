package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// The hot path of Apply: a plain update (no create, no Clear, no SetUser, no
// Push, no rename) runs updateScript, a lean script for the common request
// (load, then set or increment a few values and touch the expiry). It keeps
// every rule of applyScript for such a change and writes exactly what
// applyScript would; whatever is out of its easy case (a stored value it
// increments longer than maxUpdateDigits, a record from before _n, an
// unusual _x) makes it reply "FALLBACK" before it has taken the change's
// marker or written anything, and Apply then runs applyScript. The numbers
// below are what a script of it cost Redis 7.0 (callgrind, per call): about
// half the instructions of applyScript for the same change, most of the
// difference being Lua code of applyScript's own (argument decoding, mode
// parsing, closures, pcall, string.format).

// maxUpdateCount is the most fields of each kind (set, deleted, incremented)
// a change may touch to take updateScript: its counts argument packs the
// three in one decimal number, three digits each.
const maxUpdateCount = 999

// maxUpdateDigits is the longest amount, and stored value, that
// updateScript adds: two numbers of at most 13 characters sum to less than
// 10^14 in magnitude, exact in a double and printed by Lua ("%.14g") as the
// decimal integer string.format('%d') gives.
const maxUpdateDigits = 13

// fallback is updateScript's reply when applyScript must apply the change.
const fallback = "FALLBACK"

// updateArgs returns the KEYS and ARGV of updateScript for the change c at
// the store's time now, keys being applyScript's (the record and the
// change's marker), with the keys of the increments in the order the script
// numbers them. It reports false when c is not a plain update that
// updateScript takes.
//
// ARGV: the store's clock (ns), the change's time (ns, "" for the store's
// clock), the new expiry (ns, "" to keep), the new TTL (ms, "" to keep), the
// largest record (store.Size, 0 for none), store.Size of the values set,
// the counts of fields set, deleted and incremented (packed: 10^6 sets +
// 10^3 deletes + increments), the touched fields (sets, deletes,
// increments: the fields the script reads), the stored form of each value
// set, and the amount of each increment.
func (s *Store) updateArgs(c store.Change, now time.Time, keys []string) ([]string, []any, []string, bool) {
	if c.Create || c.Clear || c.SetUser || len(c.Push) > 0 || len(keys) != 2 {
		return nil, nil, nil, false
	}
	n := nanos(now)
	if n <= 0 {
		return nil, nil, nil, false // the script compares the clock as a positive decimal
	}
	exp, life := "", ""
	if !c.Expires.IsZero() {
		life = ttl(c.Expires, now)
		if life == "0" {
			return nil, nil, nil, false // the change deletes the record
		}
		exp = formatNanos(c.Expires)
	}
	f := fold(c)
	if f.pre != nil || len(f.sets) > maxUpdateCount || len(f.deleted) > maxUpdateCount || len(f.incrs) > maxUpdateCount {
		return nil, nil, nil, false
	}
	for _, by := range f.incrs {
		if by < -999_999_999_999 || by > 9_999_999_999_999 { // more than maxUpdateDigits characters
			return nil, nil, nil, false
		}
	}
	var at any = ""
	if !c.Now.IsZero() {
		at = formatNanos(c.Now)
	}
	touched := len(f.sets) + len(f.deleted) + len(f.incrs)
	args := make([]any, 7+touched+len(f.sets)+len(f.incrs))
	args[0], args[1], args[2], args[3] = strconv.FormatInt(n, 10), at, exp, life
	args[4], args[5] = s.boxedMaxSize, store.Size(f.sets)
	args[6] = len(f.sets)*1_000_000 + len(f.deleted)*1000 + len(f.incrs)
	i, v := 7, 7+touched
	for k, val := range f.sets {
		args[i], args[v] = valuePrefix+k, s.compress(val)
		i, v = i+1, v+1
	}
	for k := range f.deleted {
		args[i] = valuePrefix + k
		i++
	}
	var incrKeys []string
	if len(f.incrs) > 0 {
		incrKeys = make([]string, 0, len(f.incrs))
	}
	for k, by := range f.incrs {
		args[i] = valuePrefix + k
		args[v], _, _ = incrArgs(by)
		incrKeys = append(incrKeys, k)
		i, v = i+1, v+1
	}
	if c.ID == "" {
		keys = keys[:1]
	}
	return keys, args, incrKeys, true
}

// update runs updateScript for c, when c is a plain update (see updateArgs).
// It reports done when the script answered the change (applied it, found it
// applied before, or failed it: err), and otherwise, when the script asks
// for it, the user and expiry (Unix ns) of an index entry to write before
// applyScript runs; with neither, applyScript takes the change as it is.
func (s *Store) update(ctx context.Context, op string, keys []string, c store.Change, now time.Time) (done bool, uid string, exp int64, err error) {
	keys, args, incrKeys, ok := s.updateArgs(c, now, keys)
	if !ok {
		return false, "", 0, nil
	}
	var res any
	err = s.call(ctx, op, c.ID != "", func(ctx context.Context) error {
		var err error
		res, err = updateScript.Run(ctx, s.hot, keys, args...).Result()
		return err
	})
	if err != nil {
		return true, "", 0, s.scriptErr(ctx, op, err, scriptArgs{incrKeys: incrKeys})
	}
	if res == fallback {
		return false, "", 0, nil
	}
	if uid, exp, ok := needIndex(res); ok {
		return false, uid, exp, nil
	}
	return true, "", 0, nil
}

// updateScript applies the plain update that updateArgs lays out to the
// record KEYS[1], at most once per change ID when there is a marker key,
// KEYS[2]. It writes what applyScript would for the same change, in the
// same commands (HMGET; SET of the marker; HDEL, HSET, PEXPIRE), and gives
// the same replies ("OK", NEEDINDEX, SESAME_NOTFOUND, SESAME_NOTNUMBER <i>,
// SESAME_TOOLARGE <size>) in the same order, or "FALLBACK" (nothing read
// was unusual enough to matter yet: no marker taken, nothing written).
//
// It works out its reply before it takes the marker, so nothing between
// the SET and the reply can fail (no pcall): a reply that does not apply the
// change deletes the marker again. It calls few C functions: no closures,
// no string.format on the way to "OK" (a sum or a size below 10^14 in
// magnitude prints exactly by concatenation), numbers from Go coerced by
// arithmetic instead of tonumber. The clock (ARGV[1]) is a positive decimal
// without leading zeros, so whether the record is live is two comparisons.
var updateScript = redis.NewScript(updateSource)

// updateSource is the source of updateScript.
var updateSource = `
local K, MK = KEYS[1], KEYS[2]
local now, exp = ARGV[1], ARGV[3]
local c = ARGV[7] + 0
local ni = c % 1000
c = (c - ni) / 1000
local nd = c % 1000
local ns = (c - nd) / 1000
local nt = ns + nd + ni

-- m: _e, _m, the tombstone, _n, _u, _x, _i, then the touched fields' values.
local m
if nt == 1 then
  m = redis.call('HMGET', K, '_e', '_m', 'v:` + store.GoneField + `', '_n', '_u', '_x', '_i', ARGV[8])
else
  m = redis.call('HMGET', K, '_e', '_m', 'v:` + store.GoneField + `', '_n', '_u', '_x', '_i', unpack(ARGV, 8, 7 + nt))
end

-- Work out the reply (fail) or the writes (w, dels, size) first.
local e, fail, w, nw, dels, size, n0 = m[1], nil, nil, 0, nil, nil, nil
if not e or m[2] or m[3] or not (#e == #now and now < e or #e > #now and string.byte(e, 1) ~= 45) then
  -- Missing, expired, moving, or a tombstone: the session ended.
  fail = redis.error_reply('SESAME_NOTFOUND')
else
  n0 = tonumber(m[4])
  if not n0 then return '` + fallback + `' end -- a record from before _n
  -- The record's size (store.Size) without the touched values (a
  -- compressed one keeps its length in its gzip trailer), with the values
  -- set (ARGV[6]), then the increments.
  size = n0 + ARGV[6]
  for i = 1, nt do
    local v = m[7 + i]
    if v then
      local n = #v
      if n >= 18 then
        local a, b = string.byte(v, 1, 2)
        if a == 31 and b == 139 then
          local x, y, z, t = string.byte(v, -4, -1)
          n = x + y * 256 + z * 65536 + t * 16777216
        end
      end
      size = size - (#ARGV[7 + i] - 2) - n
    end
  end
  w = {}
  local p = 8 + nt
  for i = 1, ns do
    w[nw + 1], w[nw + 2], nw = ARGV[7 + i], ARGV[p], nw + 2
    p = p + 1
  end
  for i = ns + 1, ns + nd do
    if m[7 + i] then
      dels = dels or {}
      dels[#dels + 1] = ARGV[7 + i]
    end
  end
  for i = 1, ni do
    local j = 7 + ns + nd + i
    local f, v, by = ARGV[j], m[j], ARGV[p]
    local r
    if not v or v == '' or v == '0' or v == '-0' then
      r = by
    elseif #v > ` + strconv.Itoa(maxUpdateDigits) + ` then
      return '` + fallback + `'
    elseif not string.find(v, '^%-?[1-9]%d*$') then
      fail = redis.error_reply('SESAME_NOTNUMBER ' .. i)
      break
    else
      r = (v + by) .. ''
    end
    w[nw + 1], w[nw + 2], nw = f, r, nw + 2
    size = size + #f - 2 + #r
    p = p + 1
  end
  local maxsize = ARGV[5] + 0
  if not fail and maxsize > 0 and size > maxsize then
    fail = redis.error_reply('SESAME_TOOLARGE ' .. string.format('%d', size))
  end
  -- The user index: the record's expiry must not pass its horizon, _x (ms).
  local ou, ox = m[5], m[6]
  if fail then
  elseif ou and ou ~= '' then
    if not ox or #ox > 15 or not string.find(ox, '^[1-9]%d*$') then return '` + fallback + `' end
    local fexp = exp
    if fexp == '' then
      fexp = e
      local ms = 0
      if string.byte(fexp, 1) ~= 45 and fexp ~= '0' then
        ms = tonumber(fexp:sub(1, -7)) or 0
        if #fexp <= 6 or fexp:sub(-6) ~= '000000' then ms = ms + 1 end
      end
      if ms > ox + 0 then fail = {'NEEDINDEX', ou, fexp} end
    else
      -- A positive expiry (ns) past the horizon (ms), compared as decimals.
      local hz = ox .. '000000'
      if #hz < #fexp or #hz == #fexp and hz < fexp then fail = {'NEEDINDEX', ou, fexp} end
    end
  elseif ox then
    dels = dels or {}
    dels[#dels + 1] = '_x'
  end
  if not fail and size ~= n0 and (size % 1 ~= 0 or size >= 1e14 or size <= -1e14) then return '` + fallback + `' end
end

if MK and not redis.call('SET', MK, '1', 'NX', 'PX', '` + windowMillis + `') then return 'OK' end
if fail then
  if MK then redis.call('DEL', MK) end
  return fail
end
if m[7] then
  dels = dels or {}
  dels[#dels + 1] = '_i' -- the create is over: no repeat of it can come
end
if dels then redis.call('HDEL', K, unpack(dels)) end
local at = ARGV[2]
if at == '' then at = now end
w[nw + 1], w[nw + 2], nw = '_s', at, nw + 2
if size ~= n0 then w[nw + 1], w[nw + 2], nw = '_n', size .. '', nw + 2 end
if exp ~= '' then w[nw + 1], w[nw + 2] = '_e', exp end
redis.call('HSET', K, unpack(w))
local ttl = ARGV[4]
if ttl ~= '' then redis.call('PEXPIRE', K, ttl) end
return 'OK'
`
