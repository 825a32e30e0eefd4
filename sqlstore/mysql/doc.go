// Package mysql is the MySQL and MariaDB engine of package sqlstore: it
// links the go-sql-driver/mysql driver (registered as "mysql") and what the
// store needs of it, and nothing of the other engines.
//
// # Linking
//
// Import it in a program that keeps sessions in MySQL or MariaDB. [Open]
// and [New] make a store; importing the package also lets [sqlstore.Open]
// and [sqlstore.New] accept MySQL, so a program that chooses its database
// at run time imports each engine it accepts, for its side effect:
//
//	import _ "github.com/sesamego/sesame/sqlstore/mysql"
//
// A program that imports only this engine links neither the PostgreSQL nor
// the SQLite driver.
//
// # Example
//
//	s, err := mysql.Open(ctx, "mysql://app:secret@db.internal:3306/app", sqlstore.Options{})
//	if err != nil { ... }
//	defer s.Close()
//	if err := s.Migrate(ctx); err != nil { ... } // creates the tables once
package mysql
