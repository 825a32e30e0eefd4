package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/sesamego/sesame/sqlstore"
)

// migrationJSON is a migration in --json output.
type migrationJSON struct {
	Version    int      `json:"version"`
	Name       string   `json:"name"`
	Statements []string `json:"statements,omitempty"`
}

func migrationsJSON(ms []sqlstore.Migration, withSQL bool) []migrationJSON {
	out := make([]migrationJSON, 0, len(ms))
	for _, m := range ms {
		j := migrationJSON{Version: m.Version, Name: m.Name}
		if withSQL {
			j.Statements = m.Statements
		}
		out = append(out, j)
	}
	return out
}

func setupMigrate(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	sf := c.addStoreFlags(fs, defaultTimeout)
	print := fs.Bool("print", false, "print the SQL statements of the whole schema instead of running them (no connection)")
	dryRun := fs.Bool("dry-run", false, "print the SQL statements of the migrations the database lacks, and apply none")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usageErr("unexpected argument %q", args[0])
		}
		if *print && *dryRun {
			return usageErr("--print and --dry-run exclude each other")
		}
		sf.create = !*dryRun // the one command that may create a database
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
				return writeJSON(c.stdout, map[string]any{"engine": d.String(), "version": sqlstore.SchemaVersion, "statements": stmts})
			}
			_, err = fmt.Fprintf(c.stdout, "-- sesame session schema (version %d) for %s\n%s;\n", sqlstore.SchemaVersion, d, strings.Join(stmts, ";\n\n"))
			return err
		}
		return c.withStore(ctx, sf, func(ctx context.Context, o *opened) error {
			if *dryRun {
				return c.dryRun(ctx, sf, d, o.sql)
			}
			applied, err := o.sql.ApplyMigrations(ctx)
			if err != nil {
				return err
			}
			if sf.json {
				return writeJSON(c.stdout, map[string]any{"engine": d.String(), "table": o.sql.Table(),
					"migrated": true, "version": sqlstore.SchemaVersion, "applied": migrationsJSON(applied, false)})
			}
			var b strings.Builder
			for _, m := range applied {
				fmt.Fprintf(&b, "applied migration %d (%s)\n", m.Version, m.Name)
			}
			fmt.Fprintf(&b, "schema of table %s is up to date: version %d (%s)\n", o.sql.Table(), sqlstore.SchemaVersion, d)
			_, err = fmt.Fprint(c.stdout, b.String())
			return err
		})
	}
}

// dryRun prints the migrations the database of st lacks.
func (c *cli) dryRun(ctx context.Context, sf *storeFlags, d sqlstore.Dialect, st *sqlstore.Store) error {
	v, err := st.Version(ctx)
	if err != nil {
		return err
	}
	pending, err := st.PendingMigrations(ctx)
	if err != nil {
		return err
	}
	if sf.json {
		return writeJSON(c.stdout, map[string]any{"engine": d.String(), "table": st.Table(), "version": v,
			"migrated": false, "pending": migrationsJSON(pending, true)})
	}
	var b strings.Builder
	if len(pending) == 0 {
		fmt.Fprintf(&b, "schema of table %s is up to date: version %d (%s); nothing to apply\n", st.Table(), v, d)
	} else {
		fmt.Fprintf(&b, "-- table %s is at schema version %d (%s); migrate would apply:\n", st.Table(), v, d)
		for _, m := range pending {
			fmt.Fprintf(&b, "\n-- migration %d (%s)\n%s;\n", m.Version, m.Name, strings.Join(m.Statements, ";\n\n"))
		}
	}
	_, err = fmt.Fprint(c.stdout, b.String())
	return err
}
