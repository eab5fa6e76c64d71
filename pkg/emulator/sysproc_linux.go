package emulator

import "syscall"

// sysProcAttr puts the child in its own process group, so Stop can kill
// everything it starts, and has the kernel SIGKILL it if the test binary
// dies without calling Stop (a panic, a -timeout, a kill -9).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
