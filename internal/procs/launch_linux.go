package procs

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// sysProcAttr puts the child in its own process group (a Ctrl-C on the
// terminal reaches only the parent, which stops the children in order) and
// asks the kernel to SIGKILL it when its parent goes, even if the parent
// itself is SIGKILLed and never gets to clean up.
//
// The thread caveat: Linux sends the parent-death signal when the *thread*
// that forked the child exits, not the process. The Go runtime ends an OS
// thread when a goroutine locked to it (runtime.LockOSThread) returns
// without unlocking, so a child forked from a thread that some goroutine
// later locks and abandons would be killed for no reason. startCmd avoids
// that: every child is forked from one goroutine that keeps its thread
// locked (so nothing else can run on it, let alone end it) for as long as
// any child it forked is alive. When the last such child has been reaped,
// the goroutine unlocks and returns, and its thread goes back to the pool.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// launcher is the goroutine, locked to its OS thread, that forks children.
// users counts the children it forked that have not been reaped, plus starts
// in progress; the goroutine lives while users > 0.
var launcher struct {
	mu    sync.Mutex
	users int
	reqs  chan func()
}

func acquireLauncher() chan<- func() {
	launcher.mu.Lock()
	defer launcher.mu.Unlock()
	if launcher.users == 0 {
		launcher.reqs = make(chan func())
		go launchLoop(launcher.reqs)
	}
	launcher.users++
	return launcher.reqs
}

func releaseLauncher() {
	launcher.mu.Lock()
	defer launcher.mu.Unlock()
	launcher.users--
	if launcher.users == 0 {
		close(launcher.reqs)
		launcher.reqs = nil
	}
}

func launchLoop(reqs <-chan func()) {
	runtime.LockOSThread()
	// Unlocking before returning keeps the thread alive (returning while
	// locked would end it); no child of it is alive by then anyway.
	defer runtime.UnlockOSThread()
	for f := range reqs {
		f()
	}
}

// startCmd starts cmd from the launcher thread. release must be called once
// the child has been reaped.
func startCmd(cmd *exec.Cmd) (release func(), err error) {
	reqs := acquireLauncher()
	errc := make(chan error, 1)
	reqs <- func() { errc <- cmd.Start() }
	if err := <-errc; err != nil {
		releaseLauncher()
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(releaseLauncher) }, nil
}
