//go:build unix

package emulator

import (
	"os"
	"syscall"
)

var (
	sigTerm      os.Signal = syscall.SIGTERM
	sigKill      os.Signal = syscall.SIGKILL
	errNoProcess           = syscall.ESRCH
)

// killGroup sends sig to the process group led by pid.
func killGroup(pid int, sig os.Signal) error {
	return syscall.Kill(-pid, sig.(syscall.Signal))
}
