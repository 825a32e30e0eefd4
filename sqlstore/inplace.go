package sqlstore

import (
	"context"
	"database/sql"
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

// stmtWriter writes a statement and collects its arguments. The text of an
// in-place statement depends only on the shape of the change (see
// inPlaceShape), so it is written once per shape and kept (Store.stmts);
// every call then runs the same writer without text, for the arguments
// alone, which come out in the order of the text.
type stmtWriter struct {
	b    *strings.Builder // nil: arguments only
	args []any
	pg   bool // $1, $2, ... instead of ?
}

// sql writes text.
func (w *stmtWriter) sql(text ...string) {
	if w.b != nil {
		for _, t := range text {
			w.b.WriteString(t)
		}
	}
}

// arg writes a parameter for v and returns its number.
func (w *stmtWriter) arg(v any) int {
	w.args = append(w.args, v)
	if w.b != nil {
		if w.pg {
			w.b.WriteString("$" + strconv.Itoa(len(w.args)))
		} else {
			w.b.WriteByte('?')
		}
	}
	return len(w.args)
}

// ref writes a reference to parameter n again (PostgreSQL).
func (w *stmtWriter) ref(n int) {
	if w.b != nil {
		w.b.WriteString("$" + strconv.Itoa(n))
	}
}

// inPlaceShape is what the text of an in-place statement depends on.
type inPlaceShape struct {
	dialect                                 Dialect
	clear, del, set, expires, setUser, once bool
	touched, incr                           int
}

// statement returns the text of the in-place statement of shape sh,
// written by write the first time.
func (s *Store) statement(sh inPlaceShape, write func(w *stmtWriter)) string {
	if q, ok := s.stmts.Load(sh); ok {
		return q.(string)
	}
	var b strings.Builder
	write(&stmtWriter{b: &b, pg: sh.dialect == Postgres})
	q := b.String()
	s.stmts.Store(sh, q)
	return q
}

func (p inPlace) shape(d Dialect, c *store.Change, id string) inPlaceShape {
	return inPlaceShape{dialect: d, clear: p.clear, del: len(p.del) > 0, set: len(p.set) > 0,
		expires: !c.Expires.IsZero(), setUser: c.SetUser, once: id != "",
		touched: len(p.touched), incr: len(p.incrKeys)}
}

// inPlacePG runs the in-place statement on PostgreSQL, and returns the
// number of rows it changed (0 or 1). The statement is written for the
// shape of the change (how many keys it sets, deletes and increments; a
// clear; new metadata; an identity), with one parameter per key: such a
// statement is planned in a few microseconds, and after a few runs
// PostgreSQL keeps its generic plan for the connection, where one statement
// for every shape (arrays of keys, unnest) cost it about 200 µs of
// planning per run (measured with /proc/PID/schedstat of the server
// process: see TestServerCPU in bench/).
//
// A change with an identity is one statement too: WITH upd AS (UPDATE ...
// RETURNING 1) INSERT INTO the ops table ... FROM upd, whose count of rows
// inserted is the count of rows updated. An earlier form that ended in
// SELECT count(*) FROM upd (the CTE read twice, and an aggregate) cost the
// server about 200 µs more CPU per write: each run grew and shrank the
// backend's heap (two brk calls per statement under strace -c).
func (s *Store) inPlacePG(ctx context.Context, key string, c *store.Change, p inPlace, id string, now time.Time) (int64, error) {
	d := s.dialect
	write := func(w *stmtWriter) {
		t := d.quote(s.table)
		w.sql(`UPDATE `, t, ` AS t SET vals = `)
		switch {
		case p.clear:
			w.sql(`'{}'::jsonb`)
		case len(p.del) > 0:
			w.sql(`t.vals - `)
			w.arg(p.del)
			w.sql(`::text[]`)
		default:
			w.sql(`t.vals`)
		}
		if len(p.set) > 0 {
			w.sql(` || `)
			w.arg(p.setObject())
			w.sql(`::jsonb`)
		}
		// One parameter per key, one per amount, one per key length.
		touched := make([]int, len(p.touched))
		touchedLen := make([]int, len(p.touched))
		for i, name := range p.touched {
			touched[i] = w.argSilent(name)
			touchedLen[i] = w.argSilent(int64(len(name)))
		}
		incrKey := make([]int, len(p.incrKeys))
		incrBy := make([]int, len(p.incrKeys))
		incrLen := make([]int, len(p.incrKeys))
		for i, name := range p.incrKeys {
			incrKey[i] = w.argSilent(name)
			incrBy[i] = w.argSilent(p.incrBy[i])
			incrLen[i] = w.argSilent(int64(len(name)))
		}
		sum := func(i int) {
			w.sql(`(COALESCE(t.vals->>`)
			w.ref(incrKey[i])
			w.sql(`::text, '0')::bigint + `)
			w.ref(incrBy[i])
			w.sql(`::bigint)::text`)
		}
		if len(p.incrKeys) > 0 {
			w.sql(` || jsonb_build_object(`)
			for i := range p.incrKeys {
				if i > 0 {
					w.sql(`, `)
				}
				w.ref(incrKey[i])
				w.sql(`::text, `)
				sum(i)
			}
			w.sql(`)`)
		}
		setSize := w.argSilent(p.setSize)
		size := func() {
			if p.clear {
				w.sql(`0`)
			} else {
				w.sql(`t.size`)
				for i := range p.touched {
					w.sql(` - COALESCE(octet_length(t.vals->>`)
					w.ref(touched[i])
					w.sql(`::text) + `)
					w.ref(touchedLen[i])
					w.sql(`::bigint, 0)`)
				}
			}
			w.sql(` + `)
			w.ref(setSize)
			w.sql(`::bigint`)
			for i := range p.incrKeys {
				w.sql(` + octet_length(`)
				sum(i)
				w.sql(`) + `)
				w.ref(incrLen[i])
				w.sql(`::bigint`)
			}
		}
		w.sql(`, size = `)
		size()
		w.sql(`, last_seen = `)
		w.arg(d.timeArg(c.Now))
		w.sql(`::timestamptz`)
		if !c.Expires.IsZero() {
			w.sql(`, expires = `)
			w.arg(d.timeArg(c.Expires))
			w.sql(`::timestamptz`)
		}
		if c.SetUser {
			w.sql(`, user_id = `)
			w.arg(c.UserID)
			w.sql(`::text, ip = `)
			w.arg(c.IP)
			w.sql(`::text, user_agent = `)
			w.arg(c.UserAgent)
			w.sql(`::text`)
		}
		// No cast on the key: the parameter takes the type of the id
		// column (CHAR(64)), so the primary key's index finds the row. A
		// ::text cast would compare id::text instead, which no index
		// serves: every write would scan the whole table.
		w.sql(` WHERE t.id = `)
		w.arg(key)
		w.sql(` AND t.expires > `)
		w.arg(d.timeArg(now))
		w.sql(`::timestamptz AND t.vals IS NOT NULL`)
		for i := range p.touched {
			w.sql(` AND left(t.vals->>`)
			w.ref(touched[i])
			w.sql(`::text, 1) IS DISTINCT FROM '~'`)
		}
		for i := range p.incrKeys {
			w.sql(` AND COALESCE(t.vals->>`)
			w.ref(incrKey[i])
			w.sql(`::text, '0') ~ '`, intPattern, `'`)
		}
		w.sql(` AND `)
		size()
		w.sql(` <= `)
		w.arg(int64(s.maxSize))
		w.sql(`::bigint`)
		if id != "" {
			o := d.quote(s.table + "_ops")
			w.sql(` AND NOT EXISTS (SELECT 1 FROM `, o, ` WHERE id = `)
			opID := w.arg(opKey(id))
			w.sql(`::bytea) RETURNING 1) INSERT INTO `, o, ` (id, at, result) SELECT `)
			w.ref(opID)
			w.sql(`::bytea, `)
			w.arg(d.timeArg(normTime(s.now())))
			w.sql(`::timestamptz, NULL FROM upd`)
		}
	}
	sh := p.shape(d, c, id)
	q := s.statement(sh, func(w *stmtWriter) {
		if id != "" {
			w.sql(`WITH upd AS (`)
		}
		write(w)
	})
	w := stmtWriter{args: make([]any, 0, 10+2*len(p.touched)+2*len(p.incrKeys))}
	write(&w)
	// With an identity, the rows the statement reports are those inserted
	// into the ops table: one for each row updated.
	if s.eng.Pipeline != nil && !s.noPipeline {
		return s.execNative(ctx, q, w.args)
	}
	res, err := s.db.ExecContext(ctx, q, w.args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// execNative runs one statement on the native connection of an engine that
// has one (PostgreSQL through pgx), reached through database/sql's
// Conn.Raw, and returns the number of rows of its command tag. It spares
// the conversions of database/sql's arguments (see also loadNative). A
// connection that broke is discarded. Errors are unclassified.
func (s *Store) execNative(ctx context.Context, query string, args []any) (int64, error) {
	var tag string
	err := s.onNative(ctx, func(pc engine.Conn) (err error) {
		tag, err = pc.Exec(ctx, query, args...)
		return err
	})
	if err != nil {
		return 0, err
	}
	// "UPDATE 1", "INSERT 0 1": the count is the last word.
	n, err := strconv.ParseInt(tag[strings.LastIndexByte(tag, ' ')+1:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: command tag %q: %w", tag, err)
	}
	return n, nil
}

// onNative runs fn on the native connection of a pooled connection (see
// execNative), discarding the connection when it broke. Errors are
// unclassified.
func (s *Store) onNative(ctx context.Context, fn func(pc engine.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	rawErr := conn.Raw(func(dc any) error {
		pc, native := s.eng.Pipeline(dc)
		if !native {
			err = fmt.Errorf("sqlstore: a %v store needs a *sql.DB of its engine's driver, got a connection of %T", s.dialect, dc)
			return nil
		}
		err = fn(pc)
		if pc.Closed() {
			return driver.ErrBadConn
		}
		return nil
	})
	if err == nil && rawErr != nil && !errors.Is(rawErr, driver.ErrBadConn) {
		err = rawErr
	}
	return err
}

// argSilent adds a parameter for v without writing it, and returns its
// number, for ref (PostgreSQL).
func (w *stmtWriter) argSilent(v any) int {
	w.args = append(w.args, v)
	return len(w.args)
}

// tryTime returns the time a try of a change remembers its identity from:
// the store's clock, but always after the time the previous try got, so
// that no two tries of this store get the same one (inPlaceMySQL tells its
// own ops row by it), whatever the clock does.
func (s *Store) tryTime() time.Time {
	t := normTime(s.now())
	for {
		last := s.lastTry.Load()
		us := max(t.UnixMicro(), last+1)
		if s.lastTry.CompareAndSwap(last, us) {
			return time.UnixMicro(us).UTC()
		}
	}
}

// inPlaceMySQL runs the in-place UPDATE on MySQL, in a transaction with the
// INSERT into the ops table for a change with an identity, sent as one
// batch (one round trip). It returns the number of rows the UPDATE changed
// (0 or 1).
func (s *Store) inPlaceMySQL(ctx context.Context, key string, c *store.Change, p inPlace, id string, now time.Time) (int64, error) {
	if s.eng.Batch == nil || s.noBatch.Load() {
		return 0, errFallback
	}
	d := s.dialect
	path := func(k string) string { return `$."` + k + `"` }
	// The time the identity is remembered from, which also tells this
	// try's row from an earlier one's (see below).
	atArg := d.timeArg(s.tryTime())
	write := func(w *stmtWriter) {
		// The old value of a member, and the new value of an incremented
		// one.
		old := func(k string) {
			w.sql(`JSON_UNQUOTE(JSON_EXTRACT(vals, `)
			w.arg(path(k))
			w.sql(`))`)
		}
		sum := func(i int) {
			w.sql(`CAST(CAST(COALESCE(`)
			old(p.incrKeys[i])
			w.sql(`, '0') AS SIGNED) + `)
			w.arg(p.incrBy[i])
			w.sql(` AS CHAR)`)
		}
		// The size after the change. MySQL evaluates SET left to right,
		// so size comes before vals and reads the old values.
		size := func() {
			if p.clear {
				w.sql(`0`)
			} else {
				w.sql(`size`)
				for _, k := range p.touched {
					w.sql(` - COALESCE(LENGTH(`)
					old(k)
					w.sql(`) + `)
					w.arg(int64(len(k)))
					w.sql(`, 0)`)
				}
			}
			w.sql(` + `)
			w.arg(p.setSize)
			for i, k := range p.incrKeys {
				w.sql(` + LENGTH(`)
				sum(i)
				w.sql(`) + `)
				w.arg(int64(len(k)))
			}
		}
		t := d.quote(s.table)
		o := d.quote(s.table + "_ops")
		// One transaction in one round trip. The row is locked first
		// without waiting (NOWAIT): a change held up behind another
		// transaction goes through lockedUpdate, whose COMMIT is not sent
		// before the lock is granted, so a change whose context ends while
		// it waits is never applied later (go-sql-driver/mysql gives up on
		// a statement by closing the connection, and the server would
		// still run the rest of the batch once the lock came free).
		// READ COMMITTED (for this transaction only) takes no gap locks:
		// under REPEATABLE READ, InnoDB's gap locks in the ops table and
		// the indexes made writes of different sessions deadlock under a
		// burst (TestPoolUnderBurst: up to 3% of 64 concurrent writes).
		// The conditions under which the change applies in place: the
		// record is live, no touched value is a compressed one, every
		// incremented value is an integer, and the result fits.
		conds := func() {
			w.sql(` AND expires > `)
			w.arg(d.timeArg(now))
			w.sql(` AND vals IS NOT NULL`)
			for _, k := range p.touched {
				w.sql(` AND COALESCE(LEFT(`)
				old(k)
				w.sql(`, 1), '') <> '~'`)
			}
			for _, k := range p.incrKeys {
				w.sql(` AND COALESCE(`)
				old(k)
				w.sql(`, '0') REGEXP '`, intPattern, `'`)
			}
			w.sql(` AND `)
			size()
			w.sql(` <= `)
			w.arg(int64(s.maxSize))
		}
		// The UPDATE, up to its WHERE.
		update := func() {
			w.sql(`UPDATE `, t, ` SET size = `)
			size()
			w.sql(`, vals = JSON_MERGE_PATCH(`)
			if p.clear {
				w.sql(`JSON_OBJECT()`)
			} else {
				w.sql(`vals`)
			}
			w.sql(`, `)
			w.arg(p.patch())
			if len(p.incrKeys) > 0 {
				w.sql(`, JSON_OBJECT(`)
				for i, k := range p.incrKeys {
					if i > 0 {
						w.sql(`, `)
					}
					w.arg(k)
					w.sql(`, `)
					sum(i)
				}
				w.sql(`)`)
			}
			w.sql(`), last_seen = `)
			w.arg(d.timeArg(c.Now))
			if !c.Expires.IsZero() {
				w.sql(`, expires = `)
				w.arg(d.timeArg(c.Expires))
			}
			if c.SetUser {
				w.sql(`, user_id = `)
				w.arg(c.UserID)
				w.sql(`, ip = `)
				w.arg(c.IP)
				w.sql(`, user_agent = `)
				w.arg(c.UserAgent)
			}
			w.sql(` WHERE id = `)
			w.arg(key)
		}
		w.sql(`SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION; SELECT 1 FROM `, t, ` WHERE id = `)
		w.arg(key)
		w.sql(` FOR UPDATE NOWAIT; `)
		if id == "" {
			update()
			conds()
			w.sql(`; COMMIT`)
			return
		}
		// With an identity, it goes in first, when the change applies and
		// no arrival of it has committed; the UPDATE then applies exactly
		// when this INSERT put it there (the row lock, held since the
		// SELECT, keeps the conditions true in between), which the time
		// of this try, written with it, tells apart from an earlier try's
		// row. The identity used to follow the UPDATE, inserted WHERE
		// ROW_COUNT() > 0: when the client's connection broke during the
		// batch, MariaDB could commit the UPDATE without it (traced in
		// TestFaultsAtCommit: a try that failed with "invalid connection"
		// had applied the change, and its retry found no identity and
		// applied it again, about one run in eight).
		w.sql(`INSERT INTO `, o, ` (id, at, result) SELECT `)
		w.arg(opKey(id))
		w.sql(`, `)
		w.arg(atArg)
		w.sql(`, NULL FROM `, t, ` WHERE id = `)
		w.arg(key)
		conds()
		w.sql(` AND NOT EXISTS (SELECT 1 FROM `, o, ` WHERE id = `)
		w.arg(opKey(id))
		w.sql(`); `)
		update()
		w.sql(` AND EXISTS (SELECT 1 FROM `, o, ` WHERE id = `)
		w.arg(opKey(id))
		w.sql(` AND at = `)
		w.arg(atArg)
		w.sql(`); COMMIT`)
	}
	q := s.statement(p.shape(d, c, id), write)
	w := stmtWriter{args: make([]any, 0, 16+6*len(p.touched)+6*len(p.incrKeys))}
	write(&w)
	n, upd := 5, 3 // SET TRANSACTION, START, SELECT, [INSERT,] UPDATE, COMMIT
	if id != "" {
		n, upd = 6, 4
	}
	affected, err := s.runBatch(ctx, q, w.args)
	if err != nil {
		return 0, err
	}
	if len(affected) != n {
		return 0, fmt.Errorf("sqlstore: apply: %d results of a batch of %d statements", len(affected), n)
	}
	return affected[upd], nil
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
	return s.connBatch(ctx, conn, query, args)
}

// connBatch is runBatch on conn.
func (s *Store) connBatch(ctx context.Context, conn *sql.Conn, query string, args []any) ([]int64, error) {
	var affected []int64
	var berr error
	err := conn.Raw(func(dc any) error {
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
