//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package filestore

import "os"

// crossProcess reports whether directory locks exclude other processes. On
// this platform they do not: only the store's in-process locks apply.
const crossProcess = false

// tryFlock always succeeds: this platform has no flock(2).
func tryFlock(*os.File) (bool, error) { return true, nil }
