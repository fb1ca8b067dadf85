//go:build unix && !linux

package procs

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the child in its own process group. Outside Linux there
// is no parent-death signal: children of a SIGKILLed parent keep running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func startCmd(cmd *exec.Cmd) (release func(), err error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() {}, nil
}
