package admin

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesamego/sesame/store"
)

// The index is the dashboard's own list of the store's sessions, built by
// listing the store (store.Lister) in the background: the overview counts
// from it and the sessions and users lists page through it, so that no page
// waits for a scan of a store with a million records. It holds metadata
// only (no values, addresses or user agents), about 100 bytes a session.
//
// A page that finds the index older than Options.RefreshInterval starts a
// new build and shows the old index meanwhile; a dashboard nobody looks at
// costs nothing.

// indexEntry is one live session in the index.
type indexEntry struct {
	key        [32]byte // the store key, decoded
	user       string   // interned: one string per user
	created    int64    // unix nanoseconds
	lastSeen   int64
	ends       int64 // when the session ends (idle or absolute), as of the list
	size       int32 // store.Size of its values
	remembered bool
}

// hash returns the entry's store key.
func (e *indexEntry) hash() string { return hex.EncodeToString(e.key[:]) }

// userCount is one user of the index with their number of sessions.
type userCount struct {
	ID       string
	Sessions int
	LastSeen time.Time
}

// snapshot is one complete build of the index. It is never modified after
// the build, so pages read it without a lock.
type snapshot struct {
	started, built time.Time
	// byLastSeen holds every indexed session, the most recently seen first
	// (ties by key), which is the order of the sessions list and of its
	// cursors.
	byLastSeen []indexEntry
	byUser     map[string][]int32 // positions in byLastSeen
	users      []userCount        // sorted by ID
	total      int                // live sessions seen, indexed or not
	withUser   int
	bytes      int64
	truncated  bool // more than maxIndexed sessions: the lists show the first ones listed
}

// index builds and holds snapshots.
type index struct {
	lister   store.Lister
	maxAge   time.Duration
	max      int
	timeout  time.Duration
	now      func() time.Time
	ends     func(store.Record) time.Time // when a record's session ends
	onBuilt  func(started time.Time)      // told after each successful build
	progress atomic.Int64                 // sessions read by the running build

	mu       sync.Mutex
	cur      *snapshot
	building chan struct{} // closed when the running build ends; nil when none runs
	stale    bool          // rebuild on the next get, however young the index
	err      error         // the last build's failure, cleared by a success
	errAt    time.Time
}

// indexState is what a page learns from the index.
type indexState struct {
	snap     *snapshot // nil before the first build
	building bool
	read     int64 // sessions read so far by the running build
	err      error
	errAt    time.Time
}

// get returns the current snapshot and starts a build when there is none,
// or when it is older than maxAge and the last build did not fail in the
// meantime (a failing store is not listed again on every page view). When
// there is no snapshot yet it waits up to wait for the build, so that small
// stores show their sessions on the first page; a page that has a snapshot
// to show never waits.
func (ix *index) get(wait time.Duration) indexState {
	ix.mu.Lock()
	now := ix.now()
	stale := ix.stale || ix.cur == nil || now.Sub(ix.cur.started) > ix.maxAge
	if stale && ix.building == nil && (ix.err == nil || now.Sub(ix.errAt) > ix.maxAge) {
		ix.stale = false
		ix.building = make(chan struct{})
		go ix.build(ix.building)
	}
	done := ix.building
	if ix.cur != nil {
		done = nil
	}
	ix.mu.Unlock()
	if done != nil && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return indexState{snap: ix.cur, building: ix.building != nil, read: ix.progress.Load(), err: ix.err, errAt: ix.errAt}
}

// invalidate makes the next page view rebuild the index (after an action
// ended sessions, or when the recorder saw a user's sessions change).
func (ix *index) invalidate() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.stale = true
}

// wait blocks until no build runs.
func (ix *index) wait() {
	ix.mu.Lock()
	done := ix.building
	ix.mu.Unlock()
	if done != nil {
		<-done
	}
}

// build lists the store into a new snapshot. It runs in its own goroutine
// and ends when the list does (bounded by ix.timeout).
func (ix *index) build(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), ix.timeout)
	defer cancel()
	snap, err := ix.list(ctx)
	ix.mu.Lock()
	if err != nil {
		ix.err, ix.errAt = err, ix.now()
	} else {
		ix.cur, ix.err = snap, nil
	}
	ix.building = nil
	ix.progress.Store(0)
	ix.mu.Unlock()
	close(done)
	if err == nil && ix.onBuilt != nil {
		ix.onBuilt(snap.started)
	}
}

func (ix *index) list(ctx context.Context) (*snapshot, error) {
	s := &snapshot{started: ix.now()}
	interned := map[string]string{}
	now := s.started
	err := ix.lister.List(ctx, func(e store.Entry) error {
		rec := e.Record
		if _, gone := rec.Values[store.GoneField]; gone {
			return nil // a tombstone: an ended session
		}
		ends := ix.ends(rec)
		if !ends.After(now) {
			return nil
		}
		ix.progress.Add(1)
		s.total++
		size := store.Size(rec.Values)
		s.bytes += int64(size)
		if rec.UserID != "" {
			s.withUser++
		}
		if len(s.byLastSeen) >= ix.max {
			s.truncated = true
			return nil
		}
		en := indexEntry{
			created:    rec.Created.UnixNano(),
			lastSeen:   rec.LastSeen.UnixNano(),
			ends:       ends.UnixNano(),
			size:       int32(min(size, 1<<31-1)),
			remembered: isRemembered(rec.Values),
		}
		if _, err := hex.Decode(en.key[:], []byte(e.Key)); err != nil || len(e.Key) != 64 {
			return nil // not a key sesame made
		}
		if u := rec.UserID; u != "" {
			in, ok := interned[u]
			if !ok {
				in = strings.Clone(u)
				interned[in] = in
			}
			en.user = in
		}
		s.byLastSeen = append(s.byLastSeen, en)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("admin: listing the store: %w", err)
	}
	slices.SortFunc(s.byLastSeen, func(a, b indexEntry) int { return compareEntries(&a, &b) })
	s.byUser = map[string][]int32{}
	for i := range s.byLastSeen {
		if u := s.byLastSeen[i].user; u != "" {
			s.byUser[u] = append(s.byUser[u], int32(i))
		}
	}
	s.users = make([]userCount, 0, len(s.byUser))
	for u, pos := range s.byUser {
		s.users = append(s.users, userCount{ID: u, Sessions: len(pos), LastSeen: time.Unix(0, s.byLastSeen[pos[0]].lastSeen)})
	}
	slices.SortFunc(s.users, func(a, b userCount) int { return strings.Compare(a.ID, b.ID) })
	s.built = ix.now()
	return s, nil
}

// compareEntries orders the sessions list: the most recently seen first,
// then by key.
func compareEntries(a, b *indexEntry) int {
	switch {
	case a.lastSeen > b.lastSeen:
		return -1
	case a.lastSeen < b.lastSeen:
		return 1
	}
	return bytes.Compare(a.key[:], b.key[:])
}

// A cursor is where a page of the sessions list starts: just after the
// session last seen at lastSeen with the given key. It travels in the URL as
// "<unix nanoseconds>.<hex key>", and stays meaningful when the index is
// rebuilt between two pages.
type cursor struct {
	lastSeen int64
	key      [32]byte
}

// errCursor is returned for a cursor that is not one the dashboard made.
var errCursor = errors.New("admin: malformed cursor")

func (c cursor) String() string {
	return strconv.FormatInt(c.lastSeen, 10) + "." + hex.EncodeToString(c.key[:])
}

// parseCursor parses a cursor of the sessions list.
func parseCursor(s string) (cursor, error) {
	var c cursor
	ts, key, ok := strings.Cut(s, ".")
	if !ok || len(ts) == 0 || len(ts) > 20 || !store.ValidKey(key) {
		return c, errCursor
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != ts { // one spelling per cursor: no "007", no "-0"
		return c, errCursor
	}
	c.lastSeen = n
	if _, err := hex.Decode(c.key[:], []byte(key)); err != nil {
		return c, errCursor
	}
	return c, nil
}

// page returns up to n entries of the sessions list after c (from the start
// when c is nil), and the cursor of the next page (nil on the last one).
func (s *snapshot) page(c *cursor, n int) ([]indexEntry, *cursor) {
	all := s.byLastSeen
	start := 0
	if c != nil {
		at := indexEntry{lastSeen: c.lastSeen, key: c.key}
		start, _ = slices.BinarySearchFunc(all, &at, func(e indexEntry, t *indexEntry) int { return compareEntries(&e, t) })
		if start < len(all) && compareEntries(&all[start], &at) == 0 {
			start++
		}
	}
	end := min(start+n, len(all))
	rows := all[start:end]
	if end == len(all) {
		return rows, nil
	}
	last := rows[len(rows)-1]
	return rows, &cursor{lastSeen: last.lastSeen, key: last.key}
}

// usersPage returns up to n users whose ID starts with prefix, after the
// user ID after (from the first when after is ""), and the ID to continue
// from ("" on the last page).
func (s *snapshot) usersPage(prefix, after string, n int) ([]userCount, string) {
	from := max(prefix, after)
	start, found := slices.BinarySearchFunc(s.users, from, func(u userCount, id string) int { return strings.Compare(u.ID, id) })
	if found && after != "" && from == after {
		start++
	}
	var out []userCount
	for i := start; i < len(s.users) && strings.HasPrefix(s.users[i].ID, prefix); i++ {
		if len(out) == n {
			return out, out[len(out)-1].ID
		}
		out = append(out, s.users[i])
	}
	return out, ""
}

// sessionsOf returns the indexed sessions of user, most recently seen first.
func (s *snapshot) sessionsOf(user string) []indexEntry {
	pos := s.byUser[user]
	out := make([]indexEntry, len(pos))
	for i, p := range pos {
		out[i] = s.byLastSeen[p]
	}
	return out
}
