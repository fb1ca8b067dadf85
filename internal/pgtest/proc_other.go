//go:build unix && !linux

package pgtest

import (
	"os/exec"
	"syscall"
)

// sysProcAttr runs the server as runAs (when set), in its own process
// group. Outside Linux there is no parent-death signal: a server whose
// test binary was killed keeps running until stopped by hand.
func sysProcAttr(runAs *runAsUser) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if runAs != nil {
		attr.Credential = &syscall.Credential{Uid: runAs.uid, Gid: runAs.gid}
	}
	return attr
}

func startProc(cmd *exec.Cmd) (*serverProc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{pid: cmd.Process.Pid, signal: cmd.Process.Signal, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}
