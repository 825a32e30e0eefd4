package redisstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// The hot path of Apply: a plain update (no create, no Clear, no SetUser, no
// Push, no rename) runs updateScript, a lean script for the common request
// (load, then set or increment a few values and touch the expiry). It keeps
// every rule of applyScript for such a change and writes exactly what
// applyScript would; what is out of its easy case (a stored value it
// increments longer than 15 characters, a record from before _n, an
// unusual _x) makes it reply "FALLBACK" before it has taken the change's
// marker or written anything, and Apply then runs applyScript.
//
// For the benchmark's WRITE (an increment and a touch, with a change ID) it
// costs Redis about a third fewer instructions than applyScript. Most of
// what it saves is Lua code of applyScript's own (argument decoding, mode
// parsing, closures, pcall), and arguments: each costs Redis about a
// thousand instructions (parsing, an sds, a Lua string), so updateScript
// takes 5 fixed ones where applyScript takes 11, an increment 1 instead of 3,
// and the size limit is part of the script's text (one script per limit).

// maxUpdateCount is the most fields of each kind (set, deleted, incremented)
// a change may touch to take updateScript: its shape argument packs the
// three counts in one decimal number, three digits each.
const maxUpdateCount = 999

// maxUpdateAdd bounds the size of the values an update sets for it to take
// updateScript: the shape argument holds it times 10^9, which must stay an
// exact double (below 2^53).
const maxUpdateAdd = 9_000_000

// fallback is updateScript's reply when applyScript must apply the change.
const fallback = "FALLBACK"

// updateArgs returns the KEYS and ARGV of updateScript for the change c at
// the store's time now, keys being applyScript's (the record and the
// change's marker), with the keys of the increments in the order the script
// numbers them. It reports false when c is not a plain update that
// updateScript takes.
//
// ARGV: the store's clock (ns), the change's time (ns), the new expiry (ns,
// "" to keep), the new TTL (ms, "" to keep), the shape of the change
// (10^9 times store.Size of the values it sets, plus 10^6 times the number
// of fields set, 10^3 times the number deleted, and the number
// incremented), then the touched fields (sets, deletes, increments: the
// fields the script reads), the stored form of each value set, and the
// amount of each increment.
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
		if by < -99_999_999_999_999 || by > 999_999_999_999_999 { // more than 15 characters
			return nil, nil, nil, false
		}
	}
	add := store.Size(f.sets)
	if add > maxUpdateAdd {
		return nil, nil, nil, false
	}
	nows := strconv.FormatInt(n, 10)
	at := nows
	if !c.Now.IsZero() {
		at = formatNanos(c.Now)
	}
	touched := len(f.sets) + len(f.deleted) + len(f.incrs)
	args := make([]any, 5+touched+len(f.sets)+len(f.incrs))
	args[0], args[1], args[2], args[3] = nows, at, exp, life
	args[4] = add*1_000_000_000 + len(f.sets)*1_000_000 + len(f.deleted)*1000 + len(f.incrs)
	i, v := 5, 5+touched
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
		res, err = s.updateScript.Run(ctx, s.hot, keys, args...).Result()
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

// newUpdateScript returns updateScript for records of at most maxSize
// (store.Size).
func newUpdateScript(maxSize int) *redis.Script {
	return redis.NewScript(strings.Replace(updateSource, "MAXSIZE", strconv.Itoa(maxSize), 1))
}

// updateSource is the source of updateScript, which applies the plain
// update that updateArgs lays out to the record KEYS[1], at most once per
// change ID when there is a marker key, KEYS[2]; MAXSIZE stands for the
// largest record (store.Size). It writes what applyScript would for the
// same change, in the same commands (HMGET; SET of the marker; HDEL, HSET,
// PEXPIRE), and gives the same replies ("OK", NEEDINDEX, SESAME_NOTFOUND,
// SESAME_NOTNUMBER <i>, SESAME_TOOLARGE <size>) in the same order, or
// "FALLBACK" (no marker taken, nothing written).
//
// It works out its reply before it takes the marker, so nothing between
// the SET and the reply can fail (no pcall): a reply that does not apply the
// change deletes the marker again. It calls few C functions and makes few
// tables: no closures, no table for the HSET of a change of one value;
// numbers from Go are coerced by arithmetic instead of tonumber. The clock (ARGV[1]) is a
// positive decimal without leading zeros, so whether the record is live is
// two comparisons.
var updateSource = `
local K, MK = KEYS[1], KEYS[2]
local now, exp = ARGV[1], ARGV[3]
local c = ARGV[5] + 0
local ni = c % 1000
c = (c - ni) / 1000
local nd = c % 1000
c = (c - nd) / 1000
local ns = c % 1000
local add = (c - ns) / 1000
local nt = ns + nd + ni

-- m: _e, _m, the tombstone, _n, _u, _x, _i, then the touched fields' values.
local m
if nt == 1 then
  m = redis.call('HMGET', K, '_e', '_m', 'v:` + store.GoneField + `', '_n', '_u', '_x', '_i', ARGV[6])
else
  m = redis.call('HMGET', K, '_e', '_m', 'v:` + store.GoneField + `', '_n', '_u', '_x', '_i', unpack(ARGV, 6, 5 + nt))
end

-- Work out the reply (fail) or the writes (w, dels, size) first.
-- The first field written and its value are f1, v1; the others go in w
-- (a table costs Redis a few thousand instructions).
local e, fail, f1, v1, w, nw, dels, size, n0 = m[1], nil, nil, nil, nil, 0, nil, nil, nil
if not e or m[2] or m[3] or not (#e == #now and now < e or #e > #now and string.byte(e, 1) ~= 45) then
  -- Missing, expired, moving, or a tombstone: the session ended.
  fail = redis.error_reply('SESAME_NOTFOUND')
else
  n0 = tonumber(m[4])
  if not n0 then return '` + fallback + `' end -- a record from before _n
  -- The record's size (store.Size) without the touched values (a
  -- compressed one keeps its length in its gzip trailer), with the values
  -- set, then the increments.
  size = n0 + add
  for i = 6, 5 + nt do
    local v = m[2 + i]
    if v then
      local n = #v
      if n >= 18 then
        local a, b = string.byte(v, 1, 2)
        if a == 31 and b == 139 then
          local x, y, z, t = string.byte(v, -4, -1)
          n = x + y * 256 + z * 65536 + t * 16777216
        end
      end
      size = size - (#ARGV[i] - 2) - n
    end
  end
  local p = 6 + nt
  for i = 6, 5 + ns do
    if not f1 then
      f1, v1 = ARGV[i], ARGV[p]
    else
      w = w or {}
      w[nw + 1], w[nw + 2], nw = ARGV[i], ARGV[p], nw + 2
    end
    p = p + 1
  end
  for i = 6 + ns, 5 + ns + nd do
    if m[2 + i] then
      dels = dels or {}
      dels[#dels + 1] = ARGV[i]
    end
  end
  for i = 1, ni do
    local j = 5 + ns + nd + i
    local f, v, by = ARGV[j], m[2 + j], ARGV[p]
    local r
    if not v or v == '' or v == '0' or v == '-0' then
      r = by
    elseif #v > 15 then
      return '` + fallback + `'
    elseif not string.find(v, '^%-?[1-9]%d*$') then
      fail = redis.error_reply('SESAME_NOTNUMBER ' .. i)
      break
    else
      -- Below 10^15 a double is exact and the sum cannot leave int64.
      r = string.format('%d', v + by)
    end
    if not f1 then
      f1, v1 = f, r
    else
      w = w or {}
      w[nw + 1], w[nw + 2], nw = f, r, nw + 2
    end
    size = size + #f - 2 + #r
    p = p + 1
  end
  if not fail and size > MAXSIZE then
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
if w or not f1 then
  w = w or {}
  w[nw + 1], w[nw + 2], nw = '_s', at, nw + 2
  if size ~= n0 then w[nw + 1], w[nw + 2], nw = '_n', string.format('%d', size), nw + 2 end
  if exp ~= '' then w[nw + 1], w[nw + 2], nw = '_e', exp, nw + 2 end
  if f1 then
    redis.call('HSET', K, f1, v1, unpack(w, 1, nw))
  else
    redis.call('HSET', K, unpack(w, 1, nw))
  end
elseif size ~= n0 then
  if exp ~= '' then
    redis.call('HSET', K, f1, v1, '_s', at, '_n', string.format('%d', size), '_e', exp)
  else
    redis.call('HSET', K, f1, v1, '_s', at, '_n', string.format('%d', size))
  end
elseif exp ~= '' then
  redis.call('HSET', K, f1, v1, '_s', at, '_e', exp)
else
  redis.call('HSET', K, f1, v1, '_s', at)
end
if ARGV[4] ~= '' then redis.call('PEXPIRE', K, ARGV[4]) end
return 'OK'
`
