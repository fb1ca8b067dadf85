package transport

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
)

func TestConnectionCapKeepsFreshClientsServed(t *testing.T) {
	const max = 8
	var open, peak atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	srv := NewServer("127.0.0.1:0", h, time.Second)
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ln = LimitConnections(srv, &countingListener{Listener: ln, open: &open, peak: &peak}, max)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, ln, log.NewNopLogger()) }()
	defer func() { cancel(); <-done }()

	// Three times the cap in idle keep-alive connections, each having had
	// one answer, so the server holds them open.
	addr := ln.Addr().String()
	for i := 0; i < 3*max; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		go func() { _, _ = bufio.NewReader(c).ReadString('\n') }()
	}

	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("fresh client behind %d idle connections: %v", 3*max, err)
	}
	resp.Body.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("fresh client answered after %v", took)
	}
	if p := peak.Load(); p > max {
		t.Fatalf("%d connections open at once, cap %d", p, max)
	}
}

// countingListener counts the connections it accepted that are not closed
// yet, and the most at once.
type countingListener struct {
	net.Listener
	open, peak *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := l.open.Add(1)
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	return &countedConn{Conn: c, open: l.open}, nil
}

type countedConn struct {
	net.Conn
	once sync.Once
	open *atomic.Int64
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}
