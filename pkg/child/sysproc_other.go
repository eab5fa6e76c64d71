//go:build unix && !linux

package child

import "syscall"

// sysProcAttr puts the child in its own process group, so that Stop can
// kill whatever it starts. Only Linux has Pdeathsig: elsewhere a parent that
// dies without calling Stop leaves the child running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
