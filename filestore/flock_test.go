package filestore

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

func TestTheDirectoryLockExcludesOtherHandles(t *testing.T) {
	if !crossProcess {
		t.Skip("no cross-process lock on this platform")
	}
	dir := t.TempDir()
	a, err := openLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLock(a)
	b, err := openLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLock(b)
	if ok, err := tryFlock(a); !ok || err != nil {
		t.Fatalf("got %v, %v taking a free lock, want it taken", ok, err)
	}
	if ok, err := tryFlock(b); ok || err != nil {
		t.Fatalf("got %v, %v taking a held lock through another handle, want false and no error", ok, err)
	}
	closeLock(a)
	if ok, err := tryFlock(b); !ok || err != nil {
		t.Errorf("got %v, %v once the holder closed it, want it taken", ok, err)
	}
}

// TestForeignFilesInTheDirectoriesArePassedBy puts a file named like the
// Windows lock file (".lock") and another stray file in a record
// subdirectory and in the tokens directory: every scan passes them by, and
// Prune leaves them alone.
func TestForeignFilesInTheDirectoriesArePassedBy(t *testing.T) {
	s, c := newTestStore(t)
	key := storetest.NewKey()
	create(t, s, c, key, time.Hour)
	if err := s.CreateToken(t.Context(), store.Token{Selector: "sel", UserID: "u", Hash: []byte("h"), Expires: c.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var foreign []string
	for _, d := range []string{s.subdirs[subdirIndex(key)], filepath.Join(s.dir, TokensDir)} {
		for _, name := range []string{".lock", "notes.txt"} {
			path := filepath.Join(d, name)
			if err := os.WriteFile(path, []byte("not a record"), 0o600); err != nil {
				t.Fatal(err)
			}
			foreign = append(foreign, path)
		}
	}
	c.advance(2 * time.Hour) // the record and the token are expired now
	n := 0
	if err := s.List(t.Context(), func(store.Entry) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("List: got %d records, %v, want 0 and no error", n, err)
	}
	if got, err := s.Prune(t.Context()); got != 1 || err != nil {
		t.Errorf("Prune: got %d, %v, want 1 record removed and no error", got, err)
	}
	if got, err := s.DeleteUserTokens(t.Context(), "u"); got != 0 || err != nil {
		t.Errorf("DeleteUserTokens: got %d, %v, want 0 (the token had expired) and no error", got, err)
	}
	for _, path := range foreign {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v, want it left alone", path, err)
		}
	}
}
