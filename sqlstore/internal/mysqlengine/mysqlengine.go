// Package mysqlengine is sqlstore's MySQL and MariaDB engine: the
// go-sql-driver/mysql driver (driver name "mysql"), the translation of
// sqlstore's MySQL targets into its configuration, and what its errors
// mean. Importing it registers the driver and the engine; package
// sqlstore/mysql is its public face.
package mysqlengine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sesamego/sesame/sqlstore/internal/engine"
)

func init() {
	engine.Register(&engine.Engine{
		Name:      "mysql",
		Open:      open,
		Conflict:  conflict,
		ConnLost:  connLost,
		Duplicate: duplicate,
		Exists:    exists,
		Answer:    answer,
		Batch:     batch,
		NoBatch:   noBatch,
	})
}

// noBatch: 1064 ER_PARSE_ERROR, which the server answers to a
// multi-statement text without CLIENT_MULTI_STATEMENTS, and when asked to
// prepare one (without interpolateParams, database/sql prepares).
func noBatch(err error) bool {
	n, ok := number(err)
	return ok && n == 1064
}

// batch runs several statements in one round trip: go-sql-driver/mysql
// interpolates the arguments (interpolateParams=true) and sends the text
// as one COM_QUERY, which the server runs as a multi-statement
// (multiStatements=true, CLIENT_MULTI_STATEMENTS).
func batch(ctx context.Context, driverConn any, query string, args []any) ([]int64, bool, error) {
	ex, ok := driverConn.(driver.ExecerContext)
	if !ok {
		return nil, false, fmt.Errorf("sqlstore: not a MySQL connection (%T): %w", driverConn, engine.ErrNoBatch)
	}
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	res, err := ex.ExecContext(ctx, query, named)
	switch {
	case errors.Is(err, driver.ErrSkip):
		return nil, false, fmt.Errorf("sqlstore: MySQL connection without interpolateParams=true: %w", engine.ErrNoBatch)
	case err != nil:
		if n, ok := number(err); ok && n == 1064 {
			// A syntax error at the first semicolon: the server was not
			// asked for multi-statements, and ran nothing.
			return nil, false, fmt.Errorf("sqlstore: MySQL connection without multiStatements=true: %w (%w)", engine.ErrNoBatch, err)
		}
		if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) {
			return nil, true, err
		}
		// The statements before the failing one may have opened a
		// transaction: end it, even when ctx is done.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, rerr := ex.ExecContext(rctx, "ROLLBACK", nil)
		return nil, rerr != nil, err
	}
	mr, ok := res.(mysql.Result)
	if !ok {
		return nil, false, fmt.Errorf("sqlstore: unexpected MySQL result %T", res)
	}
	return mr.AllRowsAffected(), false, nil
}

// open opens the database of a mysql://URL or mysql:DSN target.
func open(addr string) (*sql.DB, error) {
	cfg, err := Config(addr)
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	return sql.OpenDB(conn), nil
}

// Config returns the driver configuration of a mysql://URL or mysql:DSN
// target (see sqlstore.Open): parseTime=true and, unless the target says
// otherwise, interpolateParams=true and multiStatements=true. Its errors never repeat the target.
func Config(target string) (*mysql.Config, error) {
	_, rest, _ := strings.Cut(target, ":")
	var cfg *mysql.Config
	var err error
	if strings.HasPrefix(rest, "//") {
		cfg, err = configURL(target)
	} else {
		cfg, err = mysql.ParseDSN(rest)
		if err == nil && !strings.Contains(rest, "interpolateParams=") {
			cfg.InterpolateParams = true
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: bad MySQL address: %w", err)
	}
	cfg.ParseTime = true
	if !strings.Contains(target, "multiStatements=") {
		// Lets sqlstore send a transaction in one round trip. Only
		// sqlstore's own statements run on the connections of its pool.
		cfg.MultiStatements = true
	}
	return cfg, nil
}

// configURL translates mysql://user:pass@host:port/db?params (or
// mysql://user@/db?socket=/path) into a driver configuration.
func configURL(s string) (*mysql.Config, error) {
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

// number returns the error number of a server error, and false when err
// is none.
func number(err error) (uint16, bool) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number, true
	}
	return 0, false
}

// conflict: 1213 ER_LOCK_DEADLOCK.
func conflict(err error) bool {
	n, ok := number(err)
	return ok && n == 1213
}

// connLost: the driver's broken connection; 1053 server shutdown in
// progress, 1927 connection was killed.
func connLost(err error) bool {
	if errors.Is(err, mysql.ErrInvalidConn) {
		return true
	}
	n, ok := number(err)
	return ok && (n == 1053 || n == 1927)
}

// duplicate: 1062 ER_DUP_ENTRY.
func duplicate(err error) bool {
	n, ok := number(err)
	return ok && n == 1062
}

// exists: 1050 ER_TABLE_EXISTS_ERROR, 1060 ER_DUP_FIELDNAME, 1061
// ER_DUP_KEYNAME.
func exists(err error) bool {
	n, ok := number(err)
	return ok && (n == 1050 || n == 1060 || n == 1061)
}

// answer: the server answered with an error, so nothing was committed,
// unless the statement was killed or the server shut down while it ran
// (1053, 1927, 1317 query execution was interrupted).
func answer(err error) (maybe, ok bool) {
	n, ok := number(err)
	if !ok {
		return false, false
	}
	return n == 1053 || n == 1927 || n == 1317, true
}
