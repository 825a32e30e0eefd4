package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the fixed "now" of the golden tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testCLI returns a cli with a fixed clock, UTC times, no terminal and the
// given environment.
func testCLI(env map[string]string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &cli{
		stdout:    &out,
		stderr:    &errOut,
		getenv:    func(k string) string { return env[k] },
		now:       func() time.Time { return t0 },
		loc:       time.UTC,
		pollEvery: time.Millisecond,
	}, &out, &errOut
}

// result is one run of the command.
type result struct {
	stdout, stderr string
	code           int
}

func runWith(t *testing.T, c *cli, out, errOut *bytes.Buffer, args ...string) result {
	t.Helper()
	out.Reset()
	errOut.Reset()
	code := c.run(context.Background(), args)
	return result{out.String(), errOut.String(), code}
}

// cmd runs the command with a fixed clock and env.
func cmd(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	c, out, errOut := testCLI(env)
	return runWith(t, c, out, errOut, args...)
}

// golden compares a transcript of the run with testdata/name.golden, after
// replacing each of replace's keys (temporary paths) by its value.
func golden(t *testing.T, name string, args []string, r result, replace map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("$ sesame " + strings.Join(args, " ") + "\n")
	b.WriteString(r.stdout)
	if r.stderr != "" {
		b.WriteString("-- stderr --\n" + r.stderr)
	}
	b.WriteString("-- exit " + strconv.Itoa(r.code) + " --\n")
	got := b.String()
	// Longest first, so that a string containing another is replaced whole.
	olds := slices.SortedFunc(maps.Keys(replace), func(a, b string) int { return len(b) - len(a) })
	for _, k := range olds {
		got = strings.ReplaceAll(got, k, replace[k])
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended)\n--- got ---\n%s--- want ---\n%s", path, got, want)
	}
}

// fakeID returns a deterministic session ID (43 characters of base64url).
func fakeID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// record is a session of a fixture.
type record struct {
	id                     string // the fakeID name
	user, ip, ua           string
	created, seen, expires time.Duration // relative to t0
	values                 map[string]string
}

// fixtureRecords are the sessions of the golden tests' file store.
var fixtureRecords = []record{
	{id: "alice-laptop", user: "alice", ip: "203.0.113.7", ua: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
		created: -50 * time.Hour, seen: -10 * time.Minute, expires: 110 * time.Minute,
		values: map[string]string{"cart": `["tea","cake"]`, "user": `"alice"`, "visits": `12`}},
	{id: "alice-phone", user: "alice", ip: "2001:db8::17", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)",
		created: -3 * time.Hour, seen: -2 * time.Hour, expires: 22 * time.Hour,
		values: map[string]string{"user": `"alice"`}},
	{id: "anonymous", created: -30 * time.Minute, seen: -30 * time.Minute, expires: 90 * time.Minute,
		values: map[string]string{"theme": `"dark"`}},
	{id: "bob", user: "bob", ip: "198.51.100.23", ua: "curl/8.14.1",
		created: -26 * time.Hour, seen: -1 * time.Hour, expires: 1 * time.Hour,
		values: map[string]string{"draft": `"` + strings.Repeat("lorem ipsum ", 200) + `"`, "user": `"bob"`}},
	{id: "mallory", user: "mallory", ip: "192.0.2.66\x1b[31m", ua: "evil\x1b]0;pwned\x07agent",
		created: -5 * time.Hour, seen: -4 * time.Hour, expires: 4 * time.Hour,
		values: map[string]string{"user": `"mallory"`, "raw": "not json \x00"}},
	{id: "expired-1", user: "carol", created: -48 * time.Hour, seen: -3 * time.Hour, expires: -1 * time.Hour,
		values: map[string]string{"user": `"carol"`}},
	{id: "expired-2", created: -10 * time.Hour, seen: -9 * time.Hour, expires: -time.Minute,
		values: map[string]string{"theme": `"light"`}},
}

// writeRecords stores recs in st, written as at their creation times.
func writeRecords(t *testing.T, st store.Store, recs []record) {
	t.Helper()
	for _, r := range recs {
		c := store.Change{
			Create:  true,
			Set:     map[string][]byte{},
			Now:     t0.Add(r.seen),
			Created: t0.Add(r.created),
			Expires: t0.Add(r.expires),
		}
		for k, v := range r.values {
			c.Set[k] = []byte(v)
		}
		if r.user != "" || r.ip != "" || r.ua != "" {
			c.SetUser, c.UserID, c.IP, c.UserAgent = true, r.user, r.ip, r.ua
		}
		if err := st.Apply(context.Background(), store.Key(fakeID(r.id)), c); err != nil {
			t.Fatalf("storing %s: %v", r.id, err)
		}
	}
}

// fileFixture returns a file store directory holding recs, and the store
// URL of it.
func fileFixture(t *testing.T, recs []record) (dir, url string) {
	t.Helper()
	dir = t.TempDir()
	// The fixture is written at a time when every record is live.
	st, err := filestore.NewWithOptions(dir, filestore.Options{Now: func() time.Time { return t0.Add(-100 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, st, recs)
	return dir, "file:" + dir
}

func keyOf(name string) string { return store.Key(fakeID(name)) }

func TestGoldenSessions(t *testing.T) {
	dir, url := fileFixture(t, fixtureRecords)
	tests := []struct {
		name string
		args []string
	}{
		{"list", []string{"sessions", "list", "--store", url}},
		{"list-json", []string{"sessions", "list", "--store", url, "--json"}},
		{"list-user", []string{"sessions", "list", "--store", url, "--user", "alice"}},
		{"list-older-than", []string{"sessions", "list", "--older-than", "1d", "--store", url}},
		{"list-idle-for", []string{"sessions", "list", "--store", url, "--idle-for", "90m"}},
		{"list-limit", []string{"sessions", "list", "--store", url, "--limit", "2"}},
		{"list-none", []string{"sessions", "list", "--store", url, "--user", "nobody"}},
		{"show-prefix", []string{"sessions", "show", "--store", url, keyOf("alice-laptop")[:8]}},
		{"show-json", []string{"sessions", "show", keyOf("alice-laptop"), "--store", url, "--json"}},
		{"show-by-id", []string{"sessions", "show", "--store", url, fakeID("anonymous")}},
		{"show-hostile-metadata", []string{"sessions", "show", "--store", url, keyOf("mallory")}},
		{"show-expired-is-not-found", []string{"sessions", "show", "--store", url, keyOf("expired-1")}},
		{"show-not-found", []string{"sessions", "show", "--store", url, "0123456789abcdef"}},
		{"show-bad-argument", []string{"sessions", "show", "--store", url, "abc"}},
		{"show-two-arguments", []string{"sessions", "show", "--store", url, "abcdef", "012345"}},
		{"stats", []string{"stats", "--store", url}},
		{"stats-json", []string{"stats", "--store", url, "--json", "--top", "2"}},
		{"migrate-file", []string{"migrate", "--store", url}},
		{"no-store", []string{"sessions", "list"}},
		{"store-env", []string{"sessions", "list", "--user", "bob"}},
		{"table-on-file-store", []string{"sessions", "list", "--store", url, "--table", "x"}},
		{"missing-directory", []string{"sessions", "list", "--store", "file:" + dir + "/nope"}},
		{"unknown-store", []string{"sessions", "list", "--store", "mongodb://localhost"}},
		{"bad-duration", []string{"sessions", "list", "--store", url, "--older-than", "soon"}},
		{"unknown-flag", []string{"sessions", "list", "--store", url, "--color"}},
	}
	env := map[string]string{storeEnv: url}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env
			if tt.name == "no-store" {
				e = nil
			}
			r := cmd(t, e, tt.args...)
			golden(t, "sessions-"+tt.name, tt.args, r, map[string]string{dir: "DIR"})
		})
	}
}

func TestGoldenDeleteAndPrune(t *testing.T) {
	dir, url := fileFixture(t, fixtureRecords)
	steps := []struct {
		name string
		args []string
	}{
		{"delete-prefix-and-id", []string{"sessions", "delete", "--store", url, keyOf("anonymous")[:10], fakeID("bob")}},
		{"delete-typo-deletes-nothing", []string{"sessions", "delete", "--store", url, keyOf("mallory"), "fedcba9876"}},
		{"delete-user", []string{"sessions", "delete", "--store", url, "--user", "alice", "--json"}},
		{"delete-nothing", []string{"sessions", "delete", "--store", url}},
		{"delete-both", []string{"sessions", "delete", "--store", url, "--user", "alice", keyOf("mallory")}},
		{"prune", []string{"sessions", "prune", "--store", url}},
		{"prune-again-json", []string{"sessions", "prune", "--store", url, "--json"}},
		{"list-after", []string{"sessions", "list", "--store", url}},
	}
	for _, s := range steps {
		r := cmd(t, nil, s.args...)
		golden(t, "sessions-"+s.name, s.args, r, map[string]string{dir: "DIR"})
	}
}

// collidingNames returns two fixture names whose store keys share their
// first minPrefix hex characters.
func collidingNames(t *testing.T) (string, string) {
	seen := map[string]string{}
	for i := range 1 << 20 {
		name := "collide-" + strconv.Itoa(i)
		p := keyOf(name)[:minPrefix]
		if other, ok := seen[p]; ok {
			return other, name
		}
		seen[p] = name
	}
	t.Fatal("no collision found")
	return "", ""
}

func TestAmbiguousPrefix(t *testing.T) {
	a, b := collidingNames(t)
	recs := []record{
		{id: a, created: -time.Hour, seen: -time.Hour, expires: time.Hour, values: map[string]string{"n": "1"}},
		{id: b, created: -time.Hour, seen: -time.Hour, expires: time.Hour, values: map[string]string{"n": "2"}},
	}
	_, url := fileFixture(t, recs)
	prefix := keyOf(a)[:minPrefix]
	r := cmd(t, nil, "sessions", "show", "--store", url, prefix)
	if r.code != exitUsage || !strings.Contains(r.stderr, "ambiguous") ||
		!strings.Contains(r.stderr, shortHash(keyOf(a))) || !strings.Contains(r.stderr, shortHash(keyOf(b))) {
		t.Errorf("show %s = %+v, want exit 2 naming both sessions", prefix, r)
	}
	r = cmd(t, nil, "sessions", "delete", "--store", url, prefix)
	if r.code != exitUsage {
		t.Errorf("delete of an ambiguous prefix exited %d, want 2", r.code)
	}
	r = cmd(t, nil, "sessions", "list", "--store", url, "--json")
	var ss []session
	if err := json.Unmarshal([]byte(r.stdout), &ss); err != nil || len(ss) != 2 {
		t.Errorf("after a refused delete, list = %d sessions (%v), want 2", len(ss), err)
	}
	// One more character settles it.
	r = cmd(t, nil, "sessions", "show", "--store", url, "--json", keyOf(b)[:20])
	if r.code != 0 || !strings.Contains(r.stdout, `"n": 2`) {
		t.Errorf("show with a longer prefix = %+v, want session %s", r, b)
	}
}

func TestGoldenHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"help", []string{"help"}},
		{"help-list", []string{"help", "sessions", "list"}},
		{"help-cookie-decode", []string{"help", "cookie", "decode"}},
		{"help-unknown", []string{"help", "frobnicate"}},
		{"dash-h", []string{"sessions", "prune", "-h"}},
		{"no-arguments", nil},
		{"unknown-command", []string{"sessions", "purge"}},
		{"migrate-print-bad-table", []string{"migrate", "--print", "--store", "postgres://db/app", "--table", "x; drop table y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, tt.name, tt.args, cmd(t, nil, tt.args...), nil)
		})
	}
}

// The schema is sqlstore's (its own tests own the text); migrate --print
// must print all of it for the engine the URL names, without connecting.
func TestMigratePrint(t *testing.T) {
	tests := []struct {
		url, table string
		dialect    sqlstore.Dialect
	}{
		{"sqlite:/var/lib/app/sessions.db", "", sqlstore.SQLite},
		{"postgres://nobody@127.0.0.1:1/app", "app_sessions", sqlstore.Postgres},
		{"mysql://nobody@127.0.0.1:1/app", "", sqlstore.MySQL},
	}
	for _, tt := range tests {
		args := []string{"migrate", "--print", "--store", tt.url}
		if tt.table != "" {
			args = append(args, "--table", tt.table)
		}
		r := cmd(t, nil, args...)
		want, err := sqlstore.Schema(tt.dialect, tt.table)
		if err != nil {
			t.Fatal(err)
		}
		if r.code != 0 || !strings.HasPrefix(r.stdout, "-- sesame session schema (version "+strconv.Itoa(sqlstore.SchemaVersion)+") for "+tt.dialect.String()+"\n") {
			t.Errorf("migrate --print %s = %+v", tt.url, r)
		}
		for _, stmt := range want {
			if !strings.Contains(r.stdout, stmt+";\n") {
				t.Errorf("migrate --print %s lacks %q", tt.url, stmt)
			}
		}
		r = cmd(t, nil, append(args, "--json")...)
		var out struct{ Statements []string }
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !slices.Equal(out.Statements, want) {
			t.Errorf("migrate --print --json %s = %q (%v)", tt.url, r.stdout, err)
		}
	}
}

func TestParseAllowsFlagsAfterArguments(t *testing.T) {
	tests := []struct {
		args      []string
		wantPos   []string
		wantJSON  bool
		wantError bool
	}{
		{[]string{"a", "--json"}, []string{"a"}, true, false},
		{[]string{"--json", "a", "b"}, []string{"a", "b"}, true, false},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, false, false},
		{[]string{"a", "--nope"}, nil, false, true},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(new(bytes.Buffer))
		j := fs.Bool("json", false, "")
		pos, err := parse(fs, tt.args)
		if (err != nil) != tt.wantError || *j != tt.wantJSON || strings.Join(pos, " ") != strings.Join(tt.wantPos, " ") {
			t.Errorf("parse(%q) = %q, json %v, err %v; want %q, json %v, error %v",
				tt.args, pos, *j, err, tt.wantPos, tt.wantJSON, tt.wantError)
		}
	}
}

func TestFormatting(t *testing.T) {
	ages := map[time.Duration]string{
		0:                           "0s",
		59 * time.Second:            "59s",
		90 * time.Second:            "1m",
		3*time.Hour + 5*time.Minute: "3h05m",
		50 * time.Hour:              "2d02h",
		400 * 24 * time.Hour:        "1y35d",
	}
	for d, want := range ages {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %q, want %q", d, got, want)
		}
	}
	sizes := map[int]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 3 << 20: "3.0 MiB"}
	for n, want := range sizes {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	if got := printable("plain user"); got != "plain user" {
		t.Errorf("printable changed a plain string: %q", got)
	}
	if got := printable("a\x1b[2Jb"); strings.ContainsRune(got, 0x1b) {
		t.Errorf("printable let an escape through: %q", got)
	}
	for _, tt := range []struct{ p, n, want int }{{50, 4, 2}, {90, 10, 9}, {99, 10, 10}, {50, 1, 1}} {
		sorted := make([]int, tt.n)
		for i := range sorted {
			sorted[i] = i + 1
		}
		if got := percentile(sorted, tt.p); got != tt.want {
			t.Errorf("percentile(1..%d, %d) = %d, want %d", tt.n, tt.p, got, tt.want)
		}
	}
}

func TestStoreKind(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		url, kind string
		err       bool
	}{
		{"redis://127.0.0.1:6379/0", kindRedis, false},
		{"redis+cluster://a:1,b:2", kindRedis, false},
		{"postgres://u@h/db", kindPostgres, false},
		{"postgresql://u@h/db", kindPostgres, false},
		{"mysql://u@h/db", kindMySQL, false},
		{"mysql:u@tcp(h:3306)/db", kindMySQL, false},
		{"sqlite:/tmp/x.db", kindSQLite, false},
		{"/var/lib/app/sessions.sqlite3", kindSQLite, false},
		{"file:" + dir, kindFile, false},
		{"file://" + dir, kindFile, false},
		{dir, kindFile, false},
		{"file:/tmp/sessions.db?mode=rwc", kindSQLite, false},
		// A missing directory is a file store that open refuses, naming it
		// (TestMissingStoresAreNotCreated).
		{"file:" + dir + "/missing", kindFile, false},
		{"mongodb://x", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		kind, _, err := storeKind(tt.url)
		if kind != tt.kind || (err != nil) != tt.err {
			t.Errorf("storeKind(%q) = %q, %v; want %q, error %v", tt.url, kind, err, tt.kind, tt.err)
		}
	}
}

// dashID returns a session ID starting with "-" (about 1 in 64 do), from
// fakeID, and the name that makes it.
func dashID(t *testing.T, skip int) (name, id string) {
	t.Helper()
	for i := range 10000 {
		name = "dash-" + strconv.Itoa(i)
		if id = fakeID(name); strings.HasPrefix(id, "-") {
			if skip == 0 {
				return name, id
			}
			skip--
		}
	}
	t.Fatal("no session ID starting with a dash")
	return "", ""
}

func TestArgumentsStartingWithADashAreNotFlags(t *testing.T) {
	name, id := dashID(t, 0)
	other, otherID := dashID(t, 1)
	recs := []record{
		{id: name, user: "7", created: -time.Hour, seen: -time.Minute, expires: time.Hour, values: map[string]string{"n": "1"}},
		{id: other, user: "7", created: -time.Hour, seen: -time.Minute, expires: time.Hour, values: map[string]string{"n": "2"}},
	}
	dir, url := fileFixture(t, recs)
	key, otherKey := store.Key(id), store.Key(otherID)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout
	}{
		{"show ID", []string{"sessions", "show", "--store", url, id}, exitOK, key},
		{"show ID after the flags", []string{"sessions", "show", id, "--store", url}, exitOK, key},
		{"show --json ID", []string{"sessions", "show", "--json", "--store", url, id}, exitOK, `"hash": "` + key},
		{"show -- ID", []string{"sessions", "show", "--store", url, "--", id}, exitOK, key},
		{"show with a flag's value starting with a dash", []string{"sessions", "show", "--store", url, "--timeout", "1m", id}, exitOK, key},
		{"cookie decode NAME ID", []string{"cookie", "decode", "sid", id}, exitOK, key},
		{"cookie decode -- NAME ID", []string{"cookie", "decode", "--", "sid", id}, exitOK, key},
		{"cookie decode NAME=ID", []string{"cookie", "decode", "sid=" + id}, exitOK, key},
		{"cookie decode a remember-me cookie starting with a dash", []string{"cookie", "decode", "remember", rememberValue(0xf8)}, exitOK, "remember-me token"},
		{"an unknown flag is still an unknown flag", []string{"sessions", "show", "--store", url, "--colour", id}, exitUsage, ""},
		{"an unknown short flag too", []string{"sessions", "list", "--store", url, "-x"}, exitUsage, ""},
		{"delete ID", []string{"sessions", "delete", "--store", url, otherID}, exitOK, "deleted session " + otherKey[:12]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd(t, nil, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q in stdout", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantOut)
			}
		})
	}
	args := []string{"sessions", "show", "--store", url, id}
	golden(t, "sessions-show-dash-id", args, cmd(t, nil, args...), map[string]string{dir: "DIR", id: "-DASH_ID"})
}

func TestMissingStoresAreNotCreated(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, store, path string
	}{
		{"a path ending in .db", filepath.Join(dir, "typo.db"), filepath.Join(dir, "typo.db")},
		{"sqlite:PATH", "sqlite:" + filepath.Join(dir, "typo.sqlite"), filepath.Join(dir, "typo.sqlite")},
		{"sqlite://PATH", "sqlite://" + filepath.Join(dir, "other.db"), filepath.Join(dir, "other.db")},
		{"a file: URI of an SQLite database", "file:" + filepath.Join(dir, "uri.db") + "?mode=rwc", filepath.Join(dir, "uri.db")},
		{"file:DIR", "file:" + filepath.Join(dir, "sessions"), filepath.Join(dir, "sessions")},
	}
	for _, tt := range tests {
		for _, command := range [][]string{{"sessions", "list"}, {"sessions", "show", "abcdef"}, {"stats"}, {"sessions", "prune"}} {
			t.Run(tt.name+"/"+strings.Join(command, " "), func(t *testing.T) {
				r := cmd(t, nil, append(command, "--store", tt.store)...)
				if r.code != exitFailure || !strings.Contains(r.stderr, tt.path) {
					t.Errorf("exit %d, stderr %q; want exit 1 and an error naming %s", r.code, r.stderr, tt.path)
				}
				if _, err := os.Stat(tt.path); err == nil {
					t.Errorf("%s was created", tt.path)
				}
			})
		}
	}
	// migrate is the command that creates a database.
	path := filepath.Join(dir, "new.db")
	if r := cmd(t, nil, "migrate", "--store", path); r.code != exitOK {
		t.Fatalf("migrate: %+v", r)
	}
	if r := cmd(t, nil, "sessions", "list", "--store", path); r.code != exitOK || r.stdout != "no sessions\n" {
		t.Errorf("list after migrate: %+v", r)
	}
}

func TestShowHidesSesamesOwnValues(t *testing.T) {
	const secret = "c2VjcmV0LWNzcmYtdG9rZW4tZm9yLXRoZS1zZXNzaW9u"
	recs := []record{{id: "with-csrf", user: "1", created: -time.Hour, seen: -time.Minute, expires: time.Hour,
		values: map[string]string{"cart.mug": "2", "__csrf": `"` + secret + `"`, "__flash": `{"success":"Welcome back!"}`, "__gone": "1"}}}
	dir, url := fileFixture(t, recs)
	for _, asJSON := range []bool{false, true} {
		args := []string{"sessions", "show", "--store", url, keyOf("with-csrf")}
		if asJSON {
			args = append(args, "--json")
		}
		r := cmd(t, nil, args...)
		if r.code != exitOK || strings.Contains(r.stdout, secret) || strings.Contains(r.stdout, "Welcome back") {
			t.Errorf("json %v: exit %d, and the output shows an internal value:\n%s", asJSON, r.code, r.stdout)
		}
		for _, k := range []string{"__csrf", "__flash", "__gone", "cart.mug"} {
			if !strings.Contains(r.stdout, k) {
				t.Errorf("json %v: %s is not named in\n%s", asJSON, k, r.stdout)
			}
		}
		if !asJSON {
			golden(t, "sessions-show-internal-keys", args, r, map[string]string{dir: "DIR"})
		}
	}
}

func TestDeleteUserRevokesRememberMeTokens(t *testing.T) {
	dir, url := fileFixture(t, fixtureRecords)
	fs, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, tok := range []store.Token{
		{Selector: "alice-1", UserID: "alice", Hash: []byte("h1"), Expires: time.Now().Add(time.Hour)},
		{Selector: "alice-2", UserID: "alice", Hash: []byte("h2"), Expires: time.Now().Add(time.Hour)},
		{Selector: "bob-1", UserID: "bob", Hash: []byte("h3"), Expires: time.Now().Add(time.Hour)},
	} {
		if err := fs.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"sessions", "delete", "--store", url, "--user", "alice"}
	r := cmd(t, nil, args...)
	golden(t, "sessions-delete-user-tokens", args, r, map[string]string{dir: "DIR"})
	for sel, want := range map[string]bool{"alice-1": false, "alice-2": false, "bob-1": true} {
		if _, ok, err := fs.LookupToken(ctx, sel); ok != want || err != nil {
			t.Errorf("token %s: present %v (%v), want %v", sel, ok, err, want)
		}
	}
	r = cmd(t, nil, "sessions", "delete", "--store", url, "--user", "bob", "--json")
	var out deleted
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.TokensRevoked == nil || *out.TokensRevoked != 1 || out.Deleted != 1 {
		t.Errorf("--json: %s (%v); want 1 session deleted and 1 token revoked", r.stdout, err)
	}
}

// TestTombstonesAreNotSessions: the record a logout or login leaves under the
// old ID for a minute (store.GoneField) is neither listed nor counted.
func TestTombstonesAreNotSessions(t *testing.T) {
	recs := []record{
		{id: "live", user: "1", created: -time.Hour, seen: -time.Minute, expires: time.Hour, values: map[string]string{"cart.mug": "2"}},
		{id: "ended", created: -time.Hour, seen: -time.Minute, expires: time.Minute, values: map[string]string{store.GoneField: "true"}},
	}
	_, url := fileFixture(t, recs)
	r := cmd(t, nil, "sessions", "list", "--store", url)
	if r.code != exitOK || !strings.Contains(r.stdout, shortHash(keyOf("live"))) || strings.Contains(r.stdout, shortHash(keyOf("ended"))) {
		t.Errorf("list: exit %d, want the live session and not the tombstone:\n%s", r.code, r.stdout)
	}
	r = cmd(t, nil, "stats", "--store", url, "--json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"sessions": 1,`) {
		t.Errorf("stats: exit %d, want 1 session:\n%s", r.code, r.stdout)
	}
}
