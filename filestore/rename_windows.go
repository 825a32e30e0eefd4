//go:build windows

package filestore

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// Files are opened without FILE_SHARE_DELETE on Windows (by os.Open), so
// replacing or removing a record file fails while another goroutine or
// process is reading it (Load takes no lock). Reads are short: renameFile
// and removeFile retry such failures for up to shareRetry, as the go
// command's internal/robustio does.
const shareRetry = 500 * time.Millisecond

// renameFile is os.Rename, retried while the target is open elsewhere.
func renameFile(from, to string) error {
	return retryShared(func() error { return os.Rename(from, to) })
}

// removeFile is os.Remove, retried while the file is open elsewhere.
func removeFile(path string) error {
	return retryShared(func() error { return os.Remove(path) })
}

func retryShared(op func() error) error {
	deadline := time.Now().Add(shareRetry)
	for wait := 100 * time.Microsecond; ; wait = min(2*wait, 20*time.Millisecond) {
		err := op()
		if err == nil || !sharingError(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

// sharingError reports whether err is what Windows returns for a file that
// another handle holds open without FILE_SHARE_DELETE.
func sharingError(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_ACCESS_DENIED)
}
