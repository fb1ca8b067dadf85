package procs

import (
	"bytes"
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartReadyTerminate(t *testing.T) {
	out := &lockedBuffer{}
	addr := freeAddr(t)
	p := startHelper(t, context.Background(), "helper", "serve", out, addr)
	if err := p.WaitReady(context.Background(), "http://"+addr); err != nil {
		t.Fatal(err)
	}
	if p.PID() <= 0 || p.Name() != "helper" {
		t.Fatalf("PID %d, Name %q", p.PID(), p.Name())
	}
	if err := p.Exited(); !errors.Is(err, ErrRunning) {
		t.Fatalf("Exited while running = %v, want ErrRunning", err)
	}
	if err := p.Terminate(DefaultGrace); err != nil {
		t.Fatalf("Terminate = %v, want a clean exit", err)
	}
	if err := p.Exited(); err != nil {
		t.Fatalf("Exited after clean stop = %v", err)
	}
	// Done means the output is complete, so no polling is needed here.
	for _, want := range []string{"helper | listening on " + addr + "\n", "helper | bye\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if p.LastLine() != "bye" {
		t.Errorf("LastLine = %q", p.LastLine())
	}
}

func TestWaitReadyReportsEarlyExit(t *testing.T) {
	p := startHelper(t, context.Background(), "broken", "fail", nil)
	err := p.WaitReady(context.Background(), "http://"+freeAddr(t))
	want := "broken exited before it was ready (exit status 3): boom: cannot start"
	if err == nil || err.Error() != want {
		t.Fatalf("WaitReady = %v, want %q", err, want)
	}
	if err := p.Wait(); !isExit(err, "exit status 3") {
		t.Fatalf("Wait = %v", err)
	}
}

func TestWaitReadyBoundedByContext(t *testing.T) {
	p := startHelper(t, context.Background(), "helper", "serve", nil, freeAddr(t))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// Nobody answers on this other port.
	start := time.Now()
	err := p.WaitReady(ctx, "http://"+freeAddr(t))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("WaitReady took %s past a 100ms context", d)
	}
}

func TestKillAndRestartOnTheSamePort(t *testing.T) {
	addr := freeAddr(t)
	p := startHelper(t, context.Background(), "helper", "serve", nil, addr)
	if err := p.WaitReady(context.Background(), "http://"+addr); err != nil {
		t.Fatal(err)
	}
	first := p.PID()
	if err := p.Restart(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("Restart of a running process = %v, want ErrRunning", err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := p.Exited(); !isExit(err, "signal: killed") {
		t.Fatalf("Exited after Kill = %v", err)
	}
	if err := p.Signal(syscall.SIGTERM); err == nil {
		t.Fatal("Signal to an exited process succeeded")
	}
	if err := p.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(context.Background(), "http://"+addr); err != nil {
		t.Fatal(err)
	}
	if p.PID() == first {
		t.Fatalf("restarted process has the old PID %d", first)
	}
	if err := p.Terminate(DefaultGrace); err != nil {
		t.Fatal(err)
	}
}

// A Socket holds its port from NewSocket on; the child serves on that very
// socket, the parent keeps no copy (a dead child's port refuses
// connections), and a restart binds the port again.
func TestSocketIsHandedToTheChildAndBoundAgainOnRestart(t *testing.T) {
	sock, err := NewSocket("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	if ln, err := net.Listen("tcp", sock.Addr()); err == nil {
		ln.Close()
		t.Fatalf("%s was free while the socket held it", sock.Addr())
	}
	p, err := Start(context.Background(), Spec{Name: "helper", Args: []string{sock.Addr()},
		Env: []string{helperEnv + "=serve"}, Files: sock.Files})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Terminate(DefaultGrace) }()
	url := "http://" + sock.Addr()
	if err := p.WaitReady(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if c, err := net.Dial("tcp", sock.Addr()); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections with its child dead", sock.Addr())
	}
	if err := p.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(context.Background(), url); err != nil {
		t.Fatal(err)
	}
}

func TestStopAndContinue(t *testing.T) {
	addr := freeAddr(t)
	p := startHelper(t, context.Background(), "helper", "serve", nil, addr)
	if err := p.WaitReady(context.Background(), "http://"+addr); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "process stopped", func() bool { return procState(p.PID()) == "T" })
	if _, err := get("http://"+addr+"/healthz", 200*time.Millisecond); err == nil {
		t.Fatal("a stopped process answered")
	}
	if err := p.Continue(); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(context.Background(), "http://"+addr); err != nil {
		t.Fatal(err)
	}
	// Terminate reaches a frozen process too.
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "process stopped", func() bool { return procState(p.PID()) == "T" })
	if err := p.Terminate(DefaultGrace); err != nil {
		t.Fatalf("Terminate of a stopped process = %v", err)
	}
}

func TestTerminateKillsAfterGrace(t *testing.T) {
	addr := freeAddr(t)
	p := startHelper(t, context.Background(), "stubborn", "ignore-term", nil, addr)
	if err := p.WaitReady(context.Background(), "http://"+addr); err != nil {
		t.Fatal(err)
	}
	err := p.Terminate(200 * time.Millisecond)
	if err == nil || err.Error() != "stubborn did not stop within 200ms and was killed" {
		t.Fatalf("Terminate = %v", err)
	}
	if err := p.Exited(); !isExit(err, "signal: killed") {
		t.Fatalf("Exited = %v", err)
	}
}

func TestContextEndStopsTheChild(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	p := startHelper(t, ctx, "helper", "serve", nil, addr)
	if err := p.WaitReady(context.Background(), "http://"+addr); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-p.Done():
	case <-time.After(DefaultGrace):
		t.Fatal("child still running after its context ended")
	}
	if err := p.Exited(); err != nil {
		t.Fatalf("Exited = %v, want a clean SIGTERM stop", err)
	}
}

func TestGroupStopsLastStartedFirst(t *testing.T) {
	out := &lockedBuffer{}
	var g Group
	for _, name := range []string{"first", "second"} {
		addr := freeAddr(t)
		p, err := g.Start(context.Background(), Spec{Name: name, Args: []string{addr}, Env: []string{helperEnv + "=serve"}, Output: out})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Kill() })
		if err := p.WaitReady(context.Background(), "http://"+addr); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.StopAll(DefaultGrace); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if i, j := strings.Index(s, "second | bye"), strings.Index(s, "first | bye"); i < 0 || j < 0 || i > j {
		t.Fatalf("want second stopped before first:\n%s", s)
	}
}

func TestGroupStopAllReportsBadExits(t *testing.T) {
	var g Group
	p, err := g.Start(context.Background(), Spec{Name: "broken", Env: []string{helperEnv + "=fail"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Wait()
	err = g.StopAll(time.Second)
	if err == nil || err.Error() != "broken: exit status 3" {
		t.Fatalf("StopAll = %v", err)
	}
}

func TestKillAll(t *testing.T) {
	var g Group
	for range 2 {
		addr := freeAddr(t)
		p, err := g.Start(context.Background(), Spec{Name: "stubborn", Args: []string{addr}, Env: []string{helperEnv + "=ignore-term"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitReady(context.Background(), "http://"+addr); err != nil {
			t.Fatal(err)
		}
	}
	g.KillAll()
	for _, p := range g.Processes() {
		if err := p.Exited(); !isExit(err, "signal: killed") {
			t.Fatalf("Exited = %v", err)
		}
	}
}

// The point of Pdeathsig: a parent killed with SIGKILL cannot clean up, yet
// its children must not outlive it (holding ports and databases).
func TestChildrenDieWithTheirParent(t *testing.T) {
	out := &lockedBuffer{}
	addr := freeAddr(t)
	parent := startHelper(t, context.Background(), "parent", "parent", out, addr)
	eventually(t, 10*time.Second, "grandchild ready", func() bool {
		return strings.Contains(out.String(), "parent | child ready") || parent.Exited() != ErrRunning
	})
	m := regexp.MustCompile(`parent \| child pid (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no child pid in output:\n%s", out)
	}
	pid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if gone(pid) {
		t.Fatalf("grandchild %d gone before its parent was killed", pid)
	}
	if err := parent.Kill(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "grandchild gone after its parent was SIGKILLed", func() bool { return gone(pid) })
}

func TestCopyLines(t *testing.T) {
	var out bytes.Buffer
	var last string
	long := strings.Repeat("x", maxLine+10)
	in := "one\n\ntwo\r\n" + long + "\nno newline"
	copyLines(strings.NewReader(in), &out, "p | ", func(s string) { last = s })
	want := "p | one\np | \np | two\r\np | " + long[:maxLine] + "\np | " + long[maxLine:] + "\np | no newline\n"
	if out.String() != want {
		t.Fatalf("copyLines wrote %q...", out.String()[:min(200, out.Len())])
	}
	if last != "no newline" {
		t.Fatalf("last = %q", last)
	}
}
