package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startTimeout bounds a start (or restart) until the server is healthy.
const startTimeout = 30 * time.Second

// stopGrace is how long Stop waits for a clean exit before it kills.
const stopGrace = 10 * time.Second

// Server is a throwaway single-member etcd of one test.
type Server struct {
	bin        string // the etcd program
	dir        string // temporary directory: data/ and etcd.log
	logPath    string
	clientPort int
	peerPort   int

	mu        sync.Mutex  // guards proc
	proc      *serverProc // the running etcd, nil while stopped
	destroyed sync.Once
}

// Endpoint is the server's client address, "127.0.0.1:port", as etcd
// clients take it; it stays the same across Stop and Start.
func (s *Server) Endpoint() string { return "127.0.0.1:" + strconv.Itoa(s.clientPort) }

// Stop shuts the server down (SIGTERM; SIGKILL if it is not gone within
// 10s) and waits until it has exited: its clients then lose their
// connections and cannot connect again until Start. Stopping a stopped
// server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.stop(syscall.SIGTERM, stopGrace)
}

// Start starts the server again on the same ports and data (keys and
// leases kept) and waits until it is healthy. Starting a running server
// does nothing.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	p, err := s.launch()
	if err != nil {
		return err
	}
	s.proc = p
	return nil
}

// Log returns what the server has logged so far (warnings and errors).
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return strings.TrimSpace(string(b))
}

// destroy stops the server and deletes its directory.
func (s *Server) destroy() error {
	var err error
	s.destroyed.Do(func() {
		err = s.Stop()
		if rmErr := os.RemoveAll(s.dir); err == nil {
			err = rmErr
		}
	})
	return err
}

// startServer starts a new server on free ports, in a new directory.
func startServer(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "kitshop-etcdtest-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	s := &Server{bin: bin, dir: dir, logPath: filepath.Join(dir, "etcd.log")}
	// Ports picked free can be taken before etcd binds them: try anew, on
	// fresh data (a member's data records its peer address).
	for attempt := 0; ; attempt++ {
		if s.clientPort, err = freePort(); err == nil {
			s.peerPort, err = freePort()
		}
		if err == nil {
			err = s.Start()
		}
		if err == nil || attempt == 2 || !strings.Contains(err.Error(), "address already in use") {
			break
		}
		_ = os.RemoveAll(filepath.Join(dir, "data"))
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// launch starts etcd and waits until it is healthy.
func (s *Server) launch() (*serverProc, error) {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("etcd log: %w", err)
	}
	defer logFile.Close()
	offset, _ := logFile.Seek(0, io.SeekEnd)
	clientURL := "http://" + s.Endpoint()
	peerURL := "http://127.0.0.1:" + strconv.Itoa(s.peerPort)
	cmd := exec.Command(s.bin,
		"--name", "etcdtest",
		"--data-dir", filepath.Join(s.dir, "data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "etcdtest="+peerURL, "--initial-cluster-state", "new",
		// One member on loopback: short raft ticks make the first election,
		// and that after a restart, quick.
		"--heartbeat-interval", "10", "--election-timeout", "100",
		"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = s.dir
	cmd.SysProcAttr = sysProcAttr()
	// The test's own ETCD* settings (etcd reads its flags from ETCD_*
	// variables too) must not reach this server.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	p, err := startProc(cmd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", s.bin, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		err := s.healthy(ctx)
		if err == nil {
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("etcd exited at start (%v); its log:\n%s", p.err, s.logSince(offset))
		case <-ctx.Done():
			_ = p.stop(syscall.SIGKILL, stopGrace)
			return nil, fmt.Errorf("etcd was not healthy within %s: %v; its log:\n%s", startTimeout, err, s.logSince(offset))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// healthy asks etcd's /health, which is true once the member has a leader
// and serves reads. It uses a connection of its own, closed after, so that
// no idle connection outlives the call.
func (s *Server) healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Endpoint()+"/health", nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("/health: %s %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func (s *Server) logSince(offset int64) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	return strings.TrimSpace(string(b[offset:]))
}

// freePort returns a TCP port on 127.0.0.1 that is free now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// serverProc is a running etcd.
type serverProc struct {
	signal func(os.Signal) error
	exited chan struct{} // closed once reaped
	err    error         // the exit status, once exited is closed
}

// stop sends sig and waits for the exit; after grace it sends SIGKILL.
func (p *serverProc) stop(sig os.Signal, grace time.Duration) error {
	for _, next := range []os.Signal{sig, syscall.SIGKILL} {
		if err := p.signal(next); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("signal etcd: %w", err)
		}
		select {
		case <-p.exited:
			return nil
		case <-time.After(grace):
		}
	}
	<-p.exited
	return nil
}
