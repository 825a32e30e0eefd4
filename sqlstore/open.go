package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// sqlitePragmas are set on every SQLite connection that [Open] makes: WAL
// lets readers run beside the writer, busy_timeout makes a writer of
// another process wait for the lock instead of failing, synchronous=NORMAL
// is durable across application crashes in WAL mode (a power cut may lose
// the last commits), and foreign_keys is SQLite's recommended setting.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"

// Open opens the database that target names, with the driver and settings
// it needs, checks that it answers, and returns a store on it that
// [Store.Close] closes. It does not create tables: call [Store.Migrate].
// target is one of:
//
//	postgres://user:pass@host:5432/db?sslmode=disable   PostgreSQL, passed to pgx as is
//	postgresql://...                                     the same
//	mysql://user:pass@host:3306/db?tls=true              MySQL or MariaDB (port 3306 by default)
//	mysql://user@/db?socket=/run/mysqld/mysqld.sock      the same over a Unix socket
//	mysql:user:pass@tcp(host:3306)/db                    a go-sql-driver/mysql DSN
//	sqlite:path/to/sessions.db                           SQLite; sqlite::memory: for a private in-memory database
//	file:path/to/sessions.db?mode=rwc                    SQLite through a file: URI
//	path/to/sessions.db (or .sqlite, .sqlite3)           SQLite
//
// The query parameters of a mysql:// URL are go-sql-driver/mysql's. Open
// sets parseTime=true and, unless the target says otherwise,
// interpolateParams=true (one round trip per statement instead of a
// prepare and an execute). SQLite databases are opened in WAL mode with a
// busy timeout of 10 s, synchronous=NORMAL and foreign keys on.
//
// Errors never repeat target, which may hold a password. A database that
// does not answer gives an error wrapping [store.ErrUnavailable].
func Open(ctx context.Context, target string, opts Options) (*Store, error) {
	t, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	db, err := t.open()
	if err != nil {
		return nil, err
	}
	s, err := New(db, t.dialect, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsDB = true
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, s.dbErr(ctx, "open "+t.dialect.String(), err)
	}
	return s, nil
}

// DefaultMaxOpenConns caps the connections [Open] keeps to a PostgreSQL or
// MySQL server. Without a cap, a burst of requests on one busy session opens
// a connection per request until the server refuses more ("too many
// connections": PostgreSQL allows 100 and MySQL 151 by default); with it,
// requests queue for a connection instead, which is also faster, since
// writes to one session serialise on its row lock anyway. Change it with
// Store.DB().SetMaxOpenConns.
const DefaultMaxOpenConns = 20

// open opens the database of t with the pool settings its engine needs.
func (t target) open() (*sql.DB, error) {
	var db *sql.DB
	if t.mysql != nil {
		conn, err := mysql.NewConnector(t.mysql)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open: %w", err)
		}
		db = sql.OpenDB(conn)
	} else {
		var err error
		if db, err = sql.Open(t.driver, t.dsn); err != nil {
			return nil, fmt.Errorf("sqlstore: open: %w", err)
		}
	}
	switch {
	case t.memory:
		// Every connection to :memory: is a database of its own: keep
		// exactly one, forever.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	case t.dialect == SQLite:
		n := max(4, runtime.GOMAXPROCS(0))
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
	case t.dialect == MySQL:
		// Recommended by go-sql-driver/mysql: retire connections before
		// the server or a middlebox times them out.
		db.SetConnMaxLifetime(3 * time.Minute)
		db.SetMaxOpenConns(DefaultMaxOpenConns)
		db.SetMaxIdleConns(10)
	default:
		db.SetMaxOpenConns(DefaultMaxOpenConns)
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	return db, nil
}

// DialectOf returns the dialect of a target that [Open] accepts, without
// opening anything; the sesame CLI uses it to print [Schema] for a
// database it is not allowed to connect to.
func DialectOf(target string) (Dialect, error) {
	t, err := parseTarget(target)
	if err != nil {
		return 0, err
	}
	return t.dialect, nil
}

// target is a parsed [Open] argument.
type target struct {
	dialect Dialect
	driver  string        // sql.Open driver name, when mysql is nil
	dsn     string        // sql.Open DSN, when mysql is nil
	mysql   *mysql.Config // the MySQL configuration
	memory  bool          // an SQLite in-memory database
}

// errTarget says which forms Open understands without echoing the target.
var errTarget = errors.New("sqlstore: unknown database: want postgres://, postgresql://, mysql://, mysql:DSN, sqlite:PATH, file:URI or a path ending in .db, .sqlite or .sqlite3")

func parseTarget(s string) (target, error) {
	scheme, rest, _ := strings.Cut(s, ":")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		if !strings.HasPrefix(rest, "//") {
			return target{}, errTarget
		}
		return target{dialect: Postgres, driver: "pgx", dsn: s}, nil
	case "mysql":
		var cfg *mysql.Config
		var err error
		if strings.HasPrefix(rest, "//") {
			cfg, err = mysqlURL(s)
		} else {
			cfg, err = mysql.ParseDSN(rest)
			if err == nil && !strings.Contains(rest, "interpolateParams=") {
				cfg.InterpolateParams = true
			}
		}
		if err != nil {
			return target{}, fmt.Errorf("sqlstore: bad MySQL address: %w", err)
		}
		cfg.ParseTime = true
		return target{dialect: MySQL, mysql: cfg}, nil
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//") // sqlite:///abs/path or sqlite://rel/path
		if path == "" {
			return target{}, errors.New("sqlstore: sqlite: target without a path")
		}
		if path == ":memory:" {
			return target{dialect: SQLite, driver: "sqlite", dsn: "file::memory:?" + sqlitePragmas, memory: true}, nil
		}
		u := url.URL{Scheme: "file", OmitHost: true, Path: path}
		return target{dialect: SQLite, driver: "sqlite", dsn: u.String() + "?" + sqlitePragmas}, nil
	case "file":
		sep := "?"
		if strings.Contains(rest, "?") {
			sep = "&"
		}
		mem := strings.HasPrefix(rest, ":memory:") || strings.Contains(rest, "mode=memory")
		return target{dialect: SQLite, driver: "sqlite", dsn: s + sep + sqlitePragmas, memory: mem}, nil
	}
	lower := strings.ToLower(s)
	if !strings.Contains(s, "://") && (strings.HasSuffix(lower, ".db") || strings.HasSuffix(lower, ".sqlite") || strings.HasSuffix(lower, ".sqlite3")) {
		u := url.URL{Scheme: "file", OmitHost: true, Path: s}
		return target{dialect: SQLite, driver: "sqlite", dsn: u.String() + "?" + sqlitePragmas}, nil
	}
	return target{}, errTarget
}

// mysqlURL translates mysql://user:pass@host:port/db?params (or
// mysql://user@/db?socket=/path) into a driver configuration.
func mysqlURL(s string) (*mysql.Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the URL, password included.
		return nil, errors.New("not a URL")
	}
	q := u.Query()
	socket := q.Get("socket")
	q.Del("socket")
	interp := q.Has("interpolateParams")
	// Let the driver parse and validate its own parameters.
	cfg, err := mysql.ParseDSN("/?" + q.Encode())
	if err != nil {
		return nil, err
	}
	if !interp {
		cfg.InterpolateParams = true
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	switch {
	case socket != "":
		cfg.Net, cfg.Addr = "unix", socket
	case u.Host != "":
		cfg.Net, cfg.Addr = "tcp", u.Host
		if u.Port() == "" {
			cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
		}
	default:
		cfg.Net, cfg.Addr = "tcp", "127.0.0.1:3306"
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	return cfg, nil
}
