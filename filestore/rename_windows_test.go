//go:build windows

package filestore

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestARenameWaitsForAReaderToClose is the reason for renameFile: Windows
// refuses to replace a file another handle holds open (os.Open does not
// share deletion), and Loads take no lock.
func TestARenameWaitsForAReaderToClose(t *testing.T) {
	dir := t.TempDir()
	target, tmp := filepath.Join(dir, "record"), filepath.Join(dir, "tmp")
	for _, p := range []string{target, tmp} {
		if err := os.WriteFile(p, []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := os.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, target); err == nil || !sharingError(err) {
		t.Fatalf("plain os.Rename over an open file: got %v, want a sharing error (else renameFile is not needed)", err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		r.Close()
	}()
	if err := renameFile(tmp, target); err != nil {
		t.Errorf("got %v, want the rename done once the reader closed", err)
	}
	if b, _ := os.ReadFile(target); string(b) != tmp {
		t.Errorf("got %q in the target, want the temporary file's content", b)
	}
}
