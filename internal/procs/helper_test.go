package procs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kitshop/kitshop/internal/testkit"
)

// helperEnv switches the test binary into a helper child process; its value
// is the helper's mode. The children of these tests are the test binary
// itself, re-executed, as cmd/shop's children are the shop binary.
const helperEnv = "PROCS_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// runHelper is the child's main. Modes:
//   - serve ADDR: serve GET /healthz on ADDR (or on the socket passed, see
//     Listen); exit 0 on SIGTERM.
//   - ignore-term ADDR: the same, but ignore SIGTERM.
//   - fail: write a reason to stderr and exit 3.
//   - parent ADDR: start a "serve ADDR" child of its own, print its PID, and
//     wait to be killed.
func runHelper(mode string, args []string) int {
	switch mode {
	case "fail":
		fmt.Fprintln(os.Stderr, "boom: cannot start")
		return 3
	case "ignore-term":
		// Notify would take SIGTERM back from Ignore: stop on SIGINT only.
		signal.Ignore(syscall.SIGTERM)
		return helperServe(args[0], syscall.SIGINT)
	case "serve":
		return helperServe(args[0], syscall.SIGTERM)
	case "parent":
		child, err := Start(context.Background(), Spec{
			Name: "grandchild", Args: args, Env: []string{helperEnv + "=serve"}, Output: os.Stdout,
		})
		if err != nil {
			fmt.Println("start:", err)
			return 1
		}
		fmt.Println("child pid", child.PID())
		if err := child.WaitReady(context.Background(), "http://"+args[0]); err != nil {
			fmt.Println("ready:", err)
			return 1
		}
		fmt.Println("child ready")
		time.Sleep(time.Hour) // until the test kills us
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

func helperServe(addr string, stopOn os.Signal) int {
	ctx, stop := signal.NotifyContext(context.Background(), stopOn)
	defer stop()
	ln, err := Listen(os.Getenv, addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte(`{"status":"ok"}`))
			return
		}
		http.NotFound(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("listening on", addr)
	<-ctx.Done()
	_ = srv.Shutdown(context.Background())
	fmt.Println("bye")
	return 0
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string { return testkit.DeadAddr(t) }

// lockedBuffer collects children's output; safe to read while they write.
type lockedBuffer = testkit.LogSink

// eventually polls cond until it holds, failing after bound.
func eventually(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, bound, what, cond)
}

// procState is the state letter of /proc/PID/stat ("R", "S", "T", "Z"),
// or "" when there is no such process.
func procState(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// pid (comm) state ...; comm may hold spaces, so cut after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// gone tells whether pid has exited (a zombie nobody reaped counts).
func gone(pid int) bool {
	st := procState(pid)
	return st == "" || st == "Z" || st == "X"
}

// get makes one bounded GET and returns its status.
func get(url string, timeout time.Duration) (int, error) {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func startHelper(t *testing.T, ctx context.Context, name, mode string, out *lockedBuffer, args ...string) *Process {
	t.Helper()
	spec := Spec{Name: name, Args: args, Env: []string{helperEnv + "=" + mode}}
	if out != nil {
		spec.Output = out
	}
	p, err := Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill() })
	return p
}

func isExit(err error, text string) bool {
	return err != nil && !errors.Is(err, ErrRunning) && strings.Contains(err.Error(), text)
}
