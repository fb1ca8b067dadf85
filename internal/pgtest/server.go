package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// startTimeout bounds a server start (or restart) until it accepts
// connections.
const startTimeout = 30 * time.Second

// Server is a throwaway PostgreSQL server of one test binary.
type Server struct {
	bin   string     // directory of initdb and postgres
	runAs *runAsUser // the OS user the server runs as; nil: this process's
	dir   string     // temporary directory: data/, the socket, the log
	log   string     // path of the server log
	opts  []string   // postgres command-line settings
	port  int

	mu      sync.Mutex  // guards proc
	proc    *serverProc // the running postmaster, nil while stopped
	stopped sync.Once   // destroy runs once
}

// runAsUser is the unprivileged OS user a root test process runs the server as.
type runAsUser struct{ uid, gid uint32 }

// URL returns the URL of database db on the server, as its superuser.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, url.PathEscape(db))
}

// Port is the server's TCP port on 127.0.0.1; it stays the same across
// restarts.
func (s *Server) Port() int { return s.port }

// Stop shuts the server down the way `pg_ctl stop -m fast` does (SIGINT:
// sessions are terminated, open transactions rolled back, then a clean
// checkpoint) and waits until it has exited. Connections then fail at once
// (connection refused) until Start.
func (s *Server) Stop() error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.stop(syscall.SIGINT, 15*time.Second)
}

// Start starts the server again on the same port and data, and waits until
// it accepts connections. It does nothing if the server is running.
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

// Restart is `pg_ctl restart -m fast`: Stop, then Start.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// destroy stops the server and deletes its directory.
func (s *Server) destroy() error {
	var err error
	s.stopped.Do(func() {
		err = s.Stop()
		if rmErr := os.RemoveAll(s.dir); err == nil {
			err = rmErr
		}
	})
	return err
}

// startServer makes a new cluster in a temporary directory and starts it.
func startServer(bin string) (*Server, error) {
	if _, err := output(filepath.Join(bin, "postgres"), "--version"); err != nil {
		return nil, fmt.Errorf("%s/postgres --version: %w", bin, err)
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		// The server refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root, and there is no \"postgres\" OS user to run the server as", errUnavailable)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		s.runAs = &runAsUser{uid: uint32(uid), gid: uint32(gid)}
	}
	var err error
	if s.dir, err = os.MkdirTemp("", "kitshop-pgtest-"); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(s.dir)
		}
	}()
	if s.runAs != nil {
		if err := os.Chown(s.dir, int(s.runAs.uid), int(s.runAs.gid)); err != nil {
			return nil, err
		}
	}
	if err := s.makeCluster(filepath.Join(s.dir, "data")); err != nil {
		return nil, err
	}
	s.log = filepath.Join(s.dir, "postgres.log")
	s.opts = []string{
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + s.dir,
		// Throwaway data: durability buys nothing and costs start-up and
		// every commit.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB",
		"-c", "max_connections=300",
		"-c", "deadlock_timeout=100ms", // deadlocks are found (and retried) sooner
		"-c", "log_min_messages=warning",
		"-c", "log_min_error_statement=panic",
	}
	// A port picked free can be taken before the server binds it: try anew.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			return nil, err
		}
		if err = s.Start(); err == nil || attempt == 2 || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// launch starts the postmaster and waits until it accepts connections.
func (s *Server) launch() (*serverProc, error) {
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	offset, _ := logFile.Seek(0, 2)
	args := append([]string{"-D", filepath.Join(s.dir, "data"), "-p", strconv.Itoa(s.port)}, s.opts...)
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr(s.runAs)
	cmd.Dir = s.dir
	p, err := startProc(cmd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		conn, err := pgconn.Connect(ctx, s.URL("postgres"))
		if err == nil {
			_ = conn.Close(ctx)
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("postgres exited at start (%v); its log:\n%s", p.err, s.logSince(offset))
		case <-ctx.Done():
			_ = p.stop(syscall.SIGQUIT, 5*time.Second)
			return nil, fmt.Errorf("postgres did not accept connections within %s: %v; its log:\n%s", startTimeout, err, s.logSince(offset))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) logSince(offset int64) string {
	b, err := os.ReadFile(s.log)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	return strings.TrimSpace(string(b[offset:]))
}

// makeCluster runs initdb for a fresh, empty cluster at data. (A cached
// cluster copied instead saves little: the copy is most of initdb's time.)
func (s *Server) makeCluster(data string) error {
	cmd := exec.Command(filepath.Join(s.bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.SysProcAttr = sysProcAttr(s.runAs)
	cmd.Dir = s.dir // the server user may not be allowed into ours
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return nil
}

// installDirs are where PostgreSQL's packages put the server programs
// (Debian and Ubuntu, RHEL, source builds, Homebrew), off the PATH.
var installDirs = []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin",
	"/opt/homebrew/opt/postgresql*/bin", "/usr/local/opt/postgresql*/bin"}

// findBinaries returns the directory holding initdb and postgres.
func findBinaries() (string, error) {
	has := func(dir string) bool {
		for _, prog := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, prog)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("KITSHOP_TEST_POSTGRES_BIN"); dir != "" {
		if !has(dir) {
			return "", fmt.Errorf("KITSHOP_TEST_POSTGRES_BIN=%s holds no initdb and postgres", dir)
		}
		return dir, nil
	}
	if out, err := output("pg_config", "--bindir"); err == nil && has(strings.TrimSpace(out)) {
		return strings.TrimSpace(out), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	var candidates []string
	for _, pattern := range installDirs {
		dirs, _ := filepath.Glob(pattern)
		candidates = append(candidates, dirs...)
	}
	// The newest version first.
	sort.SliceStable(candidates, func(i, j int) bool { return majorVersion(candidates[i]) > majorVersion(candidates[j]) })
	for _, dir := range candidates {
		if has(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w: %s is not set and no PostgreSQL server programs (initdb, postgres) were found; "+
		"install the server (e.g. apt-get install postgresql) or set %s", errUnavailable, EnvURL, EnvURL)
}

var versionNumber = regexp.MustCompile(`(\d+)(?:\.\d+)?`)

// majorVersion finds the first version-like number in s ("15" in
// "/usr/lib/postgresql/15/bin", "16" in ".../postgresql@16/bin").
func majorVersion(s string) int {
	m := versionNumber.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func output(prog string, args ...string) (string, error) {
	out, err := exec.Command(prog, args...).Output()
	return string(out), err
}

// freePort returns a TCP port on 127.0.0.1 that is free now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// serverProc is a running postmaster.
type serverProc struct {
	pid    int
	signal func(os.Signal) error
	exited chan struct{} // closed once reaped
	err    error         // the exit status, once exited is closed
}

// stop sends sig and waits for the exit; after grace it sends SIGQUIT
// (immediate shutdown), and after as long again SIGKILL.
func (p *serverProc) stop(sig os.Signal, grace time.Duration) error {
	for _, next := range []os.Signal{sig, syscall.SIGQUIT, syscall.SIGKILL} {
		if err := p.signal(next); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
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
