package redistest

import (
	"os/exec"
	"syscall"
)

// setParentDeath has the kernel kill the server when the test binary dies, so
// a crashed or timed-out test leaves no redis-server behind.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
