package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/sesamego/sesame/sqlstore"
)

func setupMigrate(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	sf := c.addStoreFlags(fs, defaultTimeout)
	sf.create = true // the one command that may create a database
	print := fs.Bool("print", false, "print the SQL statements instead of running them (no connection)")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usageErr("unexpected argument %q", args[0])
		}
		u := sf.url
		if u == "" {
			u = c.getenv(storeEnv)
		}
		if u == "" {
			return usageErr("no store: pass --store URL or set $%s", storeEnv)
		}
		kind, _, err := storeKind(u)
		if err != nil {
			return usageErr("%w", err)
		}
		var d sqlstore.Dialect
		switch kind {
		case kindPostgres:
			d = sqlstore.Postgres
		case kindMySQL:
			d = sqlstore.MySQL
		case kindSQLite:
			d = sqlstore.SQLite
		default:
			if sf.json {
				return writeJSON(c.stdout, map[string]any{"engine": kind, "migrated": false})
			}
			_, err := fmt.Fprintf(c.stdout, "nothing to migrate: %s stores have no schema\n", kind)
			return err
		}
		if *print {
			stmts, err := sqlstore.Schema(d, sf.table)
			if err != nil {
				return usageErr("%w", err)
			}
			if sf.json {
				return writeJSON(c.stdout, map[string]any{"engine": d.String(), "statements": stmts})
			}
			_, err = fmt.Fprintf(c.stdout, "-- sesame session schema for %s\n%s;\n", d, strings.Join(stmts, ";\n\n"))
			return err
		}
		return c.withStore(ctx, sf, func(ctx context.Context, o *opened) error {
			if err := o.sql.Migrate(ctx); err != nil {
				return err
			}
			if sf.json {
				return writeJSON(c.stdout, map[string]any{"engine": d.String(), "table": o.sql.Table(), "migrated": true})
			}
			_, err := fmt.Fprintf(c.stdout, "schema of table %s is up to date (%s)\n", o.sql.Table(), d)
			return err
		})
	}
}
