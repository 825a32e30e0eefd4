//go:build !linux

package redistest

import "os/exec"

// setParentDeath does nothing outside Linux: a crashed test binary may leave
// its servers running there.
func setParentDeath(cmd *exec.Cmd) {}
