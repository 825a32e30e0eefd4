// Command sesame operates sesame sessions: it makes secrets, decodes sealed
// cookies, lists, shows, deletes and prunes the sessions in a store, prints
// statistics about them, and creates and upgrades the SQL schema.
//
// # Usage
//
//	sesame keygen [--json]
//	sesame cookie decode [--key SECRETS] [--purpose P] [--json] NAME VALUE
//	sesame sessions list   [STORE FLAGS] [--user ID] [--older-than DUR] [--idle-for DUR] [--limit N] [--json]
//	sesame sessions show   [STORE FLAGS] [--json] HASH
//	sesame sessions delete [STORE FLAGS] [--json] HASH... | --user ID
//	sesame sessions prune  [STORE FLAGS] [--json]
//	sesame stats           [STORE FLAGS] [--top N] [--json]
//	sesame migrate         [STORE FLAGS] [--dry-run | --print] [--json]
//	sesame help [COMMAND]
//
// The store flags are --store URL (default $SESAME_STORE), --table NAME for
// SQL stores, --prefix PREFIX for Redis and --timeout DUR (default 1m; no
// limit for prune and stats, which read every session; Ctrl-C stops them).
// The store is one of:
//
//	redis://[user:pass@]host:port[/db]    also rediss://, unix://, redis+cluster://, redis+sentinel://
//	postgres://user:pass@host:5432/db     also postgresql://
//	mysql://user:pass@host:3306/db        or mysql:DSN (a go-sql-driver/mysql DSN)
//	sqlite:PATH                           or a PATH ending in .db, .sqlite or .sqlite3
//	file:DIR                              a filestore directory (it must exist)
//
// A session is named by its hash, the store key (the SHA-256 of its ID),
// which is what list prints, or by a unique prefix of it of at least 6
// characters, or by the session ID itself (the cookie's value).
//
// Output is meant for people: aligned tables, sizes and ages, and a
// progress bar while pruning when standard output is a terminal. With --json
// every command prints JSON instead, one document per run.
//
// # Keys
//
// cookie decode reads the secrets from --key or from $SESAME_SECRETS: a
// comma-separated list of base64 secrets, newest first, as keygen prints
// them and seal.ParseSecrets reads them. Passing a secret on the command
// line leaves it in the shell's history; prefer the environment variable.
//
// # Exit status
//
//	0  success
//	1  failure: the store, the secrets or the output could not be used
//	2  usage error: unknown command or flag, missing or malformed argument
//	3  not found: no session matches (show, delete)
//	4  the cookie does not open: tampered, expired, sealed for another name,
//	   under a key that was not given, or not a sealed value
package main
