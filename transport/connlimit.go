package transport

import (
	"net"
	"net/http"
	"sync"
)

// DefaultMaxConnections is MAX_CONNECTIONS' default.
const DefaultMaxConnections = 4096

// LimitConnections returns ln accepting at most max connections open at
// once: beyond it, new connections wait in the kernel's backlog until one
// closes. So that idle keep-alive connections cannot hold every slot while
// fresh clients wait, srv's idle connections are closed whenever the cap is
// reached (tracked through srv.ConnState, which this wraps).
func LimitConnections(srv *http.Server, ln net.Listener, max int) net.Listener {
	l := &limitListener{Listener: ln, slots: make(chan struct{}, max), idle: map[net.Conn]struct{}{}}
	srv.ConnState = chainConnState(srv.ConnState, l.track)
	return l
}

type limitListener struct {
	net.Listener
	slots chan struct{}
	mu    sync.Mutex
	idle  map[net.Conn]struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		l.closeIdle()
		l.slots <- struct{}{}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

// closeIdle closes the idle keep-alive connections, whose clients open a
// fresh one on their next request as HTTP/1.1 allows.
func (l *limitListener) closeIdle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.idle {
		_ = c.Close()
		delete(l.idle, c)
	}
}

func (l *limitListener) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s == http.StateIdle {
		l.idle[c] = struct{}{}
	} else {
		delete(l.idle, c)
	}
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

func chainConnState(a, b func(net.Conn, http.ConnState)) func(net.Conn, http.ConnState) {
	if a == nil {
		return b
	}
	return func(c net.Conn, s http.ConnState) { a(c, s); b(c, s) }
}
