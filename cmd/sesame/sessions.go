package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/store"
)

// session is a listed session: its record's metadata, its size, and (for
// show) its values.
type session struct {
	Hash      string                     `json:"hash"`
	User      string                     `json:"user"`
	IP        string                     `json:"ip"`
	UserAgent string                     `json:"user_agent"`
	Created   time.Time                  `json:"created"`
	LastSeen  time.Time                  `json:"last_seen"`
	Expires   time.Time                  `json:"expires"`
	Size      int                        `json:"size"`
	Keys      int                        `json:"keys"`
	Values    map[string]json.RawMessage `json:"values,omitempty"`
	// Internal holds the size in bytes of each of sesame's own values (keys
	// starting with "__": the CSRF secret, flash messages, tombstones),
	// which are never printed.
	Internal map[string]int `json:"internal,omitempty"`
	// RawValues holds the values that are not JSON (sesame writes only
	// JSON; another writer may not), base64-encoded by encoding/json.
	RawValues map[string][]byte `json:"raw_values,omitempty"`
}

func newSession(e store.Entry, withValues bool) session {
	r := e.Record
	s := session{
		Hash:      e.Key,
		User:      r.UserID,
		IP:        r.IP,
		UserAgent: r.UserAgent,
		Created:   r.Created.UTC(),
		LastSeen:  r.LastSeen.UTC(),
		Expires:   r.Expires.UTC(),
		Size:      store.Size(r.Values),
		Keys:      len(r.Values),
	}
	if withValues {
		s.Values = map[string]json.RawMessage{}
		for k, v := range r.Values {
			if isInternal(k) {
				if s.Internal == nil {
					s.Internal = map[string]int{}
				}
				s.Internal[k] = len(v)
				continue
			}
			if json.Valid(v) {
				s.Values[k] = json.RawMessage(v)
			} else {
				if s.RawValues == nil {
					s.RawValues = map[string][]byte{}
				}
				s.RawValues[k] = v
			}
		}
	}
	return s
}

// isInternal reports whether key is one of sesame's own ("__csrf",
// "__flash", "__gone"): their values may be secrets.
func isInternal(key string) bool { return strings.HasPrefix(key, "__") }

// sortSessions sorts oldest first, then by hash, so that output is stable.
func sortSessions(ss []session) {
	slices.SortFunc(ss, func(a, b session) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Hash, b.Hash)
	})
}

// durationFlag is a flag holding a cookies.ParseDuration duration.
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string {
	if f == nil || f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := cookies.ParseDuration(s)
	if err != nil {
		return err
	}
	f.d = d
	return nil
}

// --- list ---------------------------------------------------------------

func setupList(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	sf := c.addStoreFlags(fs, defaultTimeout)
	user := fs.String("user", "", "only the sessions of user `ID`")
	var older, idle durationFlag
	fs.Var(&older, "older-than", "only sessions created more than `DUR` ago")
	fs.Var(&idle, "idle-for", "only sessions not used for `DUR`")
	limit := fs.Int("limit", 0, "print at most `N` sessions, the oldest (0: all)")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usageErr("unexpected argument %q", args[0])
		}
		if *limit < 0 {
			return usageErr("--limit must not be negative")
		}
		return c.withStore(ctx, sf, func(ctx context.Context, o *opened) error {
			now := c.now()
			keep := func(r store.Record) bool {
				return (older.d == 0 || !r.Created.After(now.Add(-older.d))) &&
					(idle.d == 0 || !r.LastSeen.After(now.Add(-idle.d)))
			}
			ss, err := collect(ctx, o, *user, keep)
			if err != nil {
				return err
			}
			sortSessions(ss)
			total := len(ss)
			if *limit > 0 && len(ss) > *limit {
				ss = ss[:*limit]
			}
			if sf.json {
				if ss == nil {
					ss = []session{}
				}
				return writeJSON(c.stdout, ss)
			}
			return c.printList(ss, total)
		})
	}
}

// collect returns the live sessions that keep accepts, without values: all
// of them, or those of user through the store's user index.
func collect(ctx context.Context, o *opened, user string, keep func(store.Record) bool) ([]session, error) {
	var ss []session
	if user != "" {
		ui, err := capability[store.UserIndex](o, "list the sessions of a user")
		if err != nil {
			return nil, err
		}
		entries, err := ui.UserSessions(ctx, user)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			// UserSessions leaves the values out; load them for the size.
			rec, ok, err := o.st.Load(ctx, e.Key)
			if err != nil {
				return nil, err
			}
			if ok && keep(rec) {
				ss = append(ss, newSession(store.Entry{Key: e.Key, Record: rec}, false))
			}
		}
		return ss, nil
	}
	l, err := capability[store.Lister](o, "list sessions")
	if err != nil {
		return nil, err
	}
	err = l.List(ctx, func(e store.Entry) error {
		// A tombstone marks a session ended a moment ago (Destroy,
		// Regenerate): not a session to list.
		if keep(e.Record) && !store.IsTombstone(e.Record) {
			ss = append(ss, newSession(e, false))
		}
		return nil
	})
	return ss, err
}

func (c *cli) printList(ss []session, total int) error {
	if total == 0 {
		_, err := fmt.Fprintln(c.stdout, "no sessions")
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "HASH\tUSER\tCREATED\tIDLE\tEXPIRES IN\tSIZE\tIP")
	now := c.now()
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			shortHash(s.Hash), orDash(cut(printable(s.User), 24)), c.formatTime(s.Created),
			formatAge(now.Sub(s.LastSeen)), formatAge(s.Expires.Sub(now)), formatSize(s.Size),
			orDash(cut(printable(s.IP), 40)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ss) < total {
		_, err := fmt.Fprintf(c.stdout, "%d of %s shown (--limit)\n", len(ss), plural(total, "session"))
		return err
	}
	_, err := fmt.Fprintln(c.stdout, plural(total, "session"))
	return err
}

// --- resolving a session argument ------------------------------------------

// minPrefix is the shortest hash prefix accepted: 6 hex characters leave
// about one collision per 16 million sessions.
const minPrefix = 6

// resolve turns a hash, a hash prefix or a session ID into the store key of
// a live session.
func resolve(ctx context.Context, o *opened, arg string) (string, error) {
	lower := strings.ToLower(arg)
	switch {
	case store.ValidKey(lower):
		_, ok, err := o.st.Load(ctx, lower)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", notFound("no session %s", shortHash(lower))
		}
		return lower, nil
	case isSessionID(arg):
		key := store.Key(arg)
		_, ok, err := o.st.Load(ctx, key)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", notFound("no session with that ID (hash %s)", shortHash(key))
		}
		return key, nil
	case isHex(lower) && len(lower) >= minPrefix && len(lower) < 64:
		l, err := capability[store.Lister](o, "look sessions up by a hash prefix")
		if err != nil {
			return "", err
		}
		var found []string
		err = l.List(ctx, func(e store.Entry) error {
			if strings.HasPrefix(e.Key, lower) {
				found = append(found, e.Key)
				if len(found) > 5 {
					return store.ErrStop
				}
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		switch len(found) {
		case 0:
			return "", notFound("no session hash starts with %s", lower)
		case 1:
			return found[0], nil
		}
		slices.Sort(found)
		for i := range found {
			found[i] = shortHash(found[i])
		}
		return "", usageErr("%s is ambiguous: it starts %d or more sessions (%s); give more of the hash",
			lower, len(found), strings.Join(found, ", "))
	}
	return "", usageErr("%q is not a session hash, a hash prefix of %d+ hex characters, or a session ID", cut(arg, 80), minPrefix)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

// isSessionID reports whether s has the form of a sesame session ID: 43
// characters of unpadded base64url (32 random bytes).
func isSessionID(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// --- show ---------------------------------------------------------------

func setupShow(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	sf := c.addStoreFlags(fs, defaultTimeout)
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return usageErr("want one session, got %d arguments", len(args))
		}
		return c.withStore(ctx, sf, func(ctx context.Context, o *opened) error {
			key, err := resolve(ctx, o, args[0])
			if err != nil {
				return err
			}
			rec, ok, err := o.st.Load(ctx, key)
			if err != nil {
				return err
			}
			if !ok {
				return notFound("session %s is gone", shortHash(key))
			}
			s := newSession(store.Entry{Key: key, Record: rec}, true)
			if sf.json {
				return writeJSON(c.stdout, s)
			}
			return c.printSession(s)
		})
	}
}

func (c *cli) printSession(s session) error {
	tw := table(c.stdout)
	fmt.Fprintf(tw, "hash\t%s\n", s.Hash)
	fmt.Fprintf(tw, "user\t%s\n", orDash(printable(s.User)))
	fmt.Fprintf(tw, "ip\t%s\n", orDash(printable(s.IP)))
	fmt.Fprintf(tw, "user agent\t%s\n", orDash(printable(s.UserAgent)))
	fmt.Fprintf(tw, "created\t%s (%s)\n", c.formatTime(s.Created), c.ago(s.Created))
	fmt.Fprintf(tw, "last seen\t%s (%s)\n", c.formatTime(s.LastSeen), c.ago(s.LastSeen))
	fmt.Fprintf(tw, "expires\t%s (%s)\n", c.formatTime(s.Expires), c.ago(s.Expires))
	fmt.Fprintf(tw, "size\t%s in %s\n", formatSize(s.Size), plural(s.Keys, "value"))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Values) > 0 {
		fmt.Fprintln(c.stdout, "\nvalues:")
		b, err := json.MarshalIndent(s.Values, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
	}
	if len(s.RawValues) > 0 {
		fmt.Fprintln(c.stdout, "\nvalues that are not JSON:")
		for _, k := range slices.Sorted(maps.Keys(s.RawValues)) {
			fmt.Fprintf(c.stdout, "  %s: %q\n", printable(k), s.RawValues[k])
		}
	}
	if len(s.Internal) > 0 {
		fmt.Fprintln(c.stdout, "\nsesame's own values (not shown: they may be secrets):")
		tw := table(c.stdout)
		for _, k := range slices.Sorted(maps.Keys(s.Internal)) {
			fmt.Fprintf(tw, "  %s\t%s\n", printable(k), formatSize(s.Internal[k]))
		}
		return tw.Flush()
	}
	return nil
}

// --- delete -------------------------------------------------------------

// deleted is the JSON output of delete.
type deleted struct {
	User    string   `json:"user,omitempty"`
	Deleted int      `json:"deleted"`
	Hashes  []string `json:"hashes,omitempty"`
	// TokensRevoked is how many remember-me tokens of User were revoked;
	// null when the store keeps no tokens (the app may keep them elsewhere).
	TokensRevoked *int `json:"tokens_revoked,omitempty"`
}

func setupDelete(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	sf := c.addStoreFlags(fs, defaultTimeout)
	user := fs.String("user", "", "delete every session of user `ID`")
	return func(ctx context.Context, args []string) error {
		switch {
		case *user != "" && len(args) > 0:
			return usageErr("give sessions or --user, not both")
		case *user == "" && len(args) == 0:
			return usageErr("no session to delete: give hashes or --user ID")
		}
		return c.withStore(ctx, sf, func(ctx context.Context, o *opened) error {
			if *user != "" {
				ui, err := capability[store.UserIndex](o, "delete the sessions of a user")
				if err != nil {
					return err
				}
				// Tokens first: a remember-me token left behind would log
				// the user back in, creating a session after the deletion.
				out := deleted{User: *user}
				if ts, ok := o.st.(store.TokenStore); ok {
					t, err := ts.DeleteUserTokens(ctx, *user)
					if err != nil {
						return fmt.Errorf("revoking the remember-me tokens of user %s: %w", printable(*user), err)
					}
					out.TokensRevoked = &t
				}
				n, err := ui.DeleteUserSessions(ctx, *user, "")
				if err != nil {
					return err
				}
				out.Deleted = n
				if sf.json {
					return writeJSON(c.stdout, out)
				}
				if out.TokensRevoked == nil {
					_, err = fmt.Fprintf(c.stdout, "deleted %s of user %s\nthe %s store keeps no remember-me tokens: if the app keeps them elsewhere, revoke them there, or \"remember me\" logs the user back in\n",
						plural(n, "session"), printable(*user), o.kind)
					return err
				}
				_, err = fmt.Fprintf(c.stdout, "deleted %s of user %s and revoked %s\n",
					plural(n, "session"), printable(*user), plural(*out.TokensRevoked, "remember-me token"))
				return err
			}
			// Resolve every argument first: a typo deletes nothing.
			keys := make([]string, 0, len(args))
			for _, a := range args {
				key, err := resolve(ctx, o, a)
				if err != nil {
					return err
				}
				if !slices.Contains(keys, key) {
					keys = append(keys, key)
				}
			}
			out := deleted{Hashes: []string{}}
			for _, key := range keys {
				if err := o.st.Delete(ctx, key); err != nil {
					return err
				}
				out.Deleted++
				out.Hashes = append(out.Hashes, key)
				if !sf.json {
					fmt.Fprintf(c.stdout, "deleted session %s\n", shortHash(key))
				}
			}
			if sf.json {
				return writeJSON(c.stdout, out)
			}
			return nil
		})
	}
}

// --- prune --------------------------------------------------------------

func setupPrune(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	sf := c.addStoreFlags(fs, 0) // a large table takes long; Ctrl-C stops it
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usageErr("unexpected argument %q", args[0])
		}
		return c.withStore(ctx, sf, func(ctx context.Context, o *opened) error {
			p, err := capability[store.Pruner](o, "prune")
			if err != nil {
				return err
			}
			var n int
			if c.tty && !sf.json {
				n, err = c.pruneWithProgress(ctx, o, p)
			} else {
				n, err = p.Prune(ctx)
			}
			if err != nil {
				return fmt.Errorf("pruned %s, then: %w", plural(n, "session"), err)
			}
			if sf.json {
				return writeJSON(c.stdout, map[string]int{"pruned": n})
			}
			_, err = fmt.Fprintf(c.stdout, "pruned %s\n", plural(n, "expired session"))
			return err
		})
	}
}

// pruneWithProgress runs p.Prune while a progress bar on stdout shows how
// many of the expired records are gone (or, for stores that cannot count
// them, a spinner).
func (c *cli) pruneWithProgress(ctx context.Context, o *opened, p store.Pruner) (int, error) {
	start := c.now()
	count := o.expiredCounter()
	total := -1 // unknown
	if count != nil {
		if n, err := count(ctx, start); err == nil {
			total = n
		} else {
			count = nil
		}
	}
	bar := &progressBar{w: c.stdout, label: "pruning", width: 30}
	bar.draw(0, total, 0)
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := p.Prune(ctx)
		done <- result{n, err}
	}()
	tick := time.NewTicker(c.pollEvery)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			if r.err == nil {
				bar.draw(r.n, max(total, r.n), c.now().Sub(start))
			}
			bar.end()
			return r.n, r.err
		case <-tick.C:
			if count == nil || total <= 0 {
				bar.draw(0, total, c.now().Sub(start))
				continue
			}
			left, err := count(ctx, start)
			if err != nil {
				continue // the prune itself reports real failures
			}
			bar.draw(total-left, total, c.now().Sub(start))
		}
	}
}
