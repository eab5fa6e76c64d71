//go:build unix && !linux

package emulator

import "syscall"

// sysProcAttr puts the child in its own process group, so Stop can kill
// everything it starts. Only Linux has Pdeathsig: elsewhere a test binary
// that dies without calling Stop leaves the emulators running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
