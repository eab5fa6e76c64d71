//go:build unix && !linux

package runtimeapi

import "syscall"

// sysProcAttr puts the bootstrap in its own process group, so Stop can kill
// whatever it starts. Only Linux has Pdeathsig: elsewhere a caller that dies
// without calling Stop leaves the bootstrap running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
