package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sesamego/sesame/sqlstore/internal/engine"
	"github.com/sesamego/sesame/store"
)

// Compile-time checks that Store has every capability of the contract.
var (
	_ store.Store     = (*Store)(nil)
	_ store.Pruner    = (*Store)(nil)
	_ store.Lister    = (*Store)(nil)
	_ store.UserIndex = (*Store)(nil)
	_ store.Renamer   = (*Store)(nil)
	_ store.Locker    = (*Store)(nil)
	_ store.Taker     = (*Store)(nil)
)

// DefaultPruneBatchSize is how many expired rows one statement of
// [Store.Prune] deletes when [Options.PruneBatchSize] is zero.
const DefaultPruneBatchSize = 1000

// Limits on the metadata of a record. User IDs are index keys and are
// refused when they break the limit; IP and user agent are descriptive and
// are cleaned instead (see [Store.Apply]).
const (
	maxUserID    = 255
	maxIP        = 255
	maxUserAgent = 4096
	maxToken     = 255
)

// Options configures a [Store]. The zero value selects every default.
type Options struct {
	// Table is the session table's name: an ASCII identifier (letters,
	// digits, underscores, not starting with a digit) of at most 44
	// characters. The lock table is Table + "_locks", the remember-me
	// token table Table + "_tokens", the table of applied changes
	// (PostgreSQL and MySQL) Table + "_ops". Empty means [DefaultTable],
	// "sesame_sessions".
	Table string

	// CompressThreshold is the value size in bytes above which values are
	// gzip-compressed before they are stored (see [store.Compress]). Zero
	// means [store.DefaultCompressThreshold] (1 KiB); a negative value
	// never compresses.
	CompressThreshold int

	// MaxRecordSize is the largest record (see [store.Size]) Apply writes;
	// a change that would make a record larger fails with
	// [store.ErrTooLarge] and leaves the stored record as it was. Zero means
	// [store.DefaultMaxRecordSize] (1 MiB). It must not be negative.
	MaxRecordSize int

	// PruneBatchSize is how many expired rows one DELETE statement of
	// [Store.Prune] removes, which bounds how long it holds locks. Zero
	// means [DefaultPruneBatchSize] (1000). It must not be negative.
	PruneBatchSize int

	// Logger receives the errors of the background pruner started by
	// [Store.StartPruner]. Nil means [slog.Default] at the time of logging.
	Logger *slog.Logger
}

// tombstoneData is the data column of the tombstone sesame leaves for an
// ended session (store.GoneField set to true, nothing else): the touch path,
// which does not decode the record, refuses it by its bytes.
var tombstoneData = func() []byte {
	b, err := store.EncodeValues(map[string][]byte{store.GoneField: []byte("true")}, 0)
	if err != nil {
		panic(err)
	}
	return b
}()

// Store is a [store.Store] on a SQL database. It also implements
// [store.Pruner], [store.Lister], [store.UserIndex], [store.Renamer],
// [store.Locker] and [store.Taker], and keeps remember-me tokens as a
// [store.TokenStore]. All methods are safe for concurrent
// use, and several processes may share one database.
type Store struct {
	db        *sql.DB
	dialect   Dialect
	eng       *engine.Engine // the driver's part, which the engine package registered
	table     string
	ownsDB    bool
	threshold int
	maxSize   int
	batch     int
	logger    *slog.Logger
	now       func() time.Time

	// wsem serialises this store's writes on SQLite, which has a single
	// writer per database: waiting here (honouring ctx) instead of in
	// SQLite's busy handler means concurrent Applies never see
	// SQLITE_BUSY. It is nil for the other dialects.
	wsem chan struct{}

	q  queries
	tq tokenQueries
	oq opQueries

	// noPipeline makes PostgreSQL use database/sql transactions like the
	// other engines; benchmarks set it to measure what pipelining saves.
	noPipeline bool

	// inPlaceOff turns the in-place path off (see inplace.go), for tests
	// and benchmarks of the transaction path; noBatch is set when the
	// pool's MySQL connections cannot run batches.
	inPlaceOff, noBatch atomic.Bool
	// inPlaced counts the changes applied in place, batched the MySQL
	// transactions of lockedUpdate sent as two batches, for tests.
	inPlaced, batched atomic.Int64
	// lastTry is the time (Unix µs) the last try of a change got from
	// tryTime.
	lastTry atomic.Int64
	// stmts holds the text of the in-place statements by shape (see
	// inplace.go).
	stmts sync.Map
}

// New returns a Store that keeps sessions in db, a database of the given
// dialect opened with the matching driver (see [Dialect]). The dialect's
// engine package must be linked; without it, New fails with an error
// naming the import. New does no I/O and starts no goroutine: call
// [Store.Migrate] to create the tables, and [Store.StartPruner] for
// background pruning.
//
// The caller keeps ownership of db: [Store.Close] leaves it open. For
// MySQL, a DSN with interpolateParams=true saves a round trip per
// statement, and with multiStatements=true as well a change is one round
// trip (parseTime is not needed). For SQLite, the store serialises
// its own writes and Migrate turns WAL mode on; when other processes write
// to the same file, open it with a busy timeout
// (_pragma=busy_timeout(10000)) so they wait for each other. [Open] does
// all of this.
func New(db *sql.DB, dialect Dialect, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !dialect.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", dialect)
	}
	eng := engine.Lookup(dialect.String())
	if eng == nil {
		return nil, fmt.Errorf("sqlstore: no engine for the %v dialect: import _ %q", dialect, dialect.enginePath())
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	if err := checkTable(table); err != nil {
		return nil, err
	}
	s := &Store{
		db:        db,
		dialect:   dialect,
		eng:       eng,
		table:     table,
		threshold: opts.CompressThreshold,
		maxSize:   opts.MaxRecordSize,
		batch:     opts.PruneBatchSize,
		logger:    opts.Logger,
		now:       time.Now,
	}
	switch {
	case s.threshold == 0:
		s.threshold = store.DefaultCompressThreshold
	case s.threshold < 0:
		s.threshold = 0 // store.Compress never compresses
	}
	switch {
	case s.maxSize == 0:
		s.maxSize = store.DefaultMaxRecordSize
	case s.maxSize < 0:
		return nil, fmt.Errorf("sqlstore: negative MaxRecordSize %d", s.maxSize)
	}
	switch {
	case s.batch == 0:
		s.batch = DefaultPruneBatchSize
	case s.batch < 0:
		return nil, fmt.Errorf("sqlstore: negative PruneBatchSize %d", s.batch)
	}
	if dialect == SQLite {
		s.wsem = make(chan struct{}, 1)
	}
	s.q = buildQueries(dialect, table, s.batch)
	s.tq = buildTokenQueries(dialect, table, s.batch)
	s.oq = buildOpQueries(dialect, table, s.batch)
	return s, nil
}

// DB returns the database the store uses.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Table returns the name of the session table.
func (s *Store) Table() string { return s.table }

// Close closes the database if the store opened it ([Open]); a store made
// with [New] leaves the caller's *sql.DB open. Stop background pruners
// before closing.
func (s *Store) Close() error {
	if !s.ownsDB {
		return nil
	}
	return s.db.Close()
}

// queries holds the statements of one store, built once by New.
type queries struct {
	load, lockRow, update, updateData, insert, upsert, deleteExpiredKey, deleteKey, exists string
	listPage, userSessions, deleteUser                                                     string
	prune, pruneLocks                                                                      string
	lock, lockInsert, lockDeleteExpired, unlock                                            string
	touchPrefix, touchWhere                                                                string
}

// recordCols are the columns of a record that scanRecord reads;
// insertCols those a new row gets after its id.
const (
	recordCols = `data, vals, user_id, ip, user_agent, created, last_seen, expires`
	insertCols = `data, vals, size, user_id, ip, user_agent, created, last_seen, expires`
)

func buildQueries(d Dialect, table string, batch int) queries {
	t := d.quote(table)
	l := d.quote(table + "_locks")
	r := d.rebind
	var q queries
	q.load = r(`SELECT ` + recordCols + ` FROM ` + t + ` WHERE id = ? AND expires > ?`)
	q.lockRow = q.load
	if d != SQLite { // SQLite's BEGIN IMMEDIATE already holds the write lock
		q.lockRow += ` FOR UPDATE`
	}
	q.update = r(`UPDATE ` + t + ` SET data = ?, vals = ?, size = ?, user_id = ?, ip = ?, user_agent = ?, last_seen = ?, expires = ? WHERE id = ?`)
	q.updateData = r(`UPDATE ` + t + ` SET data = ?, vals = ?, size = ? WHERE id = ?`)
	insert := `INSERT INTO ` + t + ` (id, ` + insertCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	q.insert = r(insert)
	if d != MySQL {
		// Create in one statement: insert, or replace an expired row.
		// No row changed means a live record holds the key.
		q.upsert = r(insert + ` ON CONFLICT (id) DO UPDATE SET data = excluded.data, vals = excluded.vals, size = excluded.size, user_id = excluded.user_id, ` +
			`ip = excluded.ip, user_agent = excluded.user_agent, created = excluded.created, ` +
			`last_seen = excluded.last_seen, expires = excluded.expires WHERE ` + t + `.expires <= ?`)
		q.lock = r(`INSERT INTO ` + l + ` (id, token, expires) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE ` +
			`SET token = excluded.token, expires = excluded.expires WHERE ` + l + `.expires <= ? OR ` + l + `.token = excluded.token`)
	}
	q.deleteExpiredKey = r(`DELETE FROM ` + t + ` WHERE id = ? AND expires <= ?`)
	q.deleteKey = r(`DELETE FROM ` + t + ` WHERE id = ?`)
	q.exists = r(`SELECT 1 FROM ` + t + ` WHERE id = ? AND expires > ? AND data <> ?`)
	q.listPage = r(`SELECT id, ` + recordCols + ` FROM ` + t + ` WHERE expires > ? AND id > ? ORDER BY id LIMIT ` + fmt.Sprint(listPageSize))
	// user_id <> '' lets PostgreSQL and SQLite use their partial index.
	q.userSessions = r(`SELECT id, user_id, ip, user_agent, created, last_seen, expires FROM ` + t +
		` WHERE user_id = ? AND user_id <> '' AND expires > ? ORDER BY created, id`)
	q.deleteUser = r(`DELETE FROM ` + t + ` WHERE user_id = ? AND user_id <> '' AND expires > ? AND id <> ?`)
	n := fmt.Sprint(batch)
	if d == MySQL {
		q.prune = `DELETE FROM ` + t + ` WHERE expires <= ? LIMIT ` + n
		q.pruneLocks = `DELETE FROM ` + l + ` WHERE expires <= ? LIMIT ` + n
	} else {
		q.prune = r(`DELETE FROM ` + t + ` WHERE id IN (SELECT id FROM ` + t + ` WHERE expires <= ? LIMIT ` + n + `)`)
		q.pruneLocks = r(`DELETE FROM ` + l + ` WHERE id IN (SELECT id FROM ` + l + ` WHERE expires <= ? LIMIT ` + n + `)`)
	}
	q.lockInsert = r(`INSERT INTO ` + l + ` (id, token, expires) VALUES (?, ?, ?)`)
	q.lockDeleteExpired = r(`DELETE FROM ` + l + ` WHERE id = ? AND (expires <= ? OR token = ?)`)
	q.unlock = r(`DELETE FROM ` + l + ` WHERE id = ? AND token = ?`)
	q.touchPrefix = `UPDATE ` + t + ` SET last_seen = ?`
	// A tombstone (store.GoneField) is no live record to touch.
	q.touchWhere = ` WHERE id = ? AND expires > ? AND data <> ?`
	return q
}

// errNoRows is what a query of one row returns when there is none.
var errNoRows = sql.ErrNoRows

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Load returns the live record under key, in one query. See [store.Store].
func (s *Store) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if !store.ValidKey(key) {
		return store.Record{}, false, fmt.Errorf("sqlstore: load: %w", store.ErrMalformedKey)
	}
	now := s.dialect.timeArg(normTime(s.now()))
	var rec store.Record
	var raw rawValues
	var ok bool
	var err error
	err = s.retry(ctx, true, func() (err error) {
		if s.eng.Pipeline != nil && !s.noPipeline {
			rec, raw, ok, err = s.loadNative(ctx, key, now)
			return err
		}
		rec, raw, ok, err = scanRecord(s.db.QueryRowContext(ctx, s.q.load, key, now))
		return err
	})
	if err != nil {
		return store.Record{}, false, s.dbErr(ctx, "load", err)
	}
	if !ok {
		return store.Record{}, false, nil
	}
	if rec.Values, err = s.decodeValues(raw); err != nil {
		return store.Record{}, false, fmt.Errorf("sqlstore: load: %w", err)
	}
	return rec, true, nil
}

// loadNative runs Load's query on an engine with a native connection
// (PostgreSQL through pgx), reached through database/sql's Conn.Raw.
// QueryRowContext would start a goroutine per query to watch a context that
// can end (every store call of sesame has a deadline), and wake it when the
// rows close: on a 2-core machine that cost the client about 55 µs of CPU
// and 50 µs of wall time per Load, as much as the query itself. A
// connection that broke is discarded. Errors are unclassified.
func (s *Store) loadNative(ctx context.Context, key string, now any) (rec store.Record, raw rawValues, ok bool, err error) {
	err = s.onNative(ctx, func(pc engine.Conn) error {
		return pc.QueryRow(ctx, s.q.load, []any{key, now}, raw.dest(&rec)...)
	})
	if errors.Is(err, errNoRows) {
		return store.Record{}, rawValues{}, false, nil
	}
	if err != nil {
		return store.Record{}, rawValues{}, false, err
	}
	return rec, raw, true, nil
}

// scanRecord scans the columns of recordCols; ok is false on no row.
func scanRecord(row *sql.Row) (rec store.Record, raw rawValues, ok bool, err error) {
	err = row.Scan(raw.dest(&rec)...)
	if errors.Is(err, errNoRows) {
		return store.Record{}, rawValues{}, false, nil
	}
	if err != nil {
		return store.Record{}, rawValues{}, false, err
	}
	return rec, raw, true, nil
}

// rawValues are the columns that hold a record's values, as read: the
// data blob and, from schema version 2, the vals object (see vals.go).
type rawValues struct{ data, vals []byte }

// dest returns the scan destinations of recordCols, into r and rec.
func (r *rawValues) dest(rec *store.Record) []any {
	return []any{&r.data, &r.vals, &rec.UserID, &rec.IP, &rec.UserAgent,
		timeCol{&rec.Created}, timeCol{&rec.LastSeen}, timeCol{&rec.Expires}}
}

// decodeValues decodes the values of a row: from vals when it has them,
// from the data blob of earlier versions and tombstones otherwise.
func (s *Store) decodeValues(r rawValues) (map[string][]byte, error) {
	if r.vals != nil {
		return decodeVals(r.vals, s.maxSize)
	}
	return store.DecodeValues(r.data, s.maxSize)
}

// Apply applies c atomically to the record under key. See [store.Store].
//
// A create is one INSERT that also replaces an expired row (on MySQL an
// INSERT, followed only on a duplicate key by the deletion of an expired
// row and a second INSERT). A change of metadata only (a touch, a new user)
// is one UPDATE. On PostgreSQL and MySQL, any other change is applied by
// the server in one statement (see "Atomic changes" in the package
// documentation) when it can prove the result to be store.Merge's.
// Otherwise, and always on SQLite, it is one short transaction: the row is
// locked (SELECT ... FOR UPDATE; BEGIN IMMEDIATE on SQLite), merged in Go
// with [store.Merge], checked against MaxRecordSize and written back. Either
// way concurrent changes to one record never lose each other's writes.
// Round trips: one in place (on MySQL a batch of statements); two for the
// transaction (pipelined on PostgreSQL, two batches on MySQL).
//
// On PostgreSQL and MySQL a change with an ID (c.ID) is applied at most
// once: its ID is inserted into the ops table (Table + "_ops") in the
// transaction that writes the record, and a change whose ID is there
// already is answered with success and changes nothing. So Apply can
// repeat a change whose COMMIT got no answer until it learns the outcome;
// when ctx ends first, the error wraps [store.ErrOutcomeUnknown]. On MySQL
// a create with an ID is a transaction of five statements sent as one
// batch; on PostgreSQL it stays one statement. A touch is idempotent and
// needs no ID.
//
// Whether a record is live is decided by the store's clock (time.Now),
// never by c.Now, which only sets LastSeen (and Created on create); times
// are stored to the microsecond. Field names and the user ID are checked
// with [store.CheckChange] before any I/O (an error wrapping
// [store.ErrInvalid]); IP and UserAgent are stored as valid UTF-8 (invalid
// bytes and NUL become U+FFFD), cut to 255 and 4096 bytes.
func (s *Store) Apply(ctx context.Context, key string, c store.Change) error {
	if !store.ValidKey(key) {
		return fmt.Errorf("sqlstore: apply: %w", store.ErrMalformedKey)
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	now := s.prepare(&c)
	switch {
	case c.Create:
		return s.create(ctx, key, c, now)
	case !c.Clear && len(c.Delete) == 0 && len(c.Set) == 0 && len(c.Incr) == 0 && len(c.Push) == 0:
		return s.touch(ctx, key, c, now)
	}
	if p, ok := s.planInPlace(&c); ok {
		if err := s.applyInPlace(ctx, key, &c, p, now); !errors.Is(err, errFallback) {
			return err
		}
	}
	d := s.dialect
	_, err := s.lockedUpdate(ctx, "apply", key, c.ID, now, func(cur store.Record, raw rawValues, ok bool) (write, error) {
		if !ok {
			return write{}, fmt.Errorf("sqlstore: apply: %w", store.ErrNotFound)
		}
		var err error
		if cur.Values, err = s.decodeValues(raw); err != nil {
			return write{}, fmt.Errorf("sqlstore: apply: %w", err)
		}
		rec, err := store.Merge(cur, true, c, now)
		if err != nil {
			return write{}, fmt.Errorf("sqlstore: apply: %w", err)
		}
		e, err := s.encode(rec)
		if err != nil {
			return write{}, fmt.Errorf("sqlstore: apply: %w", err)
		}
		return write{query: s.q.update, args: []any{e.data, e.vals, e.size, rec.UserID, rec.IP, rec.UserAgent,
			d.timeArg(rec.LastSeen), d.timeArg(rec.Expires), key}}, nil
	})
	return err
}

// prepare normalises the times and metadata of c, whose input was checked
// by store.CheckChange. It returns the store's clock, which alone decides
// whether a record is live (see [store.Merge]); c.Now, when zero, becomes
// that time too.
func (s *Store) prepare(c *store.Change) time.Time {
	now := normTime(s.now())
	if c.Now.IsZero() {
		c.Now = now
	} else {
		c.Now = normTime(c.Now)
	}
	if !c.Expires.IsZero() {
		c.Expires = normTime(c.Expires)
	}
	if !c.Created.IsZero() {
		c.Created = normTime(c.Created)
	}
	if c.SetUser {
		c.IP = cleanText(c.IP, maxIP)
		c.UserAgent = cleanText(c.UserAgent, maxUserAgent)
	}
	return now
}

// encoded are the values of a record as a row holds them.
type encoded struct {
	data []byte
	vals any // the vals column: a string, or nil for NULL
	size int64
}

// encode checks the size of rec and encodes its values: in vals (see
// vals.go), or for a tombstone in the data blob of earlier versions, whose
// bytes the touch path recognises.
func (s *Store) encode(rec store.Record) (encoded, error) {
	n := store.Size(rec.Values)
	if n > s.maxSize {
		return encoded{}, fmt.Errorf("session of %d bytes is over the limit of %d bytes: %w", n, s.maxSize, store.ErrTooLarge)
	}
	if store.IsTombstone(rec) {
		data, err := store.EncodeValues(rec.Values, s.threshold)
		return encoded{data: data, size: int64(n)}, err
	}
	return encoded{data: valsMarker, vals: encodeVals(rec.Values, s.threshold), size: int64(n)}, nil
}

// create inserts the record c describes, replacing an expired one.
func (s *Store) create(ctx context.Context, key string, c store.Change, now time.Time) error {
	rec, err := store.Merge(store.Record{}, false, c, now)
	if err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	e, err := s.encode(rec)
	if err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	d := s.dialect
	args := []any{key, e.data, e.vals, e.size, rec.UserID, rec.IP, rec.UserAgent,
		d.timeArg(rec.Created), d.timeArg(rec.LastSeen), d.timeArg(rec.Expires)}
	id := s.opID(c.ID)
	switch {
	case id != "" && d == Postgres:
		return s.createOnce(ctx, id, args, now)
	case id != "":
		// MySQL: the INSERT and the identity in one transaction, sent as
		// one batch when the connections can.
		if err := s.createBatch(ctx, id, args, now); !errors.Is(err, errFallback) {
			return err
		}
		_, err := s.inTx(ctx, "apply", id, func(q querier) ([]byte, error) {
			ok, err := s.insertOrReplaceExpired(ctx, q, s.q.upsert, s.q.insert, s.q.deleteExpiredKey, args, now)
			if err != nil {
				return nil, s.dbErr(ctx, "apply", err)
			}
			if !ok {
				return nil, fmt.Errorf("sqlstore: apply: %w", store.ErrExists)
			}
			return nil, nil
		})
		return err
	}
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	defer s.unlockWrite()
	var ok bool
	err = s.runWrite(ctx, "apply", false, func() (bool, error) {
		ok, err = s.insertOrReplaceExpired(ctx, s.db, s.q.upsert, s.q.insert, s.q.deleteExpiredKey, args, now)
		if err != nil {
			return s.maybeApplied(ctx, err), s.dbErr(ctx, "apply", err)
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sqlstore: apply: %w", store.ErrExists)
	}
	return nil
}

// createOnce is create on PostgreSQL for a change with an identity: one
// statement (see buildOpQueries) that writes the record and remembers the
// identity, unless the identity is remembered already.
func (s *Store) createOnce(ctx context.Context, id string, args []any, now time.Time) error {
	d := s.dialect
	args = append(args, d.timeArg(now), opKey(id), d.timeArg(normTime(s.now())))
	err := s.runWrite(ctx, "apply", true, func() (bool, error) {
		// The statement reports the rows it remembered: one when it wrote
		// the record.
		var wrote int64
		res, err := s.db.ExecContext(ctx, s.oq.createPG, args...)
		if err == nil {
			wrote, err = res.RowsAffected()
		}
		switch {
		case s.isDuplicate(err):
			// A twin of this change committed while this one ran.
			return false, appliedError{}
		case err != nil:
			return s.maybeApplied(ctx, err), s.dbErr(ctx, "apply", err)
		case wrote > 0:
			return false, nil
		}
		// A live record holds the key, or the identity is remembered:
		// ask again, outside the statement's snapshot, which may predate
		// a twin's commit.
		if err := s.applied(ctx, "apply", id); err != nil {
			return false, err
		}
		return false, fmt.Errorf("sqlstore: apply: %w", store.ErrExists)
	})
	if _, ok := asApplied(err); ok {
		return nil
	}
	return err
}

// createBatch is create on MySQL for a change with an identity: a
// transaction that deletes an expired row under the key, inserts the
// record and remembers the identity, sent in one round trip (see
// engine.Engine.Batch). A duplicate key means that a live record holds the
// key, or that the identity is remembered: an earlier try committed. It
// returns errFallback when the pool's connections cannot run batches.
func (s *Store) createBatch(ctx context.Context, id string, args []any, now time.Time) error {
	if s.eng.Batch == nil || s.noBatch.Load() {
		return errFallback
	}
	d := s.dialect
	q := `START TRANSACTION; ` + s.q.deleteExpiredKey + `; ` + s.q.insert + `; ` + s.oq.insert + `; COMMIT`
	bargs := make([]any, 0, len(args)+5)
	bargs = append(bargs, args[0], d.timeArg(now))
	bargs = append(bargs, args...)
	bargs = append(bargs, opKey(id), d.timeArg(normTime(s.now())), nil)
	err := s.runWrite(ctx, "apply", true, func() (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("sqlstore: apply: %w", err)
		}
		_, err := s.runBatch(ctx, q, bargs)
		switch {
		case err == nil, errors.Is(err, errFallback):
			return false, err
		case s.isDuplicate(err):
			// The server rolled the transaction back: was it this
			// change, committed by an earlier try?
			if aerr := s.applied(ctx, "apply", id); aerr != nil {
				return false, aerr
			}
			return false, fmt.Errorf("sqlstore: apply: %w", store.ErrExists)
		}
		return s.maybeApplied(ctx, err), s.dbErr(ctx, "apply", err)
	})
	if _, ok := asApplied(err); ok {
		return nil
	}
	return err
}

// insertOrReplaceExpired inserts a row whose key is args[0], replacing a row
// under that key only when it has expired at now. It reports whether the row
// was written; false means a live row holds the key. Errors are unclassified.
func (s *Store) insertOrReplaceExpired(ctx context.Context, q querier, upsert, insert, deleteExpired string, args []any, now time.Time) (bool, error) {
	nowArg := s.dialect.timeArg(now)
	if s.dialect != MySQL {
		res, err := q.ExecContext(ctx, upsert, append(args, nowArg)...)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n > 0, err
	}
	// MySQL's ON DUPLICATE KEY UPDATE has no WHERE, and the count of rows
	// it reports depends on the DSN's clientFoundRows: insert first, and
	// only on a duplicate key delete an expired row and insert again.
	_, err := q.ExecContext(ctx, insert, args...)
	if !s.isDuplicate(err) {
		return err == nil, err
	}
	res, err := q.ExecContext(ctx, deleteExpired, args[0], nowArg)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	_, err = q.ExecContext(ctx, insert, args...)
	if s.isDuplicate(err) {
		return false, nil
	}
	return err == nil, err
}

// touch applies a change of metadata only, in one UPDATE.
func (s *Store) touch(ctx context.Context, key string, c store.Change, now time.Time) error {
	d := s.dialect
	var b strings.Builder
	b.WriteString(s.q.touchPrefix)
	args := make([]any, 0, 7)
	args = append(args, d.timeArg(c.Now))
	if !c.Expires.IsZero() {
		b.WriteString(`, expires = ?`)
		args = append(args, d.timeArg(c.Expires))
	}
	if c.SetUser {
		b.WriteString(`, user_id = ?, ip = ?, user_agent = ?`)
		args = append(args, c.UserID, c.IP, c.UserAgent)
	}
	b.WriteString(s.q.touchWhere)
	args = append(args, key, d.timeArg(now), tombstoneData)
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlstore: apply: %w", err)
	}
	defer s.unlockWrite()
	n, err := s.execRepeatable(ctx, "apply", d.rebind(b.String()), args...) // a touch is idempotent
	if err != nil {
		return err
	}
	if n == 0 && d == MySQL {
		// MySQL counts changed rows, not matched ones (unless the DSN sets
		// clientFoundRows): a touch that rewrites identical values reports
		// 0. Tell that apart from a missing record.
		var one int
		err := s.db.QueryRowContext(ctx, s.q.exists, key, d.timeArg(now), tombstoneData).Scan(&one)
		switch {
		case err == nil:
			n = 1
		case !errors.Is(err, sql.ErrNoRows):
			return s.dbErr(ctx, "apply", err)
		}
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: apply: %w", store.ErrNotFound)
	}
	return nil
}

// Delete removes the record under key; a missing record is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !store.ValidKey(key) {
		return fmt.Errorf("sqlstore: delete: %w", store.ErrMalformedKey)
	}
	_, err := s.execWrite(ctx, "delete", s.q.deleteKey, key)
	return err
}

// execWrite runs one idempotent writing statement (under the write lock on
// SQLite) and returns the number of rows it affected, with errors
// classified. See retry for when it runs the statement again.
func (s *Store) execWrite(ctx context.Context, op, query string, args ...any) (int, error) {
	if err := s.lockWrite(ctx); err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer s.unlockWrite()
	n, err := s.execRepeatable(ctx, op, query, args...)
	return int(n), err
}

// execRepeatable runs one idempotent writing statement with the retries of
// runWrite and returns the number of rows it affected, with errors
// classified: when ctx ends with the outcome of a run unknown, the error
// wraps store.ErrOutcomeUnknown.
func (s *Store) execRepeatable(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := s.runWrite(ctx, op, true, func() (bool, error) {
		res, err := s.db.ExecContext(ctx, query, args...)
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			return s.maybeApplied(ctx, err), s.dbErr(ctx, op, err)
		}
		return false, nil
	})
	return n, err
}

// checkUserID refuses user IDs that cannot be indexed the same way on every
// engine.
func checkUserID(id string) error {
	switch {
	case len(id) > maxUserID:
		return fmt.Errorf("user ID of %d bytes is longer than %d", len(id), maxUserID)
	case !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0:
		return errors.New("user ID is not UTF-8 text without NUL")
	}
	return nil
}

// cleanText makes s storable in a text column of every engine: valid UTF-8
// without NUL (PostgreSQL refuses both), at most max bytes, cut at a rune
// boundary.
func cleanText(s string, max int) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && len(s) <= max {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) > max {
		i := max
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return s
}

func (s *Store) log() *slog.Logger {
	if s.logger != nil {
		return s.logger
	}
	return slog.Default()
}
