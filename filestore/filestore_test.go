package filestore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceWithTwoStoresOnOneDirectory(t *testing.T) {
	// Writes through one store and reads through the other must agree, and
	// their locks must exclude each other as two processes' would.
	storetest.Run(t, func(t *testing.T) store.Store {
		dir := t.TempDir()
		a, err := New(dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(dir)
		if err != nil {
			t.Fatal(err)
		}
		a.noSync, b.noSync = true, true // TestConformance covers syncing
		return &twoStores{Store: a, other: b}
	})
}

// twoStores sends every other Apply to a second Store on the same directory.
type twoStores struct {
	*Store
	other *Store
	mu    sync.Mutex
	n     int
}

func (t *twoStores) pick() *Store {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	if t.n%2 == 0 {
		return t.other
	}
	return t.Store
}

func (t *twoStores) Apply(ctx context.Context, key string, c store.Change) error {
	return t.pick().Apply(ctx, key, c)
}

func (t *twoStores) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	return t.pick().TryLock(ctx, key, token, ttl)
}

func TestConformanceWithoutCompression(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := NewWithOptions(t.TempDir(), Options{CompressThreshold: -1})
		if err != nil {
			t.Fatal(err)
		}
		s.noSync = true // TestConformance covers syncing
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) store.Store {
		s, err := New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	c := &clock{t: time.Now().Truncate(time.Second)}
	s, err := NewWithOptions(t.TempDir(), Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func create(t *testing.T, s *Store, c *clock, key string, exp time.Duration) {
	t.Helper()
	err := s.Apply(t.Context(), key, store.Change{Create: true, Set: map[string][]byte{"a": []byte("1")}, Expires: c.now().Add(exp)})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewCreatesAPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "sessions")
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := storetest.NewKey()
	if err := s.Apply(t.Context(), key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, key[:2])} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: got mode %v, want a directory with mode 0700", d, fi.Mode())
		}
	}
	fi, err := os.Stat(filepath.Join(dir, key[:2], key))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("got record file mode %v, want 0600", fi.Mode().Perm())
	}
	// Opening it again is fine.
	if _, err := New(dir); err != nil {
		t.Errorf("got %v opening an existing store, want nil", err)
	}
}

func TestNewRefuses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		o    Options
	}{
		{name: "an empty directory name", dir: ""},
		{name: "a path that is a file", dir: file},
		{name: "a negative record size", dir: t.TempDir(), o: Options{MaxRecordSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewWithOptions(tt.dir, tt.o); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}

func TestASubdirectoryThatIsAFileIsUnavailable(t *testing.T) {
	s, _ := newTestStore(t)
	key := "7f" + storetest.NewKey()[2:]
	if err := os.WriteFile(filepath.Join(s.Dir(), "7f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := s.Apply(t.Context(), key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("got %v, want an error wrapping ErrUnavailable", err)
	}
}

func TestKeysCannotEscapeTheDirectory(t *testing.T) {
	parent := t.TempDir()
	s, err := New(filepath.Join(parent, "store"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	keys := []string{
		"../../../../../../../../../../../../../../../../../../../../x",
		"../escape" + strings.Repeat("0", 55),
		"/tmp/" + strings.Repeat("a", 59),
		"..",
		strings.Repeat("0", 62) + "/.",
		"00/" + strings.Repeat("0", 61),
	}
	for _, k := range keys {
		c := store.Change{Create: true, Set: map[string][]byte{"a": []byte("1")}, Expires: time.Now().Add(time.Hour)}
		if err := s.Apply(ctx, k, c); !errors.Is(err, store.ErrMalformedKey) {
			t.Errorf("Apply(%q): got %v, want ErrMalformedKey", k, err)
		}
		if _, err := s.TryLock(ctx, k, "t", time.Minute); !errors.Is(err, store.ErrMalformedKey) {
			t.Errorf("TryLock(%q): got %v, want ErrMalformedKey", k, err)
		}
		if err := s.Rename(ctx, storetest.NewKey(), k, store.Change{}); !errors.Is(err, store.ErrMalformedKey) {
			t.Errorf("Rename(%q): got %v, want ErrMalformedKey", k, err)
		}
	}
	// Nothing was written anywhere: the store holds only its subdirectories.
	err = filepath.WalkDir(parent, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			t.Errorf("got file %s, want none", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestACorruptFileIsAnErrorNotAPanic(t *testing.T) {
	s, c := newTestStore(t)
	ctx := t.Context()
	key := storetest.NewKey()
	create(t, s, c, key, time.Hour)
	good, err := os.ReadFile(s.recordPath(key))
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x40
	tests := []struct {
		name string
		data []byte
	}{
		{name: "an empty file", data: nil},
		{name: "garbage", data: []byte("not a record at all, not even close")},
		{name: "a truncated file", data: good[:len(good)-5]},
		{name: "a flipped bit", data: flipped},
		{name: "an oversized file", data: make([]byte, s.maxFile+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(s.recordPath(key), tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := s.Load(ctx, key); ok || !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Load: got %v, %v, want false and an error wrapping ErrUnavailable", ok, err)
			}
			if err := s.Apply(ctx, key, store.Change{Set: map[string][]byte{"b": []byte("2")}}); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Apply: got %v, want an error wrapping ErrUnavailable", err)
			}
			if err := s.List(ctx, func(store.Entry) error { return nil }); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("List: got %v, want an error wrapping ErrUnavailable", err)
			}
			// Delete works, so an operator can remove it.
			if err := s.Delete(ctx, key); err != nil {
				t.Errorf("Delete: got %v, want nil", err)
			}
			if _, ok, err := s.Load(ctx, key); ok || err != nil {
				t.Errorf("Load after Delete: got %v, %v, want false, nil", ok, err)
			}
		})
	}
}

func TestReadErrorsWrapErrUnavailable(t *testing.T) {
	s, _ := newTestStore(t)
	key := storetest.NewKey()
	// A directory where the record file should be: reading it fails.
	if err := os.MkdirAll(s.recordPath(key), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(t.Context(), key); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Load: got %v, want an error wrapping ErrUnavailable", err)
	}
	if err := s.Apply(t.Context(), key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Apply: got %v, want an error wrapping ErrUnavailable", err)
	}
}

func TestPruneRemovesExpiredFilesLocksAndStaleTemps(t *testing.T) {
	s, c := newTestStore(t)
	ctx := t.Context()
	var expired, live []string
	for range 5 {
		k := storetest.NewKey()
		create(t, s, c, k, time.Minute)
		expired = append(expired, k)
		k = storetest.NewKey()
		create(t, s, c, k, 3*time.Hour)
		live = append(live, k)
	}
	lockKey := storetest.NewKey()
	if ok, err := s.TryLock(ctx, lockKey, "t", time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	// A temporary file left by a crashed writer, and one being written now.
	for _, i := range []int{7, 8} {
		if err := os.MkdirAll(s.subdirs[i], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	stale := filepath.Join(s.subdirs[7], tempPrefix+"1-00")
	if err := os.WriteFile(stale, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.advance(2 * time.Hour)
	fresh := filepath.Join(s.subdirs[8], tempPrefix+"9"+strings.Repeat("0", 18)+"-00")
	if err := os.WriteFile(fresh, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	n, err := s.Prune(ctx)
	if err != nil || n != len(expired) {
		t.Fatalf("got %d, %v, want %d, nil", n, err, len(expired))
	}
	for _, k := range expired {
		if _, err := os.Stat(s.recordPath(k)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("got the expired file kept (%v), want it removed", err)
		}
	}
	for _, k := range live {
		if _, ok, err := s.Load(ctx, k); !ok || err != nil {
			t.Errorf("got a live record pruned (%v, %v), want it kept", ok, err)
		}
	}
	if _, err := os.Stat(s.lockPath(lockKey)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got the expired lock file kept (%v), want it removed", err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got the stale temporary file kept (%v), want it removed", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("got the fresh temporary file removed (%v), want it kept", err)
	}
}

func TestPruneReadsFilesWhoseTimeHintIsWrong(t *testing.T) {
	s, c := newTestStore(t)
	key := storetest.NewKey()
	create(t, s, c, key, time.Minute)
	// A file whose modification time says "expired" but whose record is
	// live must be kept: the hint only saves reading live files.
	if err := s.Apply(t.Context(), key, store.Change{Expires: c.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	old := c.now().Add(-time.Hour)
	if err := os.Chtimes(s.recordPath(key), old, old); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(t.Context()); n != 0 || err != nil {
		t.Errorf("got %d, %v, want 0, nil", n, err)
	}
	if _, ok, _ := s.Load(t.Context(), key); !ok {
		t.Error("got the live record pruned, want it kept")
	}
}

func TestPruneSkipsFilesWithAFutureTimeHint(t *testing.T) {
	s, c := newTestStore(t)
	key := storetest.NewKey()
	create(t, s, c, key, time.Minute)
	fi, err := os.Stat(s.recordPath(key))
	if err != nil {
		t.Fatal(err)
	}
	if want := c.now().Add(time.Minute); !fi.ModTime().Equal(want) {
		t.Errorf("got modification time %v, want the expiry %v", fi.ModTime(), want)
	}
	// Corrupt the file: Prune does not notice, because it does not read it.
	if err := os.WriteFile(s.recordPath(key), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(s.recordPath(key), fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(t.Context()); n != 0 || err != nil {
		t.Errorf("got %d, %v, want 0, nil", n, err)
	}
	// Once the hint has passed, Prune reads it and reports the corruption.
	c.advance(2 * time.Minute)
	if _, err := s.Prune(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("got %v, want an error wrapping ErrUnavailable", err)
	}
}

func TestNoTemporaryFilesAreLeftBehind(t *testing.T) {
	s, c := newTestStore(t)
	ctx := t.Context()
	key := storetest.NewKey()
	create(t, s, c, key, time.Hour)
	for range 10 {
		if err := s.Apply(ctx, key, store.Change{Incr: map[string]int64{"n": 1}}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := s.TryLock(ctx, key, "t", time.Minute); !ok {
		t.Fatal("got no lock")
	}
	other := storetest.NewKey()
	if err := s.Rename(ctx, key, other, store.Change{}); err != nil {
		t.Fatal(err)
	}
	// A failed write (too large) leaves nothing either.
	big := map[string][]byte{"big": storetest.RandomJSON(store.DefaultMaxRecordSize)}
	if err := s.Apply(ctx, other, store.Change{Set: big}); !errors.Is(err, store.ErrTooLarge) {
		t.Fatal(err)
	}
	err := filepath.WalkDir(s.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			t.Errorf("got temporary file %s left, want none", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMetadataIsKeptByteForByte(t *testing.T) {
	s, c := newTestStore(t)
	key := storetest.NewKey()
	ua := "Mozilla/5.0 \xff\xfe not UTF-8"
	err := s.Apply(t.Context(), key, store.Change{Create: true, Expires: c.now().Add(time.Hour), SetUser: true, UserID: "usér <&> ✓", IP: "::1", UserAgent: ua})
	if err != nil {
		t.Fatal(err)
	}
	rec, ok, err := s.Load(t.Context(), key)
	if !ok || err != nil || rec.UserAgent != ua || rec.UserID != "usér <&> ✓" {
		t.Errorf("got %v, %v, %q, %q, want the user agent and user ID unchanged", ok, err, rec.UserAgent, rec.UserID)
	}
}

func TestACancelledContextStopsWaitingForTheLock(t *testing.T) {
	s, c := newTestStore(t)
	key := storetest.NewKey()
	create(t, s, c, key, time.Hour)
	// Hold the subdirectory's lock as another process would.
	idx := subdirIndex(key)
	d, err := openLock(s.subdirs[idx])
	if err != nil {
		t.Fatal(err)
	}
	defer closeLock(d)
	if ok, err := tryFlock(d); !ok || err != nil {
		t.Fatalf("got %v, %v taking the flock, want it", ok, err)
	}
	if !crossProcess {
		t.Skip("no flock on this platform")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Apply(ctx, key, store.Change{Incr: map[string]int64{"n": 1}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v, want about 50ms", d)
	}
	// Once released, writes go through.
	closeLock(d)
	if err := s.Apply(t.Context(), key, store.Change{Incr: map[string]int64{"n": 1}}); err != nil {
		t.Errorf("got %v after the lock was released, want nil", err)
	}
}

// TestAnEmptiedDirectoryIsMadeAgain is the regression test for a store that
// cached that its subdirectories existed: after an operator emptied the
// directory, every new session failed until the process restarted.
func TestAnEmptiedDirectoryIsMadeAgain(t *testing.T) {
	for _, what := range []string{"subdirectories", "the directory itself"} {
		t.Run(what, func(t *testing.T) {
			s, c := newTestStore(t)
			key := storetest.NewKey()
			create(t, s, c, key, time.Hour)
			entries, err := os.ReadDir(s.Dir())
			if err != nil {
				t.Fatal(err)
			}
			if what == "the directory itself" {
				err = os.RemoveAll(s.Dir())
			} else {
				for _, e := range entries {
					if err == nil {
						err = os.RemoveAll(filepath.Join(s.Dir(), e.Name()))
					}
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := s.Load(t.Context(), key); ok || err != nil {
				t.Fatalf("Load after the wipe: got %v, %v, want nothing and no error", ok, err)
			}
			for range 3 {
				k := storetest.NewKey()
				create(t, s, c, k, time.Hour)
				if _, ok, err := s.Load(t.Context(), k); !ok || err != nil {
					t.Fatalf("Load of a session created after the wipe: got %v, %v", ok, err)
				}
			}
			// Same key prefix as the first record: its subdirectory was made before.
			same := key[:2] + storetest.NewKey()[2:]
			create(t, s, c, same, time.Hour)
		})
	}
}
