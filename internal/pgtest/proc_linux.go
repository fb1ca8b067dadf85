package pgtest

import (
	"os/exec"
	"runtime"
	"syscall"
)

// sysProcAttr runs the server as runAs (when set), in its own process group
// (a Ctrl-C on the terminal is for go test, which then stops the server
// itself), and has the kernel shut it down at once (SIGQUIT: immediate
// shutdown) should the test binary die without stopping it.
func sysProcAttr(runAs *runAsUser) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if runAs != nil {
		attr.Credential = &syscall.Credential{Uid: runAs.uid, Gid: runAs.gid}
	}
	return attr
}

// startProc starts cmd and reaps it when it exits. Linux sends the
// parent-death signal when the *thread* that forked the child ends, and Go
// ends a thread when a goroutine locked to it returns without unlocking:
// so the child is forked, and waited for, by one goroutine that keeps its
// thread locked (nothing else can run on it, let alone end it) for as long
// as the child lives.
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
		p.pid = cmd.Process.Pid
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
