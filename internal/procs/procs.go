// Package procs supervises child processes: cmd/shop runs the four services
// with it, and the chaos runner kills, freezes and restarts them with it.
//
// A child is started from a Spec (by default this process's own executable,
// with a subcommand as its first argument), so no separate build is needed.
// Every child
//   - dies with its parent, even when the parent is SIGKILLed: on Linux it
//     gets SIGKILL from the kernel when the parent goes (Pdeathsig; see
//     launch_linux.go for the thread caveat and how it is handled);
//   - runs in its own process group, so a Ctrl-C on the terminal reaches only
//     the parent, which then stops its children in order (Group.StopAll);
//   - has its stdout and stderr merged, line by line, into Spec.Output, each
//     line prefixed with the child's name ("usersvc | ...").
//
// A *Process is a handle that outlives one run of the program: Restart starts
// the same Spec again (same arguments, so the same port and database), and
// PID, Done, Exited and the signal methods always refer to the current run.
package procs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// DefaultGrace is how long Terminate and StopAll wait after SIGTERM before
// SIGKILL: a service drains in-flight requests for up to 10s
// (transport.ShutdownGrace), then closes its database and exits.
const DefaultGrace = 12 * time.Second

// ErrRunning is what Exited says about a run that has not ended, and what
// Restart says about a process that is still running.
var ErrRunning = errors.New("still running")

// Spec describes a child process.
type Spec struct {
	// Name identifies the child in output prefixes and errors: "usersvc".
	Name string
	// Path is the program to run; "" is this process's own executable.
	Path string
	// Args are the arguments after the program name, e.g.
	// {"usersvc", "-http-addr", ":8081"}.
	Args []string
	// Env holds KEY=VALUE settings added to this process's environment
	// (a later entry wins over an earlier one and over the inherited value).
	Env []string
	// Dir is the working directory; "" is this process's.
	Dir string
	// Output receives every line the child writes to stdout or stderr as
	// "Name | line\n", one Write per line. Several processes may share one
	// Output: it must then be safe for concurrent use (see SyncWriter).
	// nil discards the output.
	Output io.Writer
	// Files, when set, is called before every start (and restart) for the
	// files the child inherits as fd 3, 4, ...; the child is told how many
	// with LISTEN_FDS (and an empty LISTEN_PID), as systemd's socket
	// activation does: a Socket's Files is one. They are closed in this
	// process once the child has started, or has failed to: the child
	// holds its own copies.
	Files func() ([]*os.File, error)
}

// Process is a started child and the handle to restart it.
type Process struct {
	spec Spec

	mu  sync.Mutex
	cur *run
}

// run is one execution of a Process's spec.
type run struct {
	proc *os.Process
	done chan struct{} // closed once the child is reaped and its output drained
	err  error         // cmd.Wait's result, set before done is closed

	mu   sync.Mutex
	last string // last non-empty output line
}

// Start starts spec's program. The child lives until it exits, is signalled
// through the returned handle, or ctx ends: then it is stopped as by
// Terminate(DefaultGrace). Pass a context that outlives the child when the
// caller wants to stop it itself, in its own order (as cmd/shop does).
func Start(ctx context.Context, spec Spec) (*Process, error) {
	if spec.Name == "" {
		return nil, errors.New("procs: Spec.Name is empty")
	}
	r, err := startRun(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &Process{spec: spec, cur: r}, nil
}

func startRun(ctx context.Context, spec Spec) (*run, error) {
	path := spec.Path
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("start %s: find own executable: %w", spec.Name, err)
		}
		path = exe
	}
	// One pipe for both streams keeps the child's stdout and stderr lines
	// in the order it wrote them.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	var files []*os.File
	if spec.Files != nil {
		if files, err = spec.Files(); err != nil {
			_, _ = pr.Close(), pw.Close()
			return nil, fmt.Errorf("start %s: %w", spec.Name, err)
		}
	}
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	cmd := exec.Command(path, spec.Args...)
	cmd.ExtraFiles = files
	cmd.Env = append(os.Environ(), spec.Env...)
	if spec.Files != nil {
		cmd.Env = append(cmd.Env, "LISTEN_FDS="+strconv.Itoa(len(files)), "LISTEN_PID=")
	}
	cmd.Dir = spec.Dir
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = sysProcAttr()

	release, err := startCmd(cmd)
	_ = pw.Close() // the child holds its own copy; ours would hide EOF
	if err != nil {
		_ = pr.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}

	r := &run{proc: cmd.Process, done: make(chan struct{})}
	out := spec.Output
	if out == nil {
		out = io.Discard
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		defer pr.Close()
		copyLines(pr, out, spec.Name+" | ", r.setLast)
	}()
	stopWatching := context.AfterFunc(ctx, func() { _ = r.terminate(spec.Name, DefaultGrace) })
	go func() {
		err := cmd.Wait()
		release()
		// A grandchild that inherited the pipe could keep it open after the
		// child is gone; do not wait for it for long.
		t := time.NewTimer(2 * time.Second)
		select {
		case <-drained:
		case <-t.C:
			_ = pr.Close()
			<-drained
		}
		t.Stop()
		r.err = err
		close(r.done)
		stopWatching()
	}()
	return r, nil
}

func (r *run) setLast(line string) {
	r.mu.Lock()
	r.last = line
	r.mu.Unlock()
}

func (r *run) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// terminate sends SIGTERM, waits up to grace, then SIGKILLs. It returns
// how the run ended, naming the process, nil for a clean exit.
func (r *run) terminate(name string, grace time.Duration) error {
	if !r.exited() {
		_ = r.proc.Signal(syscall.SIGTERM)
		// A stopped (SIGSTOP) child must run to act on SIGTERM.
		_ = r.proc.Signal(syscall.SIGCONT)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-r.done:
		case <-t.C:
			_ = r.proc.Kill()
			<-r.done
			return fmt.Errorf("%s did not stop within %s and was killed", name, grace)
		}
	}
	if r.err != nil {
		return fmt.Errorf("%s: %w", name, r.err)
	}
	return nil
}

func (p *Process) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// Name is the spec's name.
func (p *Process) Name() string { return p.spec.Name }

// PID is the process ID of the current run (of the last one, once it has
// exited).
func (p *Process) PID() int { return p.current().proc.Pid }

// Done is closed when the current run has exited and all its output has
// been written. After Restart, call it again for the new run.
func (p *Process) Done() <-chan struct{} { return p.current().done }

// Exited tells how the current run ended: ErrRunning while it runs, nil
// after exit status 0, else cmd.Wait's error (an *exec.ExitError, whose
// text is e.g. "exit status 1" or "signal: killed").
func (p *Process) Exited() error {
	r := p.current()
	if !r.exited() {
		return ErrRunning
	}
	return r.err
}

// Wait waits for the current run to exit and returns Exited's answer.
func (p *Process) Wait() error {
	r := p.current()
	<-r.done
	return r.err
}

// LastLine is the last non-empty line the current run wrote, without its
// prefix: usually the reason a service refused to start.
func (p *Process) LastLine() string {
	r := p.current()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Signal sends sig to the current run. It returns os.ErrProcessDone once the
// run has exited (never signalling a reused PID).
func (p *Process) Signal(sig os.Signal) error { return p.current().proc.Signal(sig) }

// Kill sends SIGKILL and waits until the child is reaped, so that its port
// is free when Kill returns. Killing an exited process does nothing.
func (p *Process) Kill() error {
	r := p.current()
	if err := r.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", p.spec.Name, err)
	}
	<-r.done
	return nil
}

// Stop freezes the child with SIGSTOP: it keeps its sockets, but answers
// nothing until Continue (a hung process, for the chaos runner).
func (p *Process) Stop() error { return p.Signal(syscall.SIGSTOP) }

// Continue resumes a child frozen by Stop (SIGCONT).
func (p *Process) Continue() error { return p.Signal(syscall.SIGCONT) }

// Terminate stops the child gracefully: SIGTERM (and SIGCONT, in case it is
// frozen), then SIGKILL if it has not exited within grace. It returns nil
// when the run exited cleanly (status 0), and otherwise an error that names
// the process and says how it ended. On a run that had already exited it
// only reports how.
func (p *Process) Terminate(grace time.Duration) error {
	return p.current().terminate(p.spec.Name, grace)
}

// Restart starts the spec again (same program, arguments and environment,
// so the same port and database) with ctx as the new run's lifetime. The
// current run must have exited: stop it first with Kill or Terminate.
func (p *Process) Restart(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cur.exited() {
		return fmt.Errorf("restart %s (pid %d): %w", p.spec.Name, p.cur.proc.Pid, ErrRunning)
	}
	r, err := startRun(ctx, p.spec)
	if err != nil {
		return err
	}
	p.cur = r
	return nil
}
