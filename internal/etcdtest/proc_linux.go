package etcdtest

import (
	"os/exec"
	"runtime"
	"syscall"
)

// sysProcAttr runs the server in its own process group (a Ctrl-C on the
// terminal is for go test, whose cleanups then stop the server), and has
// the kernel kill it should the test binary die without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// startProc starts cmd and reaps it when it exits. Linux sends the
// parent-death signal when the *thread* that forked the child ends, and Go
// ends a thread when a goroutine locked to it returns without unlocking:
// so one goroutine forks the child and waits for it with its thread locked
// (nothing else runs on it, let alone ends it) for as long as the child
// lives.
func startProc(cmd *exec.Cmd) (*serverProc, error) {
	started := make(chan error, 1)
	p := &serverProc{exited: make(chan struct{})}
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.signal = cmd.Process.Signal
		started <- nil
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}
