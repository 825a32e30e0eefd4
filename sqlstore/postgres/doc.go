// Package postgres is the PostgreSQL engine of package sqlstore: it links
// the pgx driver (github.com/jackc/pgx/v5/stdlib, registered as "pgx") and
// what the store needs of it, and nothing of the other engines.
//
// # Linking
//
// Import it in a program that keeps sessions in PostgreSQL. [Open] and
// [New] make a store; importing the package also lets [sqlstore.Open] and
// [sqlstore.New] accept PostgreSQL, so a program that chooses its database
// at run time imports each engine it accepts, for its side effect:
//
//	import _ "github.com/sesamego/sesame/sqlstore/postgres"
//
// A program that imports only this engine links neither the MySQL nor the
// SQLite driver.
//
// # Example
//
//	s, err := postgres.Open(ctx, "postgres://app@db.internal:5432/app?sslmode=verify-full", sqlstore.Options{})
//	if err != nil { ... }
//	defer s.Close()
//	if err := s.Migrate(ctx); err != nil { ... } // creates the tables once
package postgres
