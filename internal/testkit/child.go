package testkit

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// childExpectBound bounds how long Expect reads a child's lines.
const childExpectBound = 30 * time.Second

// Child is the running test binary run again as a child process, for
// tests that need several OS processes (SQLite's file locks are a
// process's): the child runs the same test, which tells it is the child by
// the environment variable StartChild set, and talks to its parent through
// lines on stdout and its stdin.
type Child struct {
	cmd *exec.Cmd
	// Stdin is the child's standard input; closing it is a way to tell
	// the child to stop.
	Stdin  io.WriteCloser
	lines  chan string
	stderr LogSink
	waited atomic.Pointer[error]
}

// StartChild runs the current test again in a child process with env=value
// added to its environment. The child is killed when the test ends, if it
// has not exited by then.
func StartChild(t *testing.T, env, value string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+value)
	c := &Child{cmd: cmd, lines: make(chan string, 64)}
	cmd.Stderr = &c.stderr
	var err error
	if c.Stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // a no-op once it exited
		_ = c.Wait()
	})
	return c
}

// Expect returns the child's next line that starts with prefix, failing
// the test if the child exits first or says nothing of the kind within
// 30s.
func (c *Child) Expect(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(childExpectBound)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before saying %q: %v\n%s", prefix, c.Wait(), c.stderr.String())
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("child did not say %q within %s\n%s", prefix, childExpectBound, c.stderr.String())
		}
	}
}

// Wait waits for the child to exit, once; later calls return the same.
func (c *Child) Wait() error {
	if err := c.waited.Load(); err != nil {
		return *err
	}
	for range c.lines { // the reader finishes before Wait closes the pipe
	}
	err := c.cmd.Wait()
	c.waited.Store(&err)
	return err
}

// Stderr is what the child wrote to its standard error so far.
func (c *Child) Stderr() string { return c.stderr.String() }
