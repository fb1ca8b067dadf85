package procs

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
)

// Socket is a TCP address held for a child that serves on an inherited
// listening socket (LISTEN_FDS=1, fd 3, as systemd socket activation
// passes it). NewSocket binds the address at once, so it is known to be
// free and, with port 0, learns the port the system chose; the child's
// first start takes that very socket over, and every restart binds the
// address again. Nothing else can take the port between the check and the
// start, or answer a readiness probe in the child's place. The parent keeps
// no copy once a child has it, so while the child is dead its port refuses
// connections, as a dead server's would.
type Socket struct {
	addr string

	mu   sync.Mutex
	held *net.TCPListener // until the first start
}

// NewSocket binds addr ("127.0.0.1:0" picks a free port).
func NewSocket(addr string) (*Socket, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return &Socket{addr: ln.Addr().String(), held: ln.(*net.TCPListener)}, nil
}

// Addr is the bound address, with the port the system chose for port 0.
func (s *Socket) Addr() string { return s.addr }

// Files is a Spec.Files: the listening socket for the child's fd 3.
func (s *Socket) Files() ([]*os.File, error) {
	s.mu.Lock()
	ln := s.held
	s.held = nil
	s.mu.Unlock()
	if ln == nil {
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", s.addr, err)
		}
		ln = l.(*net.TCPListener)
	}
	defer ln.Close()
	f, err := ln.File()
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.addr, err)
	}
	return []*os.File{f}, nil
}

// Close releases the socket if no child has taken it over yet.
func (s *Socket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		return nil
	}
	err := s.held.Close()
	s.held = nil
	return err
}

// inheritedFD is where a child finds the listening socket its parent
// passed: the first descriptor after stdin, stdout and stderr.
const inheritedFD = 3

// Listen is the child's side of Socket: with LISTEN_FDS=1 in the
// environment (and LISTEN_PID, when set, naming this process) it serves on
// the listening socket inherited as fd 3, from the shop, a test's Socket or
// a systemd socket unit; otherwise it binds addr, failing at once if addr
// is taken.
func Listen(getenv func(string) string, addr string) (net.Listener, error) {
	fds, pid := getenv("LISTEN_FDS"), getenv("LISTEN_PID")
	if fds == "" || (pid != "" && pid != strconv.Itoa(os.Getpid())) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	if fds != "1" {
		return nil, fmt.Errorf("LISTEN_FDS=%s: want exactly one listening socket", fds)
	}
	f := os.NewFile(inheritedFD, "inherited listener")
	defer f.Close() // FileListener holds its own copy
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("LISTEN_FDS=1: fd %d is not a listening socket: %w", inheritedFD, err)
	}
	return ln, nil
}
