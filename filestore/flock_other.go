//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package filestore

import "os"

// The fallback for the platforms with neither flock(2) nor LockFileEx that Go
// supports: AIX, Solaris and illumos, Plan 9, js/wasm and wasip1. (Their
// fcntl record locks belong to the process, not to the open file, and are
// all dropped when the process closes any descriptor of the file, so they
// cannot stand in for flock.) On them a Store's locks exclude only the
// goroutines of the one Store: use a directory from one process and one
// Store, as the package documentation says.

// crossProcess reports whether directory locks exclude other processes. On
// this platform they do not: only the store's in-process locks apply.
const crossProcess = false

// syncsDirs reports whether a directory can be synced through its open
// handle, so that renames and removals in it survive a crash.
const syncsDirs = true

// openLock opens what the directory lock of dir would be taken on: the
// directory itself, whose handle also syncs it.
func openLock(dir string) (*os.File, error) { return os.Open(dir) }

// tryFlock always succeeds: this platform has no cross-process file lock.
func tryFlock(*os.File) (bool, error) { return true, nil }

// closeLock closes f.
func closeLock(f *os.File) { _ = f.Close() }
