package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
)

// Exit codes; see the package documentation.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitNotFound = 3
	exitInvalid  = 4
)

// cli is one run of the command: where it writes, and the clock and
// environment it sees, so tests can fix them.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	loc            *time.Location // for printed times
	tty            bool           // stdout is a terminal: progress bars
	pollEvery      time.Duration  // how often the prune progress bar is redrawn
}

// run runs the command line args (without the program name) and returns the
// exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{
		stdout:    stdout,
		stderr:    stderr,
		getenv:    os.Getenv,
		now:       time.Now,
		loc:       time.Local,
		tty:       isTerminal(stdout),
		pollEvery: 250 * time.Millisecond,
	}
	return c.run(ctx, args)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// A command is one subcommand. setup defines its flags on fs and returns
// the function that runs it with the positional arguments.
type command struct {
	name     string // as typed: "sessions list"
	synopsis string // the arguments after the name
	summary  string // one line
	setup    func(c *cli, fs *flag.FlagSet) func(ctx context.Context, args []string) error
}

var commands []*command // filled in init, to break the cycle with help

func init() {
	commands = []*command{
		{"keygen", "[--json]", "print a new random secret for the keyring", setupKeygen},
		{"cookie decode", "[--key SECRETS] [--purpose P] [--json] NAME VALUE", "verify a signed or encrypted cookie and show what it holds", setupCookieDecode},
		{"sessions list", "[STORE FLAGS] [--user ID] [--older-than DUR] [--idle-for DUR] [--limit N] [--json]", "list sessions, oldest first", setupList},
		{"sessions show", "[STORE FLAGS] [--json] HASH", "show one session with its values", setupShow},
		{"sessions delete", "[STORE FLAGS] [--json] HASH... | --user ID", "delete sessions (log them out)", setupDelete},
		{"sessions prune", "[STORE FLAGS] [--json]", "delete expired sessions", setupPrune},
		{"stats", "[STORE FLAGS] [--top N] [--json]", "count sessions: sizes, oldest, users", setupStats},
		{"migrate", "[STORE FLAGS] [--dry-run | --print] [--json]", "create or upgrade the SQL schema, saying what it applied", setupMigrate},
		{"help", "[COMMAND]", "show this help, or a command's", setupHelp},
	}
}

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			c.usage(c.stdout)
			return exitOK
		}
		fmt.Fprintf(c.stderr, "sesame: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		c.usage(c.stderr)
		return exitUsage
	}
	fs := c.newFlags(cmd)
	runCmd := cmd.setup(c, fs)
	pos, err := parse(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(c.stdout)
		fs.Usage()
	}
	if err == nil {
		err = runCmd(ctx, pos)
	}
	return c.report(cmd, err)
}

// findCommand returns the command that args start with and the remaining
// arguments.
func findCommand(args []string) (*command, []string) {
	for _, cmd := range commands {
		words := strings.Fields(cmd.name)
		if len(args) >= len(words) && slicesEqual(args[:len(words)], words) {
			return cmd, args[len(words):]
		}
	}
	return nil, nil
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// report prints err and returns its exit code.
func (c *cli) report(cmd *command, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	code := exitFailure
	var ce *codeError
	if errors.As(err, &ce) {
		code = ce.code
	}
	fmt.Fprintf(c.stderr, "sesame %s: %v\n", cmd.name, err)
	if code == exitUsage {
		fmt.Fprintf(c.stderr, "usage: sesame %s %s\nrun 'sesame help %s' for more\n", cmd.name, cmd.synopsis, cmd.name)
	}
	return code
}

// codeError is an error with its own exit code.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &codeError{exitUsage, fmt.Errorf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &codeError{exitNotFound, fmt.Errorf(format, args...)}
}

const usageText = `sesame operates sesame sessions, keys and cookies.

Usage:
  sesame COMMAND [FLAGS] [ARGS]

Commands:
%s
Store flags (every command that uses a store):
  --store URL      the store (default $SESAME_STORE):
                     redis://[user:pass@]host:port[/db]  (also rediss://, unix://,
                                                          redis+cluster://, redis+sentinel://)
                     postgres://user:pass@host:5432/db
                     mysql://user:pass@host:3306/db  or  mysql:DSN
                     sqlite:PATH  or a PATH ending in .db, .sqlite or .sqlite3
                     file:DIR  a filestore directory (it must exist)
  --table NAME     the SQL session table (default sesame_sessions)
  --prefix PREFIX  the Redis key prefix (default "sesame:")
  --timeout DUR    give up after this long; 0 for never (default 1m;
                   none for prune and stats, which read every session)

A session is named by its hash (as list prints it), a unique prefix of the
hash of at least 6 characters, or the session ID itself (the cookie value).
Durations are like 90s, 30m, 12h, 7d, 2w.

An argument starting with "-" (a session ID or cookie value may) is never
taken for a flag unless it names one; "--" ends the flags.

Commands other than migrate never create a store: an SQLite file or a file
store directory that does not exist is an error.

Output is for people, with a progress bar for prune on a terminal; --json
prints JSON instead.

Exit status:
  0  success
  1  failure: the store, the secrets or the output could not be used
  2  usage error: unknown command or flag, missing or malformed argument
  3  not found: no session matches (show, delete)
  4  the cookie does not open: tampered, expired, sealed for another name,
     under a key that was not given (or no key: signed values are then
     shown unverified), or not a sealed value
`

func (c *cli) usage(w io.Writer) {
	var b strings.Builder
	for _, cmd := range commands {
		fmt.Fprintf(&b, "  %-16s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, usageText, b.String())
}

func setupHelp(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(_ context.Context, args []string) error {
		if len(args) == 0 {
			c.usage(c.stdout)
			return nil
		}
		cmd, rest := findCommand(args)
		if cmd == nil || len(rest) > 0 {
			return usageErr("no command %q", strings.Join(args, " "))
		}
		cfs := c.newFlags(cmd)
		cmd.setup(c, cfs)
		cfs.SetOutput(c.stdout)
		cfs.Usage()
		return nil
	}
}

// newFlags returns a flag set for cmd whose usage prints the command's
// synopsis, help and flags.
func (c *cli) newFlags(cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet("sesame "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: sesame %s %s\n\n%s.\n", cmd.name, cmd.synopsis, upperFirst(cmd.summary))
		if long := longHelp[cmd.name]; long != "" {
			fmt.Fprintf(w, "\n%s", long)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parse parses args with fs, allowing flags after positional arguments
// ("show HASH --json"), and returns the positional arguments. Everything
// after "--" is positional.
//
// An argument that starts with "-" is a flag only when it names one of fs's
// flags (or -h, -help): session IDs and cookie values are base64url, and
// about one in 64 starts with "-", so "sessions show -Xy…" must not fail
// with "flag provided but not defined". A short word that only looks like a
// flag ("--colour") is still reported as an unknown flag; put "--" before a
// positional argument of that shape.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	// The caller reports errors and prints help; the flag package must not.
	out := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(out)
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(pos, args[i+1:]...), nil
		}
		f, isFlag := flagOf(fs, a)
		if !isFlag {
			if looksLikeFlag(a) {
				return nil, &codeError{exitUsage, fmt.Errorf("flag provided but not defined: %s", a)}
			}
			pos = append(pos, a)
			continue
		}
		one := []string{a}
		if f != nil && !strings.Contains(a, "=") && !isBoolFlag(f) && i+1 < len(args) {
			i++
			one = append(one, args[i]) // the flag's value, whatever it looks like
		}
		if err := fs.Parse(one); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &codeError{exitUsage, err}
		}
	}
	return pos, nil
}

// flagOf reports whether arg names one of fs's flags ("-json", "--store=x")
// or asks for help, and returns the flag (nil for help).
func flagOf(fs *flag.FlagSet, arg string) (*flag.Flag, bool) {
	if len(arg) < 2 || arg[0] != '-' {
		return nil, false
	}
	name := strings.TrimPrefix(arg[1:], "-")
	name, _, _ = strings.Cut(name, "=")
	if f := fs.Lookup(name); f != nil {
		return f, true
	}
	return nil, name == "h" || name == "help"
}

// isBoolFlag reports whether f takes no value ("--json").
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// flagShape matches what people type as flags: a dash or two and a short
// word. Session IDs (43 characters), hashes (hex, never a dash) and sealed
// cookie values (longer, or with a ':' for remember-me cookies) do not match.
var flagShape = regexp.MustCompile(`^--?[A-Za-z][A-Za-z0-9-]{0,23}(=.*)?$`)

// looksLikeFlag reports whether arg, which names no flag, was meant as one.
func looksLikeFlag(arg string) bool {
	return flagShape.MatchString(arg)
}

// longHelp is the text some commands print under their synopsis.
var longHelp = map[string]string{
	"cookie decode": `VALUE is the cookie's value as the browser sends it. The secrets come from
--key or $SESAME_SECRETS (comma-separated base64, newest first). The purpose
a value is sealed for is the cookie's name unless --purpose says otherwise.
A sesame session ID (an unsealed session cookie) is recognised and shown
with its hash, for 'sesame sessions show'; a sesame remember-me cookie
(selector:verifier) is recognised too. Without a key, a signed value is
still shown (anybody can read it) but marked UNVERIFIED, with exit status 4.
`,
	"sessions list": `--older-than selects sessions created longer ago than DUR; --idle-for those
not used for DUR. With --user, only that user's sessions are read (through
the store's user index).
`,
	"sessions delete": `Each HASH is a hash, a unique prefix of one, or a session ID. --user deletes
every session of that user (log out everywhere) and revokes the user's
remember-me tokens when the store keeps them (SQL, Redis and file stores),
so that "remember me" cannot log the user straight back in.
`,
	"sessions prune": `Redis expires sessions by itself: pruning it only removes the records that
its clock has not yet expired, and the stale entries of the user index.
`,
	"migrate": `Only SQL stores have a schema: for Redis and file stores migrate does
nothing. The schema is versioned: migrate applies the numbered migrations
the database lacks, in order, and prints each one it applied; a database
created by a sesame version before versioning is upgraded in place, its
sessions kept. Several processes may migrate at once: one applies, the
others wait and find nothing to do. Run it after every upgrade of sesame.

--dry-run connects and prints the SQL of the migrations the database lacks,
applying none. --print prints the statements of the whole schema for the
store's engine without connecting, for empty databases migrated by hand.
`,
}
