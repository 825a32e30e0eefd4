//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filestore

import (
	"errors"
	"os"
	"syscall"
)

// crossProcess reports whether directory locks exclude other processes.
const crossProcess = true

// syncsDirs reports whether a directory can be synced through its open
// handle, so that renames and removals in it survive a crash.
const syncsDirs = true

// openLock opens what the cross-process lock of directory dir is taken on:
// on these systems the directory itself, whose handle also syncs it.
func openLock(dir string) (*os.File, error) { return os.Open(dir) }

// tryFlock tries to take an exclusive flock(2) on f without blocking. The
// lock belongs to f's open file description, so it also excludes other
// descriptions of the same directory in this process, and it is released when
// f is closed or the process dies.
func tryFlock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		default:
			return false, err
		}
	}
}

// closeLock releases the lock on f, if held, and closes f: closing is
// enough for flock.
func closeLock(f *os.File) { _ = f.Close() }
