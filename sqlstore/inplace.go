package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesamego/sesame/sqlstore/internal/engine"
	"github.com/sesamego/sesame/store"
)

// This file applies a change set in the database, in one statement: the
// server sets, deletes and increments the members of the vals object (see
// vals.go) and writes the row, instead of the store reading the row,
// merging in Go and writing the whole record back in a transaction of
// several round trips. On PostgreSQL that statement also remembers the
// change's identity (a data-modifying WITH); on MySQL the UPDATE and the
// INSERT into the ops table are one transaction sent in one round trip.
//
// The statement applies the change only when it can prove that the result
// is the one store.Merge would give: the record is live and in vals (not a
// row of an earlier version, not a tombstone), every member the change
// replaces or deletes is plain JSON text (so its size is its length), every
// member it increments is an integer of at most 18 digits (so it fits in a
// 64-bit integer on every engine), the result stays within MaxRecordSize,
// and the identity is not remembered yet. Otherwise it changes nothing, and
// the store applies the change as before (lockedUpdate), which gives the
// exact outcome: the error (ErrNotFound, ErrNotNumber, ErrTooLarge), or
// success for a change applied before. An increment past the 64-bit range
// fails the statement in the server; the store then does the same.
//
// SQLite runs in the application's process: a transaction costs no round
// trips, so it keeps lockedUpdate.

// inPlace is a change set as the database applies it.
type inPlace struct {
	clear bool
	// del are the members to remove, set those to set (member name to
	// text), incr those to increment by the amount of the same index.
	del      []string
	set      map[string]string
	incrKeys []string
	incrBy   []int64
	// touched are the members whose old value the change replaces or
	// removes: they must be plain JSON text for the size to be right.
	touched []string
	// setSize is the size (store.Size) of the members of set.
	setSize int64
}

// patch returns the members to set and delete as a JSON merge patch (RFC
// 7396): members to delete are null.
func (p inPlace) patch() string {
	buf := []byte{'{'}
	for i, k := range p.del {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, k)
		buf = append(buf, ":null"...)
	}
	for _, k := range slices.Sorted(maps.Keys(p.set)) {
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		buf = appendJSONString(buf, p.set[k])
	}
	return string(append(buf, '}'))
}

// setObject returns the members to set as a JSON object.
func (p inPlace) setObject() string {
	q := p
	q.del = nil
	return q.patch()
}

// planInPlace returns c as the database applies it, and false when it
// cannot: a create, a push, a tombstone, keys that are not stored as they
// are (or, on MySQL, that a JSON path cannot name without escapes), or a
// Set and Incr of one key that store.Merge would refuse.
func (s *Store) planInPlace(c *store.Change) (inPlace, bool) {
	if c.Create || len(c.Push) > 0 || s.dialect == SQLite || s.inPlaceOff.Load() {
		return inPlace{}, false
	}
	p := inPlace{clear: c.Clear, set: make(map[string]string, len(c.Set)+len(c.Incr))}
	keyOK := func(k string) bool {
		if !plainKey(k) || k == store.GoneField {
			return false
		}
		return s.dialect != MySQL || pathKey(k)
	}
	deleted := make(map[string]bool, len(c.Delete))
	for _, k := range c.Delete {
		if !keyOK(k) {
			return inPlace{}, false
		}
		deleted[k] = true
	}
	values := make(map[string][]byte, len(c.Set)+len(c.Incr))
	for k, v := range c.Set {
		if !keyOK(k) {
			return inPlace{}, false
		}
		values[k] = v
	}
	for k, by := range c.Incr {
		if !keyOK(k) {
			return inPlace{}, false
		}
		v, set := values[k]
		switch {
		case set:
			n, err := store.AddInt(v, by)
			if err != nil {
				return inPlace{}, false // Merge reports it
			}
			values[k] = strconv.AppendInt(nil, n, 10)
		case c.Clear || deleted[k]:
			values[k] = strconv.AppendInt(nil, by, 10)
		default:
			p.incrKeys = append(p.incrKeys, k)
			p.incrBy = append(p.incrBy, by)
		}
	}
	for k, v := range values {
		p.set[k], _ = storedValue(v, s.threshold)
		p.setSize += int64(len(k) + len(v))
	}
	if !c.Clear {
		for _, k := range slices.Sorted(maps.Keys(deleted)) {
			if _, set := values[k]; !set {
				p.del = append(p.del, k)
			}
		}
	}
	if p.setSize > int64(s.maxSize) {
		return inPlace{}, false
	}
	if !c.Clear {
		p.touched = append(p.touched, p.del...)
		p.touched = append(p.touched, p.incrKeys...)
		for k := range values {
			p.touched = append(p.touched, k)
		}
	}
	return p, true
}

// pathKey reports whether MySQL's JSON path $."k" names the member k:
// printable text without quotes or backslashes.
func pathKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' || c == 0x7f {
			return false
		}
	}
	return true
}

// errFallback ends an in-place try that did not apply the change: the
// store applies it with lockedUpdate.
var errFallback = errors.New("sqlstore: change not applicable in place")

// applyInPlace applies c to the record under key in one statement. It
// returns errFallback when the database did not apply it (see above); the
// caller then applies it with lockedUpdate.
func (s *Store) applyInPlace(ctx context.Context, key string, c *store.Change, p inPlace, now time.Time) error {
	id := s.opID(c.ID)
	err := s.runWrite(ctx, "apply", id != "", func() (maybe bool, err error) {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("sqlstore: apply: %w", err)
		}
		var n int64
		switch s.dialect {
		case Postgres:
			n, err = s.inPlacePG(ctx, key, c, p, id, now)
		default:
			n, err = s.inPlaceMySQL(ctx, key, c, p, id, now)
		}
		switch {
		case errors.Is(err, errFallback):
			return false, err
		case s.isDuplicate(err):
			// A twin of this change committed while this one ran.
			return false, appliedError{}
		case err != nil:
			if maybe, answered := s.answered(err); answered && !maybe && !s.isRetryable(err) {
				// The server refused the statement (an increment out of
				// range, say), which took no effect.
				return false, errFallback
			}
			return s.maybeApplied(ctx, err), s.dbErr(ctx, "apply", err)
		case n == 0:
			return false, errFallback
		}
		s.inPlaced.Add(1)
		return false, nil
	})
	if _, ok := asApplied(err); ok {
		return nil
	}
	return err
}

// answered reports whether err is the server's answer, and if so whether
// the statement may have taken effect all the same.
func (s *Store) answered(err error) (maybe, ok bool) {
	if s.eng.Answer == nil {
		return false, false
	}
	return s.eng.Answer(err)
}

// intPattern matches the integers an in-place increment reads: at most 18
// digits, which fit in a signed 64-bit integer on every engine.
const intPattern = `^-?(0|[1-9][0-9]{0,17})$`

// inPlacePG runs the in-place statement on PostgreSQL, and returns the
// number of rows it changed (0 or 1). The statement is written for the
// shape of the change (how many keys it sets, deletes and increments; a
// clear; new metadata; an identity), with one parameter per key: such a
// statement is planned in a few microseconds, and after a few runs
// PostgreSQL keeps its generic plan for the connection, where one statement
// for every shape (arrays of keys, unnest) cost it about 200 µs of
// planning per run (measured with /proc/PID/schedstat of the server
// process: see TestServerCPU in bench/).
func (s *Store) inPlacePG(ctx context.Context, key string, c *store.Change, p inPlace, id string, now time.Time) (int64, error) {
	d := s.dialect
	args := make([]any, 0, 8+2*len(p.touched)+3*len(p.incrKeys))
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	keyArg := map[string]string{} // a parameter per key
	k := func(name string) string {
		if a, ok := keyArg[name]; ok {
			return a
		}
		a := arg(name) + "::text"
		keyArg[name] = a
		return a
	}
	var b strings.Builder
	t := d.quote(s.table)
	b.WriteString(`UPDATE ` + t + ` AS t SET vals = `)
	switch {
	case p.clear:
		b.WriteString(`'{}'::jsonb`)
	case len(p.del) > 0:
		b.WriteString(`t.vals - ` + arg(p.del) + `::text[]`)
	default:
		b.WriteString(`t.vals`)
	}
	if len(p.set) > 0 {
		b.WriteString(` || ` + arg(p.setObject()) + `::jsonb`)
	}
	// The new text of each incremented member.
	sums := make([]string, len(p.incrKeys))
	for i, name := range p.incrKeys {
		sums[i] = `(COALESCE(t.vals->>` + k(name) + `, '0')::bigint + ` + arg(p.incrBy[i]) + `::bigint)::text`
	}
	if len(sums) > 0 {
		b.WriteString(` || jsonb_build_object(`)
		for i, name := range p.incrKeys {
			if i > 0 {
				b.WriteString(`, `)
			}
			b.WriteString(k(name) + `, ` + sums[i])
		}
		b.WriteString(`)`)
	}
	// The size after the change.
	var size strings.Builder
	if p.clear {
		size.WriteString(`0`)
	} else {
		size.WriteString(`t.size`)
		for _, name := range p.touched {
			size.WriteString(` - COALESCE(octet_length(t.vals->>` + k(name) + `) + ` + strconv.Itoa(len(name)) + `, 0)`)
		}
	}
	if p.setSize > 0 {
		size.WriteString(` + ` + strconv.FormatInt(p.setSize, 10))
	}
	for i, name := range p.incrKeys {
		size.WriteString(` + octet_length(` + sums[i] + `) + ` + strconv.Itoa(len(name)))
	}
	b.WriteString(`, size = ` + size.String())
	b.WriteString(`, last_seen = ` + arg(d.timeArg(c.Now)) + `::timestamptz`)
	if !c.Expires.IsZero() {
		b.WriteString(`, expires = ` + arg(d.timeArg(c.Expires)) + `::timestamptz`)
	}
	if c.SetUser {
		b.WriteString(`, user_id = ` + arg(c.UserID) + `::text, ip = ` + arg(c.IP) + `::text, user_agent = ` + arg(c.UserAgent) + `::text`)
	}
	b.WriteString(` WHERE t.id = ` + arg(key) + `::text AND t.expires > ` + arg(d.timeArg(now)) + `::timestamptz AND t.vals IS NOT NULL`)
	if !p.clear {
		for _, name := range p.touched {
			b.WriteString(` AND left(t.vals->>` + k(name) + `, 1) IS DISTINCT FROM '~'`)
		}
	}
	for _, name := range p.incrKeys {
		b.WriteString(` AND COALESCE(t.vals->>` + k(name) + `, '0') ~ '` + intPattern + `'`)
	}
	b.WriteString(` AND ` + size.String() + ` <= ` + strconv.Itoa(s.maxSize))
	q := b.String()
	if id != "" {
		o := d.quote(s.table + "_ops")
		opID := arg(opKey(id)) + `::bytea`
		q = `WITH upd AS (` + q + ` AND NOT EXISTS (SELECT 1 FROM ` + o + ` WHERE id = ` + opID + `) RETURNING 1), ` +
			`op AS (INSERT INTO ` + o + ` (id, at, result) SELECT ` + opID + `, ` + arg(d.timeArg(normTime(s.now()))) + `::timestamptz, NULL FROM upd) ` +
			`SELECT count(*) FROM upd`
		var n int64
		err := s.db.QueryRowContext(ctx, q, args...).Scan(&n)
		return n, err
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// inPlaceMySQL runs the in-place UPDATE on MySQL, in a transaction with the
// INSERT into the ops table for a change with an identity, sent as one
// batch (one round trip). It returns the number of rows the UPDATE changed
// (0 or 1).
func (s *Store) inPlaceMySQL(ctx context.Context, key string, c *store.Change, p inPlace, id string, now time.Time) (int64, error) {
	d := s.dialect
	var b strings.Builder
	var args []any
	path := func(k string) string { return `$."` + k + `"` }
	// The old value of a member, and the new value of an incremented one.
	old := `JSON_UNQUOTE(JSON_EXTRACT(vals, ?))`
	sum := `CAST(CAST(COALESCE(` + old + `, '0') AS SIGNED) + ? AS CHAR)`

	// The size after the change (MySQL evaluates SET left to right, so
	// size comes before vals and reads the old values).
	var size strings.Builder
	var sizeArgs []any
	if p.clear {
		size.WriteString(`0`)
	} else {
		size.WriteString(`size`)
		for _, k := range p.touched {
			size.WriteString(` - COALESCE(LENGTH(` + old + `) + ?, 0)`)
			sizeArgs = append(sizeArgs, path(k), int64(len(k)))
		}
	}
	size.WriteString(` + ?`)
	sizeArgs = append(sizeArgs, p.setSize)
	for i, k := range p.incrKeys {
		size.WriteString(` + LENGTH(` + sum + `) + ?`)
		sizeArgs = append(sizeArgs, path(k), p.incrBy[i], int64(len(k)))
	}

	t := d.quote(s.table)
	b.WriteString(`UPDATE ` + t + ` SET size = ` + size.String())
	args = append(args, sizeArgs...)
	base := `vals`
	if p.clear {
		base = `JSON_OBJECT()`
	}
	b.WriteString(`, vals = JSON_MERGE_PATCH(` + base + `, ?`)
	args = append(args, p.patch())
	if len(p.incrKeys) > 0 {
		b.WriteString(`, JSON_OBJECT(`)
		for i, k := range p.incrKeys {
			if i > 0 {
				b.WriteString(`, `)
			}
			b.WriteString(`?, ` + sum)
			args = append(args, k, path(k), p.incrBy[i])
		}
		b.WriteString(`)`)
	}
	b.WriteString(`), last_seen = ?`)
	args = append(args, d.timeArg(c.Now))
	if !c.Expires.IsZero() {
		b.WriteString(`, expires = ?`)
		args = append(args, d.timeArg(c.Expires))
	}
	if c.SetUser {
		b.WriteString(`, user_id = ?, ip = ?, user_agent = ?`)
		args = append(args, c.UserID, c.IP, c.UserAgent)
	}
	b.WriteString(` WHERE id = ? AND expires > ? AND vals IS NOT NULL`)
	args = append(args, key, d.timeArg(now))
	for _, k := range p.touched {
		b.WriteString(` AND COALESCE(LEFT(` + old + `, 1), '') <> '~'`)
		args = append(args, path(k))
	}
	for _, k := range p.incrKeys {
		b.WriteString(` AND COALESCE(` + old + `, '0') REGEXP '` + intPattern + `'`)
		args = append(args, path(k))
	}
	b.WriteString(` AND ` + size.String() + ` <= ?`)
	args = append(args, sizeArgs...)
	args = append(args, int64(s.maxSize))

	if s.eng.Batch == nil || s.noBatch.Load() {
		return 0, errFallback
	}
	// One transaction in one round trip. The row is locked first without
	// waiting (NOWAIT): a change held up behind another transaction goes
	// through lockedUpdate, whose COMMIT is not sent before the lock is
	// granted, so a change whose context ends while it waits is never
	// applied later (go-sql-driver/mysql gives up on a statement by
	// closing the connection, and the server would still run the rest of
	// the batch once the lock came free).
	lock := `SELECT 1 FROM ` + d.quote(s.table) + ` WHERE id = ? FOR UPDATE NOWAIT`
	o := d.quote(s.table + "_ops")
	q := `START TRANSACTION; ` + lock + `; ` + b.String()
	args = append([]any{key}, args...)
	n := 4
	if id != "" {
		q += ` AND NOT EXISTS (SELECT 1 FROM ` + o + ` WHERE id = ?); INSERT INTO ` + o + ` (id, at, result) SELECT ?, ?, NULL FROM DUAL WHERE ROW_COUNT() > 0`
		args = append(args, opKey(id), opKey(id), d.timeArg(normTime(s.now())))
		n++
	}
	q += `; COMMIT`
	affected, err := s.runBatch(ctx, q, args)
	if err != nil {
		return 0, err
	}
	if len(affected) != n {
		return 0, fmt.Errorf("sqlstore: apply: %d results of a batch of %d statements", len(affected), n)
	}
	return affected[2], nil
}

// runBatch runs a batch of statements (see engine.Engine.Batch) on a
// connection of the pool. When the pool's connections cannot run batches,
// it returns errFallback, and the store stops trying.
func (s *Store) runBatch(ctx context.Context, query string, args []any) ([]int64, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var affected []int64
	var berr error
	err = conn.Raw(func(dc any) error {
		var discard bool
		affected, discard, berr = s.eng.Batch(ctx, dc, query, args)
		if discard {
			return driver.ErrBadConn
		}
		return nil
	})
	if errors.Is(berr, engine.ErrNoBatch) {
		s.noBatch.Store(true)
		return nil, errFallback
	}
	if berr != nil {
		return nil, berr
	}
	if err != nil && !errors.Is(err, driver.ErrBadConn) {
		return nil, err
	}
	return affected, nil
}
