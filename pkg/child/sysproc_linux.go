package child

import "syscall"

// sysProcAttr puts the child in its own process group, so that Stop can
// kill whatever it starts, and has the kernel SIGKILL it when the thread
// that forked it exits, which Start keeps from happening before the child
// is reaped unless this whole process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
