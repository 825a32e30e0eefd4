// Package sqlite is the SQLite engine of package sqlstore: it links the
// modernc.org/sqlite driver (pure Go without cgo, registered as "sqlite")
// and what the store needs of it, and nothing of the other engines.
//
// # Linking
//
// Import it in a program that keeps sessions in SQLite. [Open] and [New]
// make a store; importing the package also lets [sqlstore.Open] and
// [sqlstore.New] accept SQLite, so a program that chooses its database at
// run time imports each engine it accepts, for its side effect:
//
//	import _ "github.com/sesamego/sesame/sqlstore/sqlite"
//
// A program that imports only this engine links neither the PostgreSQL nor
// the MySQL driver.
//
// # Example
//
//	s, err := sqlite.Open(ctx, "sqlite:/var/lib/app/sessions.db", sqlstore.Options{})
//	if err != nil { ... }
//	defer s.Close()
//	if err := s.Migrate(ctx); err != nil { ... } // creates the tables once
package sqlite
