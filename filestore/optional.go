package filestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sesamego/sesame/store"
)

// staleTemp is the age after which Prune removes a leftover temporary file:
// far longer than any write takes.
const staleTemp = time.Hour

// pruneBatch is the most files Prune examines under one lock.
const pruneBatch = 64

// Prune removes expired record files, expired lock files and leftover
// temporary files, and returns how many records it removed. It reads one
// subdirectory at a time, skips without reading the files whose modification
// time (set to the record's expiry on every write) is still in the future,
// and re-checks the others under the subdirectory's lock, in batches of at
// most 64 files, so writers never wait long. A corrupt record file is left in
// place and reported in the error after the whole pass; ctx being done stops
// Prune early with ctx's error.
func (s *Store) Prune(ctx context.Context) (int, error) {
	n := 0
	var firstErr error
	for idx := range s.subdirs {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("filestore: prune: %w", err)
		}
		now := s.now()
		entries, err := os.ReadDir(s.subdirs[idx])
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, unavailable("prune", err)
		}
		var candidates []string
		for _, e := range entries {
			name := e.Name()
			switch {
			case store.ValidKey(name):
				if info, err := e.Info(); err == nil && info.ModTime().After(now) {
					continue // the hint says live
				}
			case strings.HasSuffix(name, lockSuffix) && store.ValidKey(strings.TrimSuffix(name, lockSuffix)):
			case strings.HasPrefix(name, tempPrefix):
				if !staleTempName(name, now) {
					continue
				}
			default:
				continue
			}
			candidates = append(candidates, name)
		}
		for len(candidates) > 0 {
			batch := candidates[:min(pruneBatch, len(candidates))]
			candidates = candidates[len(batch):]
			removed, err := s.pruneBatch(ctx, idx, batch)
			n += removed
			if ctx.Err() != nil {
				return n, fmt.Errorf("filestore: prune: %w", ctx.Err())
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	return n, firstErr
}

// staleTempName reports whether a temporary file, named with its creation
// time in Unix nanoseconds, is older than staleTemp.
func staleTempName(name string, now time.Time) bool {
	stamp, _, _ := strings.Cut(strings.TrimPrefix(name, tempPrefix), "-")
	nanos, err := strconv.ParseInt(stamp, 10, 64)
	return err != nil || now.Sub(time.Unix(0, nanos)) > staleTemp
}

// pruneBatch removes what is expired among names, in subdirectory idx,
// under its lock.
func (s *Store) pruneBatch(ctx context.Context, idx int, names []string) (int, error) {
	d, err := s.lock(ctx, idx)
	if err != nil {
		return 0, err
	}
	defer s.unlock(idx, d)
	now := s.now()
	n, removedAny := 0, false
	var firstErr error
	for _, name := range names {
		path := filepath.Join(s.subdirs[idx], name)
		switch {
		case store.ValidKey(name):
			rec, ok, err := s.read(path, false)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if !ok || rec.Expires.After(now) {
				continue
			}
			n++
		case strings.HasSuffix(name, lockSuffix):
			if l, ok := readLock(path); ok && l.expires.After(now) {
				continue
			}
		}
		if err := removeFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, unavailable("prune", err)
		}
		removedAny = true
	}
	if removedAny {
		if err := s.syncDir(d); err != nil {
			return n, unavailable("prune", err)
		}
	}
	return n, firstErr
}

// scan calls fn with the path and key of every record file, one
// subdirectory at a time, until fn returns an error or ctx is done.
func (s *Store) scan(ctx context.Context, op string, fn func(path, key string) error) error {
	for idx := range s.subdirs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("filestore: %s: %w", op, err)
		}
		entries, err := os.ReadDir(s.subdirs[idx])
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return unavailable(op, err)
		}
		for _, e := range entries {
			if name := e.Name(); store.ValidKey(name) {
				if err := fn(filepath.Join(s.subdirs[idx], name), name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// List calls fn for every live record, following [store.Lister]. It reads
// every record file, one at a time, without holding locks, so fn may use the
// store. A record file that cannot be read or decoded stops List with an
// error wrapping [store.ErrUnavailable].
func (s *Store) List(ctx context.Context, fn func(store.Entry) error) error {
	err := s.scan(ctx, "list", func(path, key string) error {
		rec, ok, err := s.read(path, true)
		if err != nil {
			return err
		}
		if !ok || !rec.Expires.After(s.now()) {
			return nil
		}
		return fn(store.Entry{Key: key, Record: rec})
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}

// UserSessions returns the live records of userID without their values,
// following [store.UserIndex]. The file store keeps no index: it reads the
// metadata of every record file, so its cost grows with the number of
// records (about a file open and a small read each). That suits the "your
// devices" page of a site whose sessions fit on one disk; for many records,
// use a store with an index (SQL, Redis).
func (s *Store) UserSessions(ctx context.Context, userID string) ([]store.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("filestore: user sessions: %w", err)
	}
	if userID == "" {
		return nil, nil
	}
	var out []store.Entry
	err := s.scan(ctx, "user sessions", func(path, key string) error {
		rec, ok, err := s.read(path, false)
		if err != nil {
			return err
		}
		if ok && rec.UserID == userID && rec.Expires.After(s.now()) {
			out = append(out, store.Entry{Key: key, Record: rec})
		}
		return nil
	})
	return out, err
}

// DeleteUserSessions deletes the records of userID except the one under
// except, following [store.UserIndex], and returns how many live records it
// deleted. Like [Store.UserSessions] it scans every record file; each match
// is re-checked and removed under its subdirectory's lock.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	if except != "" && !store.ValidKey(except) {
		return 0, fmt.Errorf("filestore: delete user sessions: %w", store.ErrMalformedKey)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("filestore: delete user sessions: %w", err)
	}
	if userID == "" {
		return 0, nil
	}
	n := 0
	err := s.scan(ctx, "delete user sessions", func(path, key string) error {
		if key == except {
			return nil
		}
		rec, ok, err := s.read(path, false)
		if err != nil || !ok || rec.UserID != userID {
			return err
		}
		idx := subdirIndex(key)
		d, err := s.lock(ctx, idx)
		if err != nil {
			return fmt.Errorf("filestore: delete user sessions: %w", err)
		}
		defer s.unlock(idx, d)
		rec, ok, err = s.read(path, false) // it may have changed
		if err != nil || !ok || rec.UserID != userID {
			return err
		}
		if err := s.remove(d, path); err != nil {
			return unavailable("delete user sessions", err)
		}
		if rec.Expires.After(s.now()) {
			n++
		}
		return nil
	})
	return n, err
}

// Rename applies c to the record under oldKey and moves it to newKey,
// following [store.Renamer]. Under the locks of both subdirectories, it
// first replaces the old file with the merged record, then renames it to the
// new name: rename(2) is atomic, so at every instant, crash included, the
// record is under exactly one of the keys.
func (s *Store) Rename(ctx context.Context, oldKey, newKey string, c store.Change) error {
	if err := check(ctx, "rename", oldKey, newKey); err != nil {
		return err
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("filestore: rename: %w", err)
	}
	from, to := subdirIndex(oldKey), subdirIndex(newKey)
	dfrom, dto, unlock, err := s.lockPair(ctx, from, to)
	if err != nil {
		return fmt.Errorf("filestore: rename: %w", err)
	}
	defer unlock()
	cur, ok, err := s.read(s.recordPath(oldKey), true)
	if err != nil {
		return err
	}
	c.Create = false
	data, rec, err := s.merge(cur, ok, c)
	if err != nil {
		return fmt.Errorf("filestore: rename: %w", err)
	}
	taken, ok, err := s.read(s.recordPath(newKey), false)
	if err != nil {
		return err
	}
	if ok && taken.Expires.After(s.now()) {
		return fmt.Errorf("filestore: rename: %w", store.ErrExists)
	}
	if err := s.writeFile(dfrom, from, oldKey, data, rec.Expires, true); err != nil {
		return unavailable("rename", err)
	}
	if err := renameFile(s.recordPath(oldKey), s.recordPath(newKey)); err != nil {
		return unavailable("rename", err)
	}
	if err := s.syncDir(dto); err != nil {
		return unavailable("rename", err)
	}
	if dfrom != dto {
		if err := s.syncDir(dfrom); err != nil {
			return unavailable("rename", err)
		}
	}
	return nil
}

// fileLock is the content of a lock file: its expiry, then its token.
type fileLock struct {
	expires time.Time
	token   string
}

func encodeLock(l fileLock) []byte {
	buf := binary.BigEndian.AppendUint64(nil, uint64(l.expires.UnixNano()))
	return append(buf, l.token...)
}

// readLock reads a lock file. A missing or unreadable one is no lock: it is
// rewritten by the next TryLock.
func readLock(path string) (fileLock, bool) {
	data, err := os.ReadFile(path)
	if err != nil || len(data) < 8 {
		return fileLock{}, false
	}
	return fileLock{expires: time.Unix(0, int64(binary.BigEndian.Uint64(data))), token: string(data[8:])}, true
}

// TryLock takes the lock on key for ttl, following [store.Locker]. The lock
// is a file next to the record's, written under the subdirectory's lock, so
// it is shared by every process using the directory. A TryLock with the
// token that holds the lock reports true and extends it (a retry, not a
// second holder). A ttl that is not positive is an error.
func (s *Store) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := check(ctx, "lock", key); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, errors.New("filestore: lock: ttl must be positive")
	}
	idx := subdirIndex(key)
	d, err := s.lock(ctx, idx)
	if err != nil {
		return false, fmt.Errorf("filestore: lock: %w", err)
	}
	defer s.unlock(idx, d)
	now := s.now()
	if l, ok := readLock(s.lockPath(key)); ok && l.expires.After(now) && l.token != token {
		return false, nil
	}
	// Not synced: a lock need not outlive a crash of the machine.
	if err := s.writeFile(d, idx, key+lockSuffix, encodeLock(fileLock{expires: now.Add(ttl), token: token}), time.Time{}, false); err != nil {
		return false, unavailable("lock", err)
	}
	return true, nil
}

// Unlock releases the lock on key if token holds it, following
// [store.Locker].
func (s *Store) Unlock(ctx context.Context, key, token string) error {
	if err := check(ctx, "unlock", key); err != nil {
		return err
	}
	idx := subdirIndex(key)
	d, err := s.lock(ctx, idx)
	if err != nil {
		return fmt.Errorf("filestore: unlock: %w", err)
	}
	defer s.unlock(idx, d)
	path := s.lockPath(key)
	if l, ok := readLock(path); ok && l.token == token {
		if err := removeFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return unavailable("unlock", err)
		}
	}
	return nil
}

// Take removes field from the live record under key and returns its value,
// following [store.Taker]: under the subdirectory's lock it reads the record,
// and rewrites it without the field, so of two concurrent calls, in any
// processes, only one gets the value. It leaves LastSeen and Expires alone.
func (s *Store) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	if err := check(ctx, "take", key); err != nil {
		return nil, false, err
	}
	idx := subdirIndex(key)
	d, err := s.lock(ctx, idx)
	if err != nil {
		return nil, false, fmt.Errorf("filestore: take: %w", err)
	}
	defer s.unlock(idx, d)
	rec, ok, err := s.read(s.recordPath(key), true)
	if err != nil || !ok || !rec.Expires.After(s.now()) {
		return nil, false, err
	}
	v, ok := rec.Values[field]
	if !ok {
		return nil, false, nil
	}
	delete(rec.Values, field)
	data, err := encodeRecord(rec, s.threshold)
	if err != nil {
		return nil, false, fmt.Errorf("filestore: take: %w", err)
	}
	if err := s.writeFile(d, idx, key, data, rec.Expires, true); err != nil {
		return nil, false, unavailable("take", err)
	}
	return v, true, nil
}
