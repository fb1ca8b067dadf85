//go:build unix && !linux

package etcdtest

import (
	"os/exec"
	"syscall"
)

// sysProcAttr runs the server in its own process group. Outside Linux there
// is no parent-death signal: a server whose test binary was killed keeps
// running until stopped by hand.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func startProc(cmd *exec.Cmd) (*serverProc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{signal: cmd.Process.Signal, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}
