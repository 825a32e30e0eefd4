package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/remember"
	"github.com/sesamego/sesame/store"
)

// pruneInterval is how often expired sessions are deleted from stores
// without native expiry.
const pruneInterval = 10 * time.Minute

// A backend is the opened session store, the remember-me token store, and
// how to stop them.
type backend struct {
	store  store.Store
	tokens store.TokenStore
	// name describes the store for the startup line, without secrets
	// ("file data/sessions", "redis 127.0.0.1:6379").
	name string
	// tokensInMemory is true when the store keeps no tokens and
	// remember-me tokens live in this process only.
	tokensInMemory bool

	ns        namespace
	closeOnce sync.Once
	stopPrune func()
}

// storeUsage lists the forms of the -store flag.
const storeUsage = `session store:
  (empty)              files under sessions/ in the -data directory (the default)
  file:DIR             one file per session under DIR
  memory               in this process only; gone on restart
  sqlite:PATH, x.db    SQLite database at PATH           (build with -tags sql)
  postgres://...       PostgreSQL (postgresql:// too)    (build with -tags sql)
  mysql://...          MySQL or MariaDB                  (build with -tags sql)
  redis://HOST:PORT    Redis (rediss://, redis+cluster://,
                       redis+sentinel:// too)            (build with -tags redis)`

// The SQL and Redis stores are compiled in only when the demo is built with
// the tags sql and redis (backend_sql.go, backend_redis.go): the default
// build compiles no database driver, so that a first "go run ./examples/shop"
// answers within a minute or so instead of four (the pure-Go SQLite alone
// takes minutes to compile on two cores).

// namespace separates several shops (or test runs) on one database server:
// it names the SQL table (sqlstore Options.Table) and prefixes Redis keys.
// Empty means the stores' defaults ("sesame_sessions", "sesame:").
type namespace string

// openBackend opens the store that target names (see storeUsage), creating
// tables for SQL databases, and checks that it answers. dataDir holds the
// default SQLite database.
func openBackend(ctx context.Context, target, dataDir string, ns namespace, logger *slog.Logger) (*backend, error) {
	b := &backend{ns: ns}
	scheme, rest, _ := strings.Cut(target, ":")
	switch strings.ToLower(scheme) {
	case "":
		if target != "" {
			return nil, fmt.Errorf("unknown -store %q\n%s", target, storeUsage)
		}
		if err := makeDataDir(dataDir); err != nil {
			return nil, err
		}
		dir := filepath.Join(dataDir, "sessions")
		fs, err := filestore.New(dir)
		if err != nil {
			return nil, err
		}
		b.store, b.name = fs, "file "+dir
	case "memory":
		if rest != "" {
			return nil, fmt.Errorf("unknown -store %q\n%s", target, storeUsage)
		}
		b.store, b.name = memstore.New(), "memory (lost on restart)"
	case "file":
		// Not sqlstore's "file:" SQLite URIs: here file: means filestore.
		if rest == "" {
			return nil, errors.New("-store file:DIR needs a directory")
		}
		fs, err := filestore.New(rest)
		if err != nil {
			return nil, err
		}
		b.store, b.name = fs, "file "+rest
	case "redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel", "unix":
		var prefix string
		if ns != "" {
			prefix = string(ns) + ":"
		}
		if err := b.openRedis(target, prefix); err != nil {
			return nil, err
		}
		b.name = "redis " + redactURL(target)
	case "postgres", "postgresql", "mysql":
		if err := b.openSQL(ctx, target); err != nil {
			return nil, err
		}
		b.name = strings.ToLower(scheme) + " " + redactURL(target)
	case "sqlite", "sqlite3":
		if err := b.openSQL(ctx, target); err != nil {
			return nil, err
		}
		b.name = "sqlite " + rest
	default:
		lower := strings.ToLower(target)
		if !strings.HasSuffix(lower, ".db") && !strings.HasSuffix(lower, ".sqlite") && !strings.HasSuffix(lower, ".sqlite3") {
			return nil, fmt.Errorf("unknown -store %q\n%s", target, storeUsage)
		}
		if err := b.openSQL(ctx, target); err != nil {
			return nil, err
		}
		b.name = "sqlite " + target
	}

	// Fail at startup, not at the first request, when the store is down.
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := b.store.Load(pctx, store.Key("shop-startup-check")); err != nil {
		b.close()
		return nil, fmt.Errorf("session store %s does not answer: %w", b.name, err)
	}

	// Remember-me tokens go to the session store when it keeps them (the
	// SQL and Redis stores do). With the others (memory, files) they live
	// in this process, and a restart logs out the users who chose
	// "remember me".
	if ts, ok := b.store.(store.TokenStore); ok {
		b.tokens = ts
	} else {
		b.tokens, b.tokensInMemory = remember.NewMemoryStore(), true
	}
	b.startPruning(logger)
	return b, nil
}

// startPruning deletes expired records every pruneInterval, for stores that
// can (store.Pruner), until close.
func (b *backend) startPruning(logger *slog.Logger) {
	p, ok := b.store.(store.Pruner)
	if !ok {
		return
	}
	b.stopPrune = store.StartPruning(boundedPruner{p}, pruneInterval, func(n int, err error) {
		if err != nil {
			logger.Error("shop: pruning expired sessions", "error", err)
		} else if n > 0 {
			logger.Debug("shop: pruned expired sessions", "count", n)
		}
	})
}

// boundedPruner gives each prune a minute at most.
type boundedPruner struct{ p store.Pruner }

func (b boundedPruner) Prune(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return b.p.Prune(ctx)
}

// close stops pruning and closes the store when it has a Close method. It
// may be called more than once.
func (b *backend) close() error {
	var err error
	b.closeOnce.Do(func() {
		if b.stopPrune != nil {
			b.stopPrune()
		}
		if c, ok := b.store.(io.Closer); ok {
			err = c.Close()
		}
	})
	return err
}

// redactURL returns the URL's scheme and hosts, without user info, path or
// query, which may carry a password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		scheme, _, _ := strings.Cut(s, ":")
		return scheme + ":…"
	}
	return u.Host
}

// makeDataDir creates the data directory (mode 0700) with a .gitignore that
// ignores everything in it, so that running the demo inside a checkout
// leaves nothing for git to pick up.
func makeDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(ignore); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(ignore, []byte("# Created by examples/shop: nothing here belongs in git.\n*\n"), 0o600); err != nil {
			return fmt.Errorf("creating %s: %w", ignore, err)
		}
	}
	return nil
}
