// Package etcdtest gives tests a throwaway etcd server of their own, so that
// service discovery is tested against the real thing with a plain
// `go test ./...`.
//
// New starts one server per call (about a third of a second): a single
// member with its data in a temporary directory, listening on 127.0.0.1 on
// free client and peer ports. The server belongs to the test that asked for
// it, which may Stop and Start it (same ports, same data) to see what its
// clients do while etcd is gone; it is killed, and its directory deleted,
// when that test ends. Should the test binary die first, the kernel kills
// the server with it (Linux). A server per test, rather than one per test
// binary as internal/pgtest has, because tests stop and start it.
//
// The etcd program is, in this order: the one KITSHOP_TEST_ETCD_BIN names,
// `etcd` on the PATH, /usr/bin/etcd (Debian's etcd-server). With none, the
// test is skipped, saying why; but with CI=true in the environment it fails
// instead: CI must not pass by skipping the etcd half of the discovery
// tests. A server that is installed but will not start is a failure, with
// its log, not a skip. etcd 3.4 or later.
//
// Unlike pgtest, there is no Main to wire in: no server outlives its test.
// goleak.VerifyTestMain(m) alone would still catch one that did, by the
// goroutine that waits for the server to exit.
package etcdtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// EnvBin names the environment variable of the etcd program to run.
const EnvBin = "KITSHOP_TEST_ETCD_BIN"

// debianBin is where Debian's etcd-server package installs etcd, off the
// PATH of some test environments.
const debianBin = "/usr/bin/etcd"

// errUnavailable marks "no etcd here", which skips (or fails in CI); any
// other failure fails the test.
var errUnavailable = errors.New("no etcd for the tests")

// New starts a fresh etcd server for t and returns it once it answers
// /health. The server is stopped and its data deleted when t ends; if t
// failed, its log is in t's output. New skips t when no etcd is installed
// (fails it under CI=true) and fails t if the server will not start.
func New(t testing.TB) *Server {
	t.Helper()
	bin, err := findBinary(debianBin)
	switch {
	case errors.Is(err, errUnavailable) && !ci():
		t.Skipf("etcd tests skipped: %v", err)
	case errors.Is(err, errUnavailable):
		t.Fatalf("CI=true and %v", err)
	case err != nil:
		t.Fatalf("etcd for the tests: %v", err)
	}
	s, err := startServer(bin)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("etcdtest: the log of etcd at %s:\n%s", s.Endpoint(), s.Log())
		}
		if err := s.destroy(); err != nil {
			t.Errorf("etcdtest: %v", err)
		}
	})
	return s
}

// ci reports whether we run in CI, where a missing etcd is a failure.
func ci() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// findBinary returns the path of the etcd program, fallback the last
// resort; see the package doc.
func findBinary(fallback string) (string, error) {
	if bin := os.Getenv(EnvBin); bin != "" {
		if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
			return "", fmt.Errorf("%s=%s is not a program", EnvBin, bin)
		}
		return bin, nil
	}
	if bin, err := exec.LookPath("etcd"); err == nil {
		return bin, nil
	}
	if fi, err := os.Stat(fallback); err == nil && !fi.IsDir() {
		return fallback, nil
	}
	return "", fmt.Errorf("%w: %s is not set and there is no etcd on the PATH nor at %s; "+
		"install it (e.g. apt-get install etcd-server) or set %s", errUnavailable, EnvBin, fallback, EnvBin)
}
