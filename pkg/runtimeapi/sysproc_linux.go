package runtimeapi

import "syscall"

// sysProcAttr puts the bootstrap in its own process group, so Stop can kill
// whatever it starts, and has the kernel SIGKILL it if the caller dies
// without calling Stop (a panic, a test -timeout, a kill -9).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
