package redisstore

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// An Apply is one run of applyScript. Everything about a change that does not
// depend on the stored record is worked out here, in Go (applyArgs): values
// that the change sets, deletes or clears, and increments and pushes onto
// them, are computed with store.AddInt and store.AppendJSON. The script then
// reads only the record's metadata and the values the change replaces,
// increments or appends to (one HMGET), checks, and writes (one HSET, plus an
// HDEL for deleted keys and a PEXPIRE for a touch). A plain update runs the
// lean updateScript first (update.go), which hands the change to applyScript
// only when it is outside its easy case.

// maxApplyRuns bounds the runs of applyScript per change: the first, and one
// more after each time the user index had to be extended or a compressed
// value had to be inflated for a push. More than that means the record keeps
// changing under us.
const maxApplyRuns = 6

// apply runs applyScript on keys (the record, the marker of c.ID, and the new
// key of an atomic rename), indexing member (the key the record ends up
// under) in its user's index as the script asks. With a change ID, a run
// whose reply was lost is sent again (the marker makes the repeat harmless);
// see [Store.call].
func (s *Store) apply(ctx context.Context, op string, keys []string, member string, c store.Change) error {
	now := s.now()
	var idx indexed
	// Logging in: the caller names the user and the expiry, so the index
	// entry can be written before the record, saving a round trip.
	if c.SetUser && c.UserID != "" && !c.Expires.IsZero() && c.Expires.After(now) {
		h := horizon(c.Expires, now)
		if err := s.index(ctx, c.UserID, member, h, now); err != nil {
			return fail(ctx, op, err)
		}
		idx = indexed{c.UserID, h}
	}
	dedup := op == "apply" && selfDedup(c, now)
	if dedup && len(keys) == 2 {
		done, err := s.createFast(ctx, op, keys[0], c, now)
		if err != nil || done {
			return err
		}
	}
	if !s.generalOnly {
		done, uid, exp, err := s.update(ctx, op, keys, c, now)
		if err != nil || done {
			return err
		}
		if uid != "" {
			h := horizon(time.Unix(0, exp), now)
			if err := s.index(ctx, uid, member, h, now); err != nil {
				return fail(ctx, op, err)
			}
			idx = indexed{uid, h}
		}
	}
	a := s.applyArgs(c, now, nil, idx, dedup)
	var plains []plainValue
	for range maxApplyRuns {
		var res any
		err := s.call(ctx, op, c.ID != "", func(ctx context.Context) error {
			var err error
			res, err = applyScript.Run(ctx, s.hot, keys, a.args...).Result()
			return err
		})
		if err != nil {
			return s.scriptErr(ctx, op, err, a)
		}
		if field, ok := needPlain(res); ok {
			// A push onto a compressed value: inflate it here and run
			// again with it; the script checks it is still the stored one.
			p, err := s.plain(ctx, op, keys[0], field)
			if err != nil {
				return err
			}
			if p.field != "" {
				plains = append(slices.DeleteFunc(plains, func(q plainValue) bool { return q.field == field }), p)
			}
			a = s.applyArgs(c, now, plains, idx, dedup)
			continue
		}
		uid, exp, ok := needIndex(res)
		if !ok {
			return nil
		}
		h := horizon(time.Unix(0, exp), now)
		if err := s.index(ctx, uid, member, h, now); err != nil {
			return fail(ctx, op, err)
		}
		idx = indexed{uid, h}
		a = s.applyArgs(c, now, plains, idx, dedup)
	}
	return fmt.Errorf("redisstore: %s: the record kept changing under the change: %w", op, store.ErrUnavailable)
}

// selfDedup reports whether the create c (at the store's time now) can keep
// its change ID in the record it creates (field _i) instead of a marker key,
// saving Redis a key and a third of the script's work: a repeat of the
// create then finds the record live with its ID and answers "OK". That
// holds as long as nobody else deletes the record while the create may
// still be repeated, that is while its Apply runs, and nobody else knows a
// key that is being created (sesame's are new random IDs). The store makes
// sure of the rest: the record is not a user's (whose sessions another
// device may delete), not a rename's target, and lives longer than
// [store.RetryWindow], so it cannot expire before a repeat. The first
// update of the record removes _i again.
func selfDedup(c store.Change, now time.Time) bool {
	return c.Create && c.ID != "" && !(c.SetUser && c.UserID != "") &&
		c.Expires.Sub(now) >= store.RetryWindow
}

// maxFastCreate is the most keys a session created by createFast may hold.
const maxFastCreate = 1000

// createFast creates the anonymous session c (see selfDedup) under the
// record key rkey with createScript, and reports whether it did. It leaves
// everything else to applyScript, by reporting false: a change that fails
// (the script reports the errors in the order of store.Merge), and a key
// under which Redis holds a record, live or dead, or the one a repeat of
// this create made (which applyScript finds by its ID, in _i).
func (s *Store) createFast(ctx context.Context, op, rkey string, c store.Change, now time.Time) (bool, error) {
	f := fold(c)
	if f.pre != nil || len(f.sets) > maxFastCreate {
		return false, nil
	}
	size := store.Size(f.sets)
	if size > s.maxSize {
		return false, nil
	}
	at := now
	if !c.Now.IsZero() {
		at = c.Now
	}
	created := at
	if !c.Created.IsZero() {
		created = c.Created
	}
	args := make([]any, 0, 15+2*len(f.sets))
	args = append(args, ttl(c.Expires, now))
	for k, v := range f.sets {
		args = append(args, valuePrefix+k, s.compress(v))
	}
	args = append(args, fieldLastSeen, formatNanos(at), fieldSize, size, fieldExpires, formatNanos(c.Expires),
		fieldCreated, formatNanos(created), fieldCreateID, c.ID)
	if c.SetUser && c.IP != "" {
		args = append(args, fieldIP, c.IP)
	}
	if c.SetUser && c.UserAgent != "" {
		args = append(args, fieldUserAgent, c.UserAgent)
	}
	var n int64
	err := s.call(ctx, op, true, func(ctx context.Context) error {
		var err error
		n, err = createScript.Run(ctx, s.hot, []string{rkey}, args...).Int64()
		return err
	})
	if err != nil {
		return false, s.scriptErr(ctx, op, err, scriptArgs{})
	}
	return n == 1, nil
}

// createScript creates the record KEYS[1] from the field and value pairs
// ARGV[2], ARGV[3], ... with the TTL ARGV[1] (ms) and replies 1, when Redis
// holds no key under KEYS[1]; otherwise it replies 0 and changes nothing.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`)

// indexed is an entry the caller has just written to a user's index: the
// user, and how far (Unix ms) it covers the record.
type indexed struct {
	user    string
	horizon int64
}

// plainValue is a compressed value inflated for a push: its field, the
// SHA-1 (hex) of its stored form, and the value.
type plainValue struct {
	field, sum string
	value      []byte
}

// plain reads the value of field in the record rkey and returns it
// inflated, or a zero plainValue when it is no longer compressed.
func (s *Store) plain(ctx context.Context, op, rkey, field string) (plainValue, error) {
	v, err := s.client.HGet(ctx, rkey, field).Bytes()
	if errors.Is(err, redis.Nil) {
		return plainValue{}, nil
	}
	if err != nil {
		return plainValue{}, fail(ctx, op, err)
	}
	if !store.IsCompressed(v) {
		return plainValue{}, nil
	}
	b, err := store.Decompress(v, s.maxSize)
	if err != nil {
		return plainValue{}, fmt.Errorf("redisstore: %s: value of key %q: %w", op, strings.TrimPrefix(field, valuePrefix), err)
	}
	sum := sha1.Sum(v)
	return plainValue{field: field, sum: hex.EncodeToString(sum[:]), value: b}, nil
}

// Positions in the ARGV of applyScript (0-based here, 1-based in Lua): the
// fixed arguments, then those the mode asks for, then the touched fields.
const (
	argWindow  = iota // how long (ms) the marker remembers the change; "" without a change ID
	argNow            // the store's clock (ns), which alone decides whether a record is live
	argAt             // the change's time (ns): _s, and _c on create
	argExpires        // the new expiry (ns), "" to keep
	argTTL            // the new TTL (ms), "" to keep, "0" when the result is dead
	argMaxSize        // the largest record (store.Size), 0 for none
	argMode           // see below
	argSets           // the number of fields set
	argDeletes        // the number of fields deleted
	argIncrs          // the number of stored values incremented
	argPushes         // the number of stored values appended to
	argFixed          // the number of fixed arguments
)

// The mode argument of applyScript starts with the kind of change: "u" an
// update, "x" an update with Clear, "c" a create. Letters after it add
// arguments, in this order, after the fixed ones: a Clear or a create the
// record's size after it (store.Size); a create its creation time (ns, ""
// for the change's time); "U" (the change sets the user) the user ID, IP and
// user agent; "I" (the caller has just written an index entry) the user and
// its horizon (ms); "D" (a create that keeps its change ID in the record
// instead of a marker key, see [Store.apply]) the change ID. A change with
// pushes adds the number of inflated values.
// "1" and "2" say that the script must reply SESAME_PRE after the
// existence checks, or after the stored increments: an error found here.
const (
	modeUpdate  = "u"
	modeClear   = "x"
	modeCreate  = "c"
	flagSetUser = "U"
	flagIndexed = "I"
	flagDedup   = "D"
	flagPre1    = "1"
	flagPre2    = "2"
)

// preError is the reply applyScript gives for the error found in this
// process ([scriptArgs.pre]) once the checks before it have passed.
const preError = "SESAME_PRE"

// scriptArgs is the ARGV of applyScript for a change, with the keys of the
// stored values it increments and appends to, in the order they were passed,
// and an error found in this process (pre) that the script reports in its
// place among its own checks, so that errors come in the order of
// [store.Merge]: ErrNotFound or ErrExists first, then ErrNotNumber, then
// ErrNotList.
type scriptArgs struct {
	args               []any
	incrKeys, pushKeys []string
	pre                error
}

// The bounds of int64, in decimal.
var (
	minInt64 = strconv.FormatInt(math.MinInt64, 10)
	maxInt64 = strconv.FormatInt(math.MaxInt64, 10)
)

// folded is a change folded by fold: the final values of the keys it sets,
// deletes or clears (increments and pushes onto them done), the stored
// values it deletes, increments and appends to, and the first error found.
type folded struct {
	sets    map[string][]byte
	deleted map[string]bool
	incrs   map[string]int64
	pushes  map[string]store.Append
	pre     error
	preFlag string // flagPre1 or flagPre2 when pre is set
}

// fold folds c: a key that c sets, deletes or clears (a create clears every
// key) gets its final value here, increments and pushes onto it included,
// so that the script only increments and appends to values it reads from
// the record.
func fold(c store.Change) folded {
	fresh := c.Create || c.Clear
	var sets map[string][]byte
	if n := len(c.Set) + len(c.Incr) + len(c.Push); n > 0 {
		sets = make(map[string][]byte, n)
	}
	for k, v := range c.Set {
		sets[k] = v
	}
	var deleted map[string]bool // keys whose stored value goes, unless set
	if !fresh && len(c.Delete) > 0 {
		deleted = make(map[string]bool, len(c.Delete))
		for _, k := range c.Delete {
			if _, ok := sets[k]; !ok {
				deleted[k] = true
			}
		}
	}
	// known reports whether the value of k before the increments and
	// pushes is known here: set, deleted or cleared.
	known := func(k string) bool {
		_, set := sets[k]
		return set || fresh || deleted[k]
	}
	var f folded
	var incrs map[string]int64
	for k, by := range c.Incr {
		if !known(k) {
			if incrs == nil {
				incrs = make(map[string]int64, len(c.Incr))
			}
			incrs[k] = by
			continue
		}
		n, err := store.AddInt(sets[k], by) // nil when deleted or cleared
		if err != nil {
			if f.pre == nil {
				f.pre, f.preFlag = fmt.Errorf("%w: key %q", err, k), flagPre1
			}
			continue
		}
		sets[k] = strconv.AppendInt(nil, n, 10)
		delete(deleted, k)
	}
	var pushes map[string]store.Append
	for k, p := range c.Push {
		if _, ok := incrs[k]; ok {
			// Appending to an integer: the change fails with ErrNotList
			// once the stored increments have passed.
			if f.pre == nil {
				f.pre, f.preFlag = fmt.Errorf("%w: key %q", store.ErrNotList, k), flagPre2
			}
			continue
		}
		if !known(k) {
			if pushes == nil {
				pushes = make(map[string]store.Append, len(c.Push))
			}
			pushes[k] = p
			continue
		}
		v, err := store.AppendJSON(sets[k], p.Values, p.Keep)
		if err != nil {
			if f.pre == nil {
				f.pre, f.preFlag = fmt.Errorf("%w: key %q", err, k), flagPre2
			}
			continue
		}
		sets[k] = v
		delete(deleted, k)
	}

	f.sets, f.deleted, f.incrs, f.pushes = sets, deleted, incrs, pushes
	return f
}

// applyArgs builds the ARGV of applyScript for c (folded by fold) at the
// store's time now, with the inflated values plains and the index entry idx
// the caller has written, keeping the change ID in the record when dedup is
// set (see selfDedup).
func (s *Store) applyArgs(c store.Change, now time.Time, plains []plainValue, idx indexed, dedup bool) scriptArgs {
	at := now
	if !c.Now.IsZero() {
		at = c.Now
	}
	fresh := c.Create || c.Clear
	f := fold(c)
	sets, deleted, incrs, pushes := f.sets, f.deleted, f.incrs, f.pushes
	a := scriptArgs{pre: f.pre}
	pre := f.preFlag
	touched := len(sets) + len(deleted) + len(incrs) + len(pushes)
	values := 2*len(sets) + 3*len(incrs) + 3*len(pushes) + 3*len(plains)
	args := make([]any, argFixed, argFixed+9+touched+values)
	args[argWindow] = ""
	if c.ID != "" {
		args[argWindow] = boxedWindow
	}
	args[argNow] = formatNanos(now)
	args[argAt] = formatNanos(at)
	args[argExpires], args[argTTL] = "", ""
	if !c.Expires.IsZero() {
		args[argExpires] = formatNanos(c.Expires)
		args[argTTL] = ttl(c.Expires, now)
	} else if c.Create {
		args[argTTL] = "0" // a record without expiry is dead on arrival
	}
	args[argMaxSize] = s.boxedMaxSize
	args[argSets], args[argDeletes], args[argIncrs], args[argPushes] = len(sets), len(deleted), len(incrs), len(pushes)
	mode := modeUpdate
	switch {
	case c.Create:
		mode = modeCreate
	case c.Clear:
		mode = modeClear
	}
	if fresh {
		args = append(args, store.Size(sets))
	}
	if c.Create {
		created := ""
		if !c.Created.IsZero() {
			created = formatNanos(c.Created)
		}
		args = append(args, created)
	}
	if c.SetUser {
		mode += flagSetUser
		args = append(args, c.UserID, c.IP, c.UserAgent)
	}
	if idx.user != "" {
		mode += flagIndexed
		args = append(args, idx.user, idx.horizon)
	}
	if dedup {
		mode += flagDedup
		args = append(args, c.ID)
		args[argWindow] = ""
	}
	if len(pushes) > 0 {
		args = append(args, len(plains))
	}
	mode += pre
	args[argMode] = mode
	if mode == modeUpdate {
		args[argMode] = boxedUpdate
	}

	// The touched fields first (the script reads them in one HMGET), then
	// what to do with each: fields go at i, their values at v.
	i := len(args)
	v := i + touched
	args = args[:v+values]
	for k, val := range sets {
		args[i], args[v], args[v+1] = valuePrefix+k, s.compress(val), len(val)
		i, v = i+1, v+2
	}
	for k := range deleted {
		args[i] = valuePrefix + k
		i++
	}
	if len(incrs) > 0 {
		a.incrKeys = make([]string, 0, len(incrs))
	}
	for k, by := range incrs {
		args[i] = valuePrefix + k
		args[v], args[v+1], args[v+2] = incrArgs(by)
		a.incrKeys = append(a.incrKeys, k)
		i, v = i+1, v+3
	}
	if len(pushes) > 0 {
		a.pushKeys = make([]string, 0, len(pushes))
	}
	for k, p := range pushes {
		args[i] = valuePrefix + k
		elems, keep := p.Values, max(p.Keep, 0)
		if keep > 0 && len(elems) > keep {
			elems = elems[len(elems)-keep:] // the older ones would be dropped anyway
		}
		args[v], args[v+1], args[v+2] = bytes.Join(elems, []byte{','}), len(elems), keep
		a.pushKeys = append(a.pushKeys, k)
		i, v = i+1, v+3
	}
	for _, p := range plains {
		args[v], args[v+1], args[v+2] = p.field, p.sum, p.value
		v += 3
	}
	a.args = args
	return a
}

// Arguments boxed once: converting a string to an interface allocates.
var (
	boxedWindow any = windowMillis
	boxedUpdate any = modeUpdate
)

// smallIncrs holds incrArgs for the increments from -smallIncr to
// smallIncr, the common ones.
const smallIncr = 8

var smallIncrs = func() (t [2*smallIncr + 1][3]any) {
	for by := int64(-smallIncr); by <= smallIncr; by++ {
		t[by+smallIncr][0], t[by+smallIncr][1], t[by+smallIncr][2] = incrArgsOf(by)
	}
	return t
}()

// incrArgs returns the script's arguments for an increment by by: the
// amount, and the lowest and highest stored value n for which n + by fits
// int64.
func incrArgs(by int64) (any, any, any) {
	if by >= -smallIncr && by <= smallIncr {
		t := &smallIncrs[by+smallIncr]
		return t[0], t[1], t[2]
	}
	return incrArgsOf(by)
}

func incrArgsOf(by int64) (any, any, any) {
	lo, hi := minInt64, maxInt64
	if by >= 0 {
		hi = strconv.FormatInt(math.MaxInt64-by, 10)
	} else {
		lo = strconv.FormatInt(math.MinInt64-by, 10)
	}
	return strconv.FormatInt(by, 10), lo, hi
}

// needIndex reports whether applyScript's reply asks for the user index to
// be extended, and for which user and expiry (Unix ns).
func needIndex(res any) (userID string, exp int64, ok bool) {
	a, isSlice := res.([]any)
	if !isSlice || len(a) != 3 || a[0] != "NEEDINDEX" {
		return "", 0, false
	}
	userID, _ = a[1].(string)
	es, _ := a[2].(string)
	exp, err := strconv.ParseInt(es, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return userID, exp, true
}

// needPlain reports whether applyScript's reply asks for the compressed
// value of a field to be inflated for a push, and which field.
func needPlain(res any) (field string, ok bool) {
	a, isSlice := res.([]any)
	if !isSlice || len(a) != 2 || a[0] != "NEEDPLAIN" {
		return "", false
	}
	field, ok = a[1].(string)
	return field, ok
}

// scriptErr turns an error of applyScript (run with a) or of moveScript (a
// zero scriptArgs) into the store's errors.
func (s *Store) scriptErr(ctx context.Context, op string, err error, a scriptArgs) error {
	if rerr := redis.Error(nil); errors.As(err, &rerr) {
		// Redis 7 puts "ERR " before the script's error reply; older
		// servers do not.
		msg := strings.TrimPrefix(rerr.Error(), "ERR ")
		nth := func(code string, keys []string, sentinel error) error {
			i, _ := strconv.Atoi(strings.TrimPrefix(msg, code))
			if i >= 1 && i <= len(keys) {
				return fmt.Errorf("redisstore: %s: %w: key %q", op, sentinel, keys[i-1])
			}
			return fmt.Errorf("redisstore: %s: %w", op, sentinel)
		}
		switch {
		case strings.HasPrefix(msg, "SESAME_NOTFOUND"):
			return fmt.Errorf("redisstore: %s: %w", op, store.ErrNotFound)
		case strings.HasPrefix(msg, "SESAME_EXISTS"):
			return fmt.Errorf("redisstore: %s: %w", op, store.ErrExists)
		case msg == preError && a.pre != nil:
			return fmt.Errorf("redisstore: %s: %w", op, a.pre)
		case strings.HasPrefix(msg, "SESAME_NOTNUMBER "):
			return nth("SESAME_NOTNUMBER ", a.incrKeys, store.ErrNotNumber)
		case strings.HasPrefix(msg, "SESAME_NOTLIST "):
			return nth("SESAME_NOTLIST ", a.pushKeys, store.ErrNotList)
		case strings.HasPrefix(msg, "SESAME_TOOLARGE "):
			size := strings.TrimPrefix(msg, "SESAME_TOOLARGE ")
			return fmt.Errorf("redisstore: %s: %w: session would be %s bytes, the limit is %d", op, store.ErrTooLarge, size, s.maxSize)
		}
	}
	return fail(ctx, op, err)
}

// applyScript applies a change folded by applyArgs to the record KEYS[1], at
// most once per change ID: KEYS[2] is the change's marker key (in the
// record's slot). With a third key it then renames the record to KEYS[3]
// (the atomic rename of a single-node client). ARGV is laid out as the arg*
// constants say, followed by the touched fields (sets, deletes, increments,
// pushes: the fields the script reads), then (stored value, raw length) per
// set, (amount, lowest and highest stored value the sum fits int64 for) per
// increment, (elements joined by commas, number of elements, keep) per
// push, and (field, SHA-1 of its stored compressed form, inflated value) per
// inflated value.
//
// The script reads first, so that a record of the wrong type fails it before
// anything is written. It then takes the marker (SET NX): when the marker
// exists the change was applied before and the reply is "OK" at once. Every
// reply that does not apply the change deletes the marker again, and so does
// a runtime error (pcall): a failed change is never remembered as applied.
//
// Replies: "OK"; {"NEEDINDEX", user, expires} when the result belongs to a
// user and its expiry is past what the user index covers for this key (the
// caller indexes it and runs the script again); {"NEEDPLAIN", field} when a
// push targets a compressed value the caller has not inflated (the caller
// does, and runs the script again with it); or an error reply SESAME_EXISTS,
// SESAME_NOTFOUND, SESAME_PRE (the error applyArgs found),
// SESAME_NOTNUMBER <i> (the i-th stored increment), SESAME_NOTLIST <i> (the
// i-th stored push) or SESAME_TOOLARGE <size>. Nothing is written before
// every check passed.
//
// Increments keep the rules of store.AddInt without arbitrary precision:
// the stored value must be a JSON integer (the pattern) within the bounds
// Go computed (compared as decimals: Lua numbers are doubles, exact only up
// to 2^53); sums of numbers of at most 15 characters are exact in a double,
// longer ones are added in two limbs of nine digits.
var applyScript = redis.NewScript(`
-- Every call of a C function (string.byte, tonumber, string.format, ...)
-- costs Redis hundreds of instructions: the hot paths (an update of
-- increments and sets with a touch; a create) make few.
local byte, find, fmt = string.byte, string.find, string.format
local K, MK, NK = KEYS[1], KEYS[2], KEYS[3]
local win, now, mode = ARGV[1], ARGV[2], ARGV[7]
local create, fresh, clear = false, false, false
local ns, nd, ni, np = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
ns = (ns == '0' and 0) or (ns == '1' and 1) or tonumber(ns)
nd = (nd == '0' and 0) or (nd == '1' and 1) or tonumber(nd)
ni = (ni == '0' and 0) or (ni == '1' and 1) or tonumber(ni)
np = (np == '0' and 0) or (np == '1' and 1) or tonumber(np)
local F = 11
local fsize, created, setuser, uid, ip, ua, iuser, ihz, selfid, npl, pre1, pre2
if mode ~= 'u' then
  local kind = byte(mode, 1)
  create, clear = kind == 99, kind == 120 -- 'c', 'x'
  fresh = create or clear
  if fresh then fsize, F = ARGV[F + 1], F + 1 end
  if create then created, F = ARGV[F + 1], F + 1 end
  if #mode > 1 then
    if find(mode, 'U', 2, true) then setuser, uid, ip, ua, F = true, ARGV[F + 1], ARGV[F + 2], ARGV[F + 3], F + 3 end
    if find(mode, 'I', 2, true) then iuser, ihz, F = ARGV[F + 1], ARGV[F + 2], F + 2 end
    if find(mode, 'D', 2, true) then selfid, F = ARGV[F + 1], F + 1 end
    pre1, pre2 = find(mode, '1', 2, true), find(mode, '2', 2, true)
  end
end
if np > 0 then npl, F = tonumber(ARGV[F + 1]), F + 1 end
local nt = ns + nd + ni + np

-- before reports whether a < b for canonical signed decimal strings.
local function before(a, b)
  local na, nb = byte(a, 1) == 45, byte(b, 1) == 45
  if na ~= nb then return na end
  if #a ~= #b then return (#a < #b) ~= na end
  if na then return b < a end
  return a < b
end

-- m: _e, _m, the tombstone, _n, _u, _x, _i, then the touched fields' values.
local m
if fresh or nt == 0 then
  m = redis.call('HMGET', K, '_e', '_m', 'v:` + store.GoneField + `', '_n', '_u', '_x', '_i')
elseif nt <= 4000 then
  m = redis.call('HMGET', K, '_e', '_m', 'v:` + store.GoneField + `', '_n', '_u', '_x', '_i', unpack(ARGV, F + 1, F + nt))
else
  m = redis.call('HMGET', K, '_e', '_m', 'v:` + store.GoneField + `', '_n', '_u', '_x', '_i')
  for i = 1, nt, 4000 do
    local r = redis.call('HMGET', K, unpack(ARGV, F + i, F + math.min(i + 3999, nt)))
    for j = 1, #r do m[6 + i + j] = r[j] end
  end
end
local live = m[1] and not m[2] and before(now, m[1])
-- A change applied before: its marker exists, or it is a create that
-- keeps its ID in the record (_i) and the record is live.
if selfid and live and m[7] == selfid then return 'OK' end
if win ~= '' and not redis.call('SET', MK, '1', 'NX', 'PX', win) then return 'OK' end

local function fail(r)
  if win ~= '' then redis.call('DEL', MK) end
  return r
end
local function err(s) return fail(redis.error_reply(s)) end
-- rawlen is the length of a stored value before compression: gzip keeps it
-- in its last four bytes (ISIZE, little-endian).
local function rawlen(v)
  if #v >= 18 then
    local a, b = byte(v, 1, 2)
    if a == 31 and b == 139 then
      local w, x, y, z = byte(v, -4, -1)
      return w + x * 256 + y * 65536 + z * 16777216
    end
  end
  return #v
end

local function run()
  if create then
    if live then return err('SESAME_EXISTS') end
  elseif not live or m[3] then
    -- Missing, expired, moving, or a tombstone: the session ended.
    return err('SESAME_NOTFOUND')
  end
  if NK then
    local n = redis.call('HMGET', NK, '_e', '_m')
    if n[1] and not n[2] and before(now, n[1]) then return err('SESAME_EXISTS') end
  end
  if pre1 then return err('SESAME_PRE') end

  -- The record's size (store.Size) without the touched values, then with
  -- their new ones; n0 is the size it had.
  local size, n0
  if fresh then
    size = tonumber(fsize)
  else
    n0 = tonumber(m[4])
    size = n0
    if not size then -- a record from before _n
      size = 0
      local all = redis.call('HGETALL', K)
      for i = 1, #all, 2 do
        if all[i]:sub(1, 2) == 'v:' then size = size + #all[i] - 2 + rawlen(all[i + 1]) end
      end
    end
    for i = 1, nt do
      local v = m[7 + i]
      if v then size = size - (#ARGV[F + i] - 2) - rawlen(v) end
    end
  end

  local w, dels, p = {}, nil, F + nt + 1
  for i = 1, ns do
    local f = ARGV[F + i]
    w[#w + 1], w[#w + 2] = f, ARGV[p]
    if not fresh then size = size + #f - 2 + tonumber(ARGV[p + 1]) end
    p = p + 2
  end
  for i = ns + 1, ns + nd do
    if m[7 + i] then
      dels = dels or {}
      dels[#dels + 1] = ARGV[F + i]
    end
  end
  for i = 1, ni do
    local j = ns + nd + i
    local f, v, by = ARGV[F + j], m[7 + j], ARGV[p]
    local r
    if not v or v == '' or v == '0' or v == '-0' then
      r = by
    elseif #v <= 15 and #by <= 15 then
      -- Below 10^15 a double is exact and the sum cannot leave int64.
      if not find(v, '^%-?[1-9]%d*$') then return err('SESAME_NOTNUMBER ' .. i) end
      r = fmt('%d', tonumber(v) + tonumber(by))
    elseif not find(v, '^%-?[1-9]%d*$') or before(v, ARGV[p + 1]) or before(ARGV[p + 2], v) then
      return err('SESAME_NOTNUMBER ' .. i) -- not an integer, or the sum would leave int64
    else
      -- Two limbs of nine digits each, added with carries; the bounds
      -- checked above rule out an overflow.
      local function limbs(s)
        local sg = 1
        if byte(s, 1) == 45 then sg, s = -1, s:sub(2) end
        return sg * (tonumber(s:sub(1, -10)) or 0), sg * tonumber(s:sub(-9))
      end
      local ah, al = limbs(v)
      local bh, bl = limbs(by)
      local h, l = ah + bh, al + bl
      if l >= 1e9 then h, l = h + 1, l - 1e9 elseif l <= -1e9 then h, l = h - 1, l + 1e9 end
      if h > 0 and l < 0 then h, l = h - 1, l + 1e9 elseif h < 0 and l > 0 then h, l = h + 1, l - 1e9 end
      if h == 0 then r = fmt('%d', l) else r = fmt('%d%09d', h, math.abs(l)) end
    end
    w[#w + 1], w[#w + 2] = f, r
    size = size + #f - 2 + #r
    p = p + 3
  end
  if pre2 then return err('SESAME_PRE') end
  if np > 0 then
    local plain = {}
    local q = p + 3 * np
    for i = 1, npl do
      plain[ARGV[q]] = {ARGV[q + 1], ARGV[q + 2]}
      q = q + 3
    end
    -- split mirrors Go's store.splitArray: it returns the bounds (start,
    -- end, start, end, ...; inclusive, white space trimmed) of the
    -- top-level elements of the JSON array v, or nil when v is not one. It
    -- jumps from one structural character to the next with string.find.
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
    for i = 1, np do
      local j = ns + nd + ni + i
      local f, cur = ARGV[F + j], m[7 + j]
      local elems, ne, keep = ARGV[p], tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2])
      if cur and #cur >= 18 and cur:byte(1) == 31 and cur:byte(2) == 139 then
        local pl = plain[f]
        if not pl or redis.sha1hex(cur) ~= pl[1] then return fail({'NEEDPLAIN', f}) end
        cur = pl[2]
      end
      -- store.AppendJSON; a compact array (no white space) without keep is
      -- appended to without being parsed.
      local r
      if not cur or cur == '' then
        r = '[' .. elems .. ']'
      elseif keep == 0 and cur:byte(1) == 91 and cur:byte(-1) == 93 and not cur:find('[ \t\n\r]') then
        if ne == 0 then r = cur elseif #cur == 2 then r = '[' .. elems .. ']' else r = cur:sub(1, -2) .. ',' .. elems .. ']' end
      else
        local b = split(cur)
        if not b then return err('SESAME_NOTLIST ' .. i) end
        local n, skip, parts = #b / 2, 0, {}
        if keep > 0 and n + ne > keep then skip = n + ne - keep end
        for x = skip + 1, n do parts[#parts + 1] = cur:sub(b[2 * x - 1], b[2 * x]) end
        if ne > 0 then parts[#parts + 1] = elems end
        r = '[' .. table.concat(parts, ',') .. ']'
      end
      w[#w + 1], w[#w + 2] = f, r
      size = size + #f - 2 + #r
      p = p + 3
    end
  end
  local maxsize = tonumber(ARGV[6])
  if maxsize > 0 and size > maxsize then return err('SESAME_TOOLARGE ' .. fmt('%d', size)) end

  -- The user index: a record of a user must be in the user's index with a
  -- horizon no earlier than its expiry before it is written. A create
  -- starts afresh: the fields of a dead record under the key do not count.
  local exp, ttl = ARGV[4], ARGV[5]
  local ou, ox = m[5], m[6]
  if create then ou, ox = false, false end
  local fuid = ou or ''
  if setuser then fuid = uid end
  local dies = ttl == '0'
  local x
  if fuid ~= '' and not dies then
    x = 0
    if not NK and fuid == (ou or '') then x = tonumber(ox) or 0 end
    if iuser == fuid then x = math.max(x, tonumber(ihz)) end
    -- The expiry in ms, rounded up (0 before 1970).
    local fexp, ms = exp, 0
    if fexp == '' then fexp = m[1] end
    if byte(fexp, 1) ~= 45 and fexp ~= '0' then
      ms = tonumber(fexp:sub(1, -7)) or 0
      if #fexp <= 6 or fexp:sub(-6) ~= '000000' then ms = ms + 1 end
    end
    if ms > x then return fail({'NEEDINDEX', fuid, fexp}) end
  end

  -- Every check passed: write.
  if dies or (create and (m[1] or m[2] or m[3] or m[4] or m[5] or m[6] or m[7])) then redis.call('DEL', K) end
  if dies then return 'OK' end
  if clear then
    dels = dels or {}
    for _, f in ipairs(redis.call('HKEYS', K)) do
      if f:sub(1, 2) == 'v:' then dels[#dels + 1] = f end
    end
  end
  w[#w + 1], w[#w + 2] = '_s', ARGV[3]
  if size ~= n0 then w[#w + 1], w[#w + 2] = '_n', fmt('%d', size) end
  if exp ~= '' then w[#w + 1], w[#w + 2] = '_e', exp end
  if create then
    if created == '' then created = ARGV[3] end
    w[#w + 1], w[#w + 2] = '_c', created
    if selfid then w[#w + 1], w[#w + 2] = '_i', selfid end
  elseif m[7] then
    dels = dels or {}
    dels[#dels + 1] = '_i' -- the create is over: no repeat of it can come
  end
  if setuser then
    dels = dels or {}
    -- _u, _ip and _ua: set, or removed when empty ("" detaches the user).
    if uid ~= '' then
      if uid ~= ou then w[#w + 1], w[#w + 2] = '_u', uid end
    elseif ou then
      dels[#dels + 1] = '_u'
    end
    if ip ~= '' then w[#w + 1], w[#w + 2] = '_ip', ip elseif not create then dels[#dels + 1] = '_ip' end
    if ua ~= '' then w[#w + 1], w[#w + 2] = '_ua', ua elseif not create then dels[#dels + 1] = '_ua' end
  end
  if x then
    local xs = fmt('%d', x)
    if xs ~= ox then w[#w + 1], w[#w + 2] = '_x', xs end
  elseif ox then
    dels = dels or {}
    dels[#dels + 1] = '_x'
  end
  if dels and #dels > 0 then
    for i = 1, #dels, 4000 do redis.call('HDEL', K, unpack(dels, i, math.min(i + 3999, #dels))) end
  end
  if #w <= 4000 then
    redis.call('HSET', K, unpack(w))
  else
    for i = 1, #w, 4000 do redis.call('HSET', K, unpack(w, i, math.min(i + 3999, #w))) end
  end
  if ttl ~= '' then redis.call('PEXPIRE', K, ttl) end
  if NK then redis.call('RENAME', K, NK) end
  return 'OK'
end

local ok, r = pcall(run)
if ok then return r end
fail(nil)
if type(r) == 'table' and r.err then return redis.error_reply(r.err) end
return redis.error_reply('SESAME_SCRIPT ' .. tostring(r))
`)
