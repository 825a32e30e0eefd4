//go:build !windows

package filestore

import "os"

// renameFile is os.Rename: on POSIX systems a rename replaces a file that
// others have open.
func renameFile(from, to string) error { return os.Rename(from, to) }

// removeFile is os.Remove.
func removeFile(path string) error { return os.Remove(path) }
