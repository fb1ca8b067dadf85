package procs

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestListenReportsATakenPort(t *testing.T) {
	ln, err := Listen(env(nil), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Listen(env(nil), ln.Addr().String()); err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("second listen on %s: %v", ln.Addr(), err)
	}
}

// A LISTEN_PID naming another process means the sockets were not meant for
// this one (systemd's rule): the service binds its own address.
func TestListenIgnoresSocketsForAnotherProcess(t *testing.T) {
	ln, err := Listen(env(map[string]string{"LISTEN_FDS": "1", "LISTEN_PID": strconv.Itoa(os.Getpid() + 1)}), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, ok := ln.(*net.TCPListener); !ok {
		t.Fatalf("listener %T", ln)
	}
}

func TestListenRefusesSeveralInheritedSockets(t *testing.T) {
	_, err := Listen(env(map[string]string{"LISTEN_FDS": "2"}), "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "LISTEN_FDS=2") {
		t.Fatalf("err = %v", err)
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
