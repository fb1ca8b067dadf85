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
	full  bool // Accept waits for a slot: connections turning idle are closed
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		l.setFull(true)
		l.slots <- struct{}{}
		l.setFull(false)
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

// setFull records whether Accept waits for a slot; when it starts to, the
// idle keep-alive connections are closed (their clients open a fresh one on
// their next request, as HTTP/1.1 allows), and so are those that turn idle
// while it waits.
func (l *limitListener) setFull(full bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.full = full
	if !full {
		return
	}
	for c := range l.idle {
		_ = c.Close()
		delete(l.idle, c)
	}
}

func (l *limitListener) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case s == http.StateIdle && l.full:
		_ = c.Close()
	case s == http.StateIdle:
		l.idle[c] = struct{}{}
	default:
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
