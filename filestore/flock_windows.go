//go:build windows

package filestore

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// crossProcess reports whether directory locks exclude other processes.
const crossProcess = true

// syncsDirs reports whether a directory can be synced through its open
// handle. Windows cannot: FlushFileBuffers refuses directory handles
// ("Access is denied"), so renames and removals are left to the file
// system's own metadata journal (NTFS logs them).
const syncsDirs = false

// lockFileName is the file in each locked directory that carries its
// cross-process lock: LockFileEx locks byte ranges of files, not
// directories. Its name is no record's, token's, lock's or temporary file's,
// so listing, pruning and scanning pass it by.
const lockFileName = ".lock"

// openLock opens (creating it, empty) the file that carries the
// cross-process lock of directory dir.
func openLock(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
}

// tryFlock tries to take an exclusive LockFileEx lock on the first byte of f
// without blocking. The lock belongs to f's handle, so it also excludes other
// handles of the same file in this process, and Windows releases it when the
// process dies.
func tryFlock(f *os.File) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var lockErr error
	if err := rc.Control(func(fd uintptr) {
		ol := new(windows.Overlapped)
		lockErr = windows.LockFileEx(windows.Handle(fd),
			windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	}); err != nil {
		return false, err
	}
	switch {
	case lockErr == nil:
		return true, nil
	case errors.Is(lockErr, windows.ERROR_LOCK_VIOLATION), errors.Is(lockErr, windows.ERROR_IO_PENDING):
		return false, nil
	default:
		return false, lockErr
	}
}

// closeLock releases the lock on f, if held, and closes f. Windows would
// release it at close too, but only "when the system has time", so it is
// unlocked explicitly first, as LockFileEx's documentation asks.
func closeLock(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			// Fails harmlessly (ERROR_NOT_LOCKED) when the lock was not taken.
			_ = windows.UnlockFileEx(windows.Handle(fd), 0, 1, 0, new(windows.Overlapped))
		})
	}
	_ = f.Close()
}
