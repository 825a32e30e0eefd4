package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sesamego/sesame/store"
)

// Options configures a [Store]. The zero value gives the defaults.
type Options struct {
	// MaxRecordSize is the largest record, as measured by [store.Size], that
	// Apply accepts. Zero means [store.DefaultMaxRecordSize].
	MaxRecordSize int

	// CompressThreshold is the value size above which values are compressed
	// in the file (see [store.EncodeValues]). Zero means
	// [store.DefaultCompressThreshold]; a negative value never compresses.
	CompressThreshold int

	// Now is the store's clock, which decides what has expired. Nil means
	// time.Now. Tests that move time set it.
	Now func() time.Time
}

// Store is a session store that keeps each record in its own file. Its
// methods are safe for concurrent use, and several processes may share one
// directory (see the package documentation).
type Store struct {
	dir           string
	subdirs       [256]string
	sems          [256]chan struct{} // in-process locks, one per subdirectory
	made          [256]atomic.Bool   // whether the subdirectory is known to exist
	maxRecordSize int
	maxFile       int64
	threshold     int
	now           func() time.Time
	noSync        bool   // tests only: skip fsync where the test does not need it
	midWrite      func() // tests only: called with half of a file written
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Pruner    = (*Store)(nil)
	_ store.Lister    = (*Store)(nil)
	_ store.UserIndex = (*Store)(nil)
	_ store.Renamer   = (*Store)(nil)
	_ store.Locker    = (*Store)(nil)
	_ store.Taker     = (*Store)(nil)
)

// New returns a store that keeps its records under dir, with the default
// options. See [NewWithOptions].
func New(dir string) (*Store, error) {
	return NewWithOptions(dir, Options{})
}

// NewWithOptions returns a store that keeps its records under dir, creating
// dir (mode 0700) when it is missing; its subdirectories are created on first
// use. It returns an error when dir cannot be created or is not a directory,
// or when MaxRecordSize is negative. It starts no goroutine.
func NewWithOptions(dir string, o Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("filestore: empty directory name")
	}
	if o.MaxRecordSize < 0 {
		return nil, errors.New("filestore: negative MaxRecordSize")
	}
	if o.MaxRecordSize == 0 {
		o.MaxRecordSize = store.DefaultMaxRecordSize
	}
	if o.CompressThreshold == 0 {
		o.CompressThreshold = store.DefaultCompressThreshold
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{
		dir:           dir,
		maxRecordSize: o.MaxRecordSize,
		// Values take at most 4/3 of their size once encoded (base64 of
		// what is neither JSON nor compressible); metadata gets 1 MiB.
		maxFile:   2*int64(o.MaxRecordSize) + 1<<20,
		threshold: o.CompressThreshold,
		now:       o.Now,
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("filestore: %s is not a directory", dir)
	}
	for i := range s.subdirs {
		s.subdirs[i] = filepath.Join(dir, fmt.Sprintf("%02x", i))
		s.sems[i] = make(chan struct{}, 1)
	}
	return s, nil
}

// makeSubdir creates subdirectory idx (mode 0700) unless it exists, and
// syncs the store's directory after creating it.
func (s *Store) makeSubdir(idx int) error {
	if s.made[idx].Load() {
		return nil
	}
	err := os.Mkdir(s.subdirs[idx], 0o700)
	if errors.Is(err, fs.ErrNotExist) {
		// The store's own directory is gone too.
		if err = os.MkdirAll(s.dir, 0o700); err == nil {
			err = os.Mkdir(s.subdirs[idx], 0o700)
		}
	}
	switch {
	case err == nil:
		if err := s.syncPath(s.dir); err != nil {
			return err
		}
	case errors.Is(err, fs.ErrExist):
		if fi, err := os.Stat(s.subdirs[idx]); err != nil || !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", s.subdirs[idx])
		}
	default:
		return err
	}
	s.made[idx].Store(true)
	return nil
}

// Dir returns the directory the store keeps its records in.
func (s *Store) Dir() string { return s.dir }

// subdirIndex returns the subdirectory of a valid key: its first byte.
func subdirIndex(key string) int {
	return int(unhex(key[0])<<4 | unhex(key[1]))
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// recordPath returns the file of a valid key: dir/ab/abcdef…, the key being
// 64 lower-case hex characters, so no key can name a path elsewhere.
func (s *Store) recordPath(key string) string {
	return filepath.Join(s.subdirs[subdirIndex(key)], key)
}

// lockPath returns the file of a valid key's session lock.
func (s *Store) lockPath(key string) string {
	return filepath.Join(s.subdirs[subdirIndex(key)], key+lockSuffix)
}

const (
	lockSuffix = ".lock"
	tempPrefix = ".tmp-"
)

// check validates keys and ctx before any I/O.
func check(ctx context.Context, op string, keys ...string) error {
	for _, k := range keys {
		if !store.ValidKey(k) {
			return fmt.Errorf("filestore: %s: %w", op, store.ErrMalformedKey)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: %s: %w", op, err)
	}
	return nil
}

// unavailable wraps an I/O error with store.ErrUnavailable.
func unavailable(op string, err error) error {
	return fmt.Errorf("filestore: %s: %w: %w", op, store.ErrUnavailable, err)
}

// read reads and decodes the record file at path, with or without its
// values. A missing file is ok == false and no error; a file that cannot be
// read or decoded is an error wrapping store.ErrUnavailable.
func (s *Store) read(path string, values bool) (store.Record, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return store.Record{}, false, nil
	}
	if err != nil {
		return store.Record{}, false, unavailable("read", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return store.Record{}, false, unavailable("read", err)
	}
	if !fi.Mode().IsRegular() {
		return store.Record{}, false, unavailable("read", fmt.Errorf("%s: not a regular file", path))
	}
	if fi.Size() > s.maxFile {
		return store.Record{}, false, unavailable("read", fmt.Errorf("%s: %w: %d bytes", path, errCorrupt, fi.Size()))
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return store.Record{}, false, unavailable("read", fmt.Errorf("%s: %w", path, err))
	}
	rec, err := decodeRecord(data, values, s.maxRecordSize)
	if err != nil {
		return store.Record{}, false, unavailable("read", fmt.Errorf("%s: %w", path, err))
	}
	return rec, true, nil
}

// Load returns the live record under key, following [store.Store.Load]. It
// takes no lock: files are replaced by rename, so a reader sees a whole old
// or a whole new record. A file that cannot be read or is corrupt is an error
// wrapping [store.ErrUnavailable].
func (s *Store) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if err := check(ctx, "load", key); err != nil {
		return store.Record{}, false, err
	}
	rec, ok, err := s.read(s.recordPath(key), true)
	if err != nil || !ok || !rec.Expires.After(s.now()) {
		return store.Record{}, false, err
	}
	return rec, true, nil
}

// Apply applies c to the record under key, following [store.Store.Apply].
// It holds the lock of the key's subdirectory, in this process and across
// processes, while it reads, merges and atomically replaces the file.
func (s *Store) Apply(ctx context.Context, key string, c store.Change) error {
	if err := check(ctx, "apply", key); err != nil {
		return err
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("filestore: apply: %w", err)
	}
	idx := subdirIndex(key)
	d, err := s.lock(ctx, idx)
	if err != nil {
		return fmt.Errorf("filestore: apply: %w", err)
	}
	defer s.unlock(idx, d)
	path := s.recordPath(key)
	cur, ok, err := s.read(path, true)
	if err != nil {
		return err
	}
	data, rec, err := s.merge(cur, ok, c)
	if err != nil {
		return fmt.Errorf("filestore: apply: %w", err)
	}
	if err := s.writeFile(d, idx, key, data, rec.Expires, true); err != nil {
		return unavailable("apply", err)
	}
	return nil
}

// merge is store.Merge plus the size limit, returning the new file contents.
func (s *Store) merge(cur store.Record, ok bool, c store.Change) ([]byte, store.Record, error) {
	rec, err := store.Merge(cur, ok, c, s.now())
	if err != nil {
		return nil, store.Record{}, err
	}
	if size := store.Size(rec.Values); size > s.maxRecordSize {
		return nil, store.Record{}, fmt.Errorf("%w: %d bytes, limit %d", store.ErrTooLarge, size, s.maxRecordSize)
	}
	data, err := encodeRecord(rec, s.threshold)
	if err != nil {
		return nil, store.Record{}, err
	}
	if int64(len(data)) > s.maxFile {
		return nil, store.Record{}, fmt.Errorf("%w: %d-byte file, limit %d", store.ErrTooLarge, len(data), s.maxFile)
	}
	return data, rec, nil
}

// Delete removes the record under key, following [store.Store.Delete]. The
// removal is synced to disk before Delete returns, so a destroyed session
// stays destroyed after a crash.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := check(ctx, "delete", key); err != nil {
		return err
	}
	idx := subdirIndex(key)
	d, err := s.lock(ctx, idx)
	if err != nil {
		return fmt.Errorf("filestore: delete: %w", err)
	}
	defer s.unlock(idx, d)
	if err := s.remove(d, s.recordPath(key)); err != nil {
		return unavailable("delete", err)
	}
	return nil
}

// remove deletes the file at path (a missing one is fine) and syncs the
// directory d.
func (s *Store) remove(d *os.File, path string) error {
	err := removeFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.syncDir(d)
}

// lock takes the in-process lock of subdirectory idx, then its
// cross-process lock, and returns the file that holds it until unlock closes
// it: the open directory (flock), or on Windows its lock file (LockFileEx).
// Waiting for either lock ends with ctx's error when ctx is done.
func (s *Store) lock(ctx context.Context, idx int) (*os.File, error) {
	select {
	case s.sems[idx] <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := s.makeSubdir(idx); err != nil {
		<-s.sems[idx]
		return nil, fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	d, err := openLock(s.subdirs[idx])
	if errors.Is(err, fs.ErrNotExist) {
		// Removed since it was made (an operator emptied the directory):
		// make it again rather than fail until the process restarts.
		s.made[idx].Store(false)
		if err = s.makeSubdir(idx); err == nil {
			d, err = openLock(s.subdirs[idx])
		}
	}
	if err != nil {
		<-s.sems[idx]
		return nil, fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	// Another process holds it for one write at a time: poll with a short
	// backoff, so that a cancelled request stops waiting.
	var timer *time.Timer
	for wait := 50 * time.Microsecond; ; wait = min(2*wait, 5*time.Millisecond) {
		ok, err := tryFlock(d)
		if err != nil {
			s.unlock(idx, d)
			return nil, fmt.Errorf("%w: flock: %w", store.ErrUnavailable, err)
		}
		if ok {
			return d, nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			s.unlock(idx, d)
			return nil, ctx.Err()
		}
	}
}

// unlock releases what lock took.
func (s *Store) unlock(idx int, d *os.File) {
	closeLock(d)
	<-s.sems[idx]
}

// lockPair locks the subdirectories of two keys in index order, so that two
// callers locking the same pair cannot deadlock, and returns the open
// directories in the keys' order (the same file twice when they share one),
// and a function that unlocks.
func (s *Store) lockPair(ctx context.Context, a, b int) (da, db *os.File, unlock func(), err error) {
	if a == b {
		d, err := s.lock(ctx, a)
		if err != nil {
			return nil, nil, nil, err
		}
		return d, d, func() { s.unlock(a, d) }, nil
	}
	lo, hi := min(a, b), max(a, b)
	dlo, err := s.lock(ctx, lo)
	if err != nil {
		return nil, nil, nil, err
	}
	dhi, err := s.lock(ctx, hi)
	if err != nil {
		s.unlock(lo, dlo)
		return nil, nil, nil, err
	}
	unlock = func() { s.unlock(hi, dhi); s.unlock(lo, dlo) }
	if a == lo {
		return dlo, dhi, unlock, nil
	}
	return dhi, dlo, unlock, nil
}

// writeFile atomically replaces the file name in subdirectory idx (whose
// open directory is d) with data: it writes a temporary file in the same
// directory, syncs it when durable, sets its modification time to mtime (the
// record's expiry, a hint for Prune), renames it over the old file and, when
// durable, syncs the directory. A crash at any point leaves the old file or
// the new one, never a mix; a leftover temporary file is never taken for a
// record and is removed by Prune.
func (s *Store) writeFile(d *os.File, idx int, name string, data []byte, mtime time.Time, durable bool) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(s.subdirs[idx], tempPrefix+strconv.FormatInt(s.now().UnixNano(), 10)+"-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if s.midWrite != nil { // lets the crash test kill a writer with a file half written
		_, err = f.Write(data[:len(data)/2])
		s.midWrite()
		data = data[len(data)/2:]
	}
	if err == nil {
		_, err = f.Write(data)
	}
	durable = durable && !s.noSync
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !mtime.IsZero() {
		_ = os.Chtimes(tmp, mtime, mtime) // only a hint: Prune reads files it is unsure of
	}
	if err == nil {
		err = renameFile(tmp, filepath.Join(s.subdirs[idx], name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if durable {
		return s.syncDir(d)
	}
	return nil
}

// syncDir syncs an open directory, so that the renames and removals in it
// survive a crash. File systems that cannot sync directories are tolerated,
// and so is Windows, which cannot (see syncsDirs): d is then the
// directory's lock file, and nothing is done.
func (s *Store) syncDir(d *os.File) error {
	if s.noSync || !syncsDirs {
		return nil
	}
	err := d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) { // ENOTSUP, EOPNOTSUPP
		return nil
	}
	return err
}

func (s *Store) syncPath(path string) error {
	if s.noSync || !syncsDirs {
		return nil
	}
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return s.syncDir(d)
}
