package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/redisstore"
	"github.com/sesamego/sesame/sqlstore"
	_ "github.com/sesamego/sesame/sqlstore/mysql" // the engines --store accepts
	_ "github.com/sesamego/sesame/sqlstore/postgres"
	_ "github.com/sesamego/sesame/sqlstore/sqlite"
	"github.com/sesamego/sesame/store"
)

// storeEnv is the environment variable that --store defaults to.
const storeEnv = "SESAME_STORE"

// defaultTimeout bounds the commands that read or write a few sessions.
const defaultTimeout = time.Minute

// storeFlags are the flags of every command that opens a store.
type storeFlags struct {
	url     string
	table   string
	prefix  string
	timeout time.Duration
	json    bool
	// create lets open create a missing SQLite database: only migrate does.
	create bool
}

// addStoreFlags defines the store flags on fs; timeout is the default of
// --timeout (0: none).
func (c *cli) addStoreFlags(fs *flag.FlagSet, timeout time.Duration) *storeFlags {
	sf := &storeFlags{timeout: timeout}
	def := "none"
	if timeout > 0 {
		def = formatAge(timeout)
	}
	fs.StringVar(&sf.url, "store", "", "the store `URL` (default $"+storeEnv+")")
	fs.StringVar(&sf.table, "table", "", "the SQL session table `NAME` (default "+sqlstore.DefaultTable+")")
	fs.StringVar(&sf.prefix, "prefix", "", "the Redis key `PREFIX` (default "+fmt.Sprintf("%q", redisstore.DefaultPrefix)+")")
	fs.Func("timeout", "give up after `DUR`; 0 for never (default "+def+")", func(s string) error {
		if s == "0" {
			sf.timeout = 0
			return nil
		}
		d, err := cookies.ParseDuration(s)
		if err != nil {
			return err
		}
		sf.timeout = d
		return nil
	})
	fs.BoolVar(&sf.json, "json", false, "print JSON")
	return sf
}

// Kinds of store.
const (
	kindRedis    = "redis"
	kindPostgres = "postgres"
	kindMySQL    = "mysql"
	kindSQLite   = "sqlite"
	kindFile     = "file"
)

// opened is an open store.
type opened struct {
	kind  string
	st    store.Store
	sql   *sqlstore.Store // for SQL stores
	file  string          // the directory of a file store
	close func() error
}

// storeKind tells which kind of store a URL names, without I/O other than
// looking at the file system for file: and bare paths.
func storeKind(u string) (kind, dir string, err error) {
	scheme, rest, _ := strings.Cut(u, ":")
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel":
		return kindRedis, "", nil
	case "postgres", "postgresql":
		return kindPostgres, "", nil
	case "mysql":
		return kindMySQL, "", nil
	case "sqlite", "sqlite3":
		return kindSQLite, "", nil
	case "file":
		path := strings.TrimPrefix(rest, "//")
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			return kindFile, path, nil
		}
		if looksSQLite(path) || strings.Contains(rest, "?") {
			return kindSQLite, "", nil // a file: URI of an SQLite database
		}
		return kindFile, path, nil // open reports a missing directory
	}
	if fi, err := os.Stat(u); err == nil && fi.IsDir() {
		return kindFile, u, nil
	}
	if looksSQLite(u) {
		return kindSQLite, "", nil
	}
	return "", "", errors.New("unknown store: want redis://, postgres://, mysql://, sqlite:PATH, a .db file or file:DIR")
}

func looksSQLite(path string) bool {
	p := strings.ToLower(path)
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return strings.HasSuffix(p, ".db") || strings.HasSuffix(p, ".sqlite") || strings.HasSuffix(p, ".sqlite3")
}

// open opens the store the flags name. Store errors never repeat the URL,
// which may hold a password.
func (c *cli) open(ctx context.Context, sf *storeFlags) (*opened, error) {
	u := sf.url
	if u == "" {
		u = c.getenv(storeEnv)
	}
	if u == "" {
		return nil, usageErr("no store: pass --store URL or set $%s", storeEnv)
	}
	kind, dir, err := storeKind(u)
	if err != nil {
		return nil, usageErr("%w", err)
	}
	if sf.table != "" && kind != kindPostgres && kind != kindMySQL && kind != kindSQLite {
		return nil, usageErr("--table applies to SQL stores only")
	}
	if sf.prefix != "" && kind != kindRedis {
		return nil, usageErr("--prefix applies to Redis stores only")
	}
	switch kind {
	case kindRedis:
		s, err := redisstore.Open(u, redisstore.Options{Prefix: sf.prefix})
		if err != nil {
			return nil, usageErr("%w", err)
		}
		return &opened{kind: kind, st: s, close: s.Close}, nil
	case kindFile:
		// filestore.New creates a missing directory: a typo must not.
		fi, err := os.Stat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("file store: %s does not exist (file:DIR names an existing filestore directory)", dir)
		}
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("file store: %s is not a directory", dir)
		}
		if err := isFilestore(dir); err != nil {
			return nil, err
		}
		s, err := filestore.NewWithOptions(dir, filestore.Options{Now: c.now})
		if err != nil {
			return nil, err
		}
		return &opened{kind: kind, st: s, file: dir, close: func() error { return nil }}, nil
	default:
		if kind == kindSQLite && !sf.create {
			// Opening an SQLite database creates the file: a typo must not.
			if path := sqlitePath(u); path != "" {
				if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("sqlite: no database at %s (sesame migrate --store ... creates one)", path)
				}
			}
		}
		s, err := sqlstore.Open(ctx, u, sqlstore.Options{Table: sf.table})
		if err != nil {
			return nil, err
		}
		return &opened{kind: kind, st: s, sql: s, close: s.Close}, nil
	}
}

// sqlitePath returns the file an SQLite store URL names ("sqlite:PATH",
// "sqlite://PATH", "file:PATH?…", "PATH.db"), or "" for an in-memory
// database.
func sqlitePath(u string) string {
	p := u
	if scheme, rest, ok := strings.Cut(u, ":"); ok {
		switch strings.ToLower(scheme) {
		case "sqlite", "sqlite3":
			p = strings.TrimPrefix(rest, "//")
			p = strings.TrimPrefix(p, "file:")
		case "file":
			p = strings.TrimPrefix(rest, "//")
		}
	}
	p, query, _ := strings.Cut(p, "?")
	if p == "" || p == ":memory:" || strings.Contains(query, "mode=memory") {
		return ""
	}
	return p
}

// isFilestore reports whether dir can be a filestore directory: everything
// in it is one of the subdirectories a filestore makes (00 to ff, created on
// first use, and tokens), so a wrong directory is refused instead of scanned.
func isFilestore(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() || (n != filestore.TokensDir && (len(n) != 2 || !isHex(n))) {
			return fmt.Errorf("file store: %s does not look like a filestore directory (it holds %q)", dir, n)
		}
	}
	return nil
}

// withStore opens the store, runs fn with a context bounded by --timeout, and
// closes the store.
func (c *cli) withStore(ctx context.Context, sf *storeFlags, fn func(ctx context.Context, o *opened) error) error {
	if sf.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sf.timeout)
		defer cancel()
	}
	o, err := c.open(ctx, sf)
	if err != nil {
		return err
	}
	err = fn(ctx, o)
	if cerr := o.close(); err == nil && cerr != nil {
		err = cerr
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		err = fmt.Errorf("%w (--timeout %v)", err, sf.timeout)
	}
	return err
}

// capability returns the store as a T, or an error naming what is missing.
func capability[T any](o *opened, what string) (T, error) {
	t, ok := o.st.(T)
	if !ok {
		return t, fmt.Errorf("the %s store cannot %s", o.kind, what)
	}
	return t, nil
}

// expiredCounter returns a function that counts the expired records still in
// the store, for the prune progress bar, or nil when the store cannot tell
// cheaply (Redis expires records itself).
func (o *opened) expiredCounter() func(ctx context.Context, now time.Time) (int, error) {
	switch {
	case o.sql != nil:
		return o.countExpiredSQL
	case o.file != "":
		return o.countExpiredFiles
	}
	return nil
}

// countExpiredSQL counts the rows whose expiry has passed, with the time
// representation sqlstore documents for each engine (sqlstore.Schema).
func (o *opened) countExpiredSQL(ctx context.Context, now time.Time) (int, error) {
	s := o.sql
	now = now.UTC().Truncate(time.Microsecond)
	var arg any = now
	q := `SELECT COUNT(*) FROM "` + s.Table() + `" WHERE expires <= ?`
	switch s.Dialect() {
	case sqlstore.SQLite:
		arg = now.UnixMicro()
	case sqlstore.MySQL:
		q = "SELECT COUNT(*) FROM `" + s.Table() + "` WHERE expires <= ?"
	case sqlstore.Postgres:
		q = strings.Replace(q, "?", "$1", 1)
	}
	var n int
	if err := s.DB().QueryRowContext(ctx, q, arg).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting expired sessions: %w", err)
	}
	return n, nil
}

// countExpiredFiles counts the record files whose modification time, which
// filestore sets to the record's expiry, has passed.
func (o *opened) countExpiredFiles(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		sub := filepath.Join(o.file, fmt.Sprintf("%02x", i))
		entries, err := os.ReadDir(sub)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !store.ValidKey(e.Name()) {
				continue
			}
			if info, err := e.Info(); err == nil && !info.ModTime().After(now) {
				n++
			}
		}
	}
	return n, nil
}
