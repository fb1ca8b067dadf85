package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
)

func TestNewServerTimeouts(t *testing.T) {
	srv := NewServer(":0", http.NotFoundHandler(), 5*time.Second)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("server without limits: %+v", srv)
	}
	if srv.WriteTimeout <= 5*time.Second {
		t.Fatalf("WriteTimeout %s leaves no room for a 5s request", srv.WriteTimeout)
	}
}

// An in-flight request finishes after the context is cancelled, new
// connections are refused, and Serve returns nil once it is done.
func TestServeGracefulShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	srv := NewServer("127.0.0.1:0", handler, time.Second)
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	sink := &logSink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, srv, ln, log.NewJSONLogger(sink)) }()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	type result struct {
		body string
		err  error
	}
	answered := make(chan result, 1)
	go func() {
		resp, err := client.Get("http://" + addr + "/slow")
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- result{string(b), err}
	}()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("request never reached the handler")
	}

	cancel()
	// Shutdown closes the listener first: wait until new connections fail.
	eventually(t, 5*time.Second, "listener closed after cancel", func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return false
		}
		return true
	})
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request still in flight", err)
	default:
	}

	close(release)
	select {
	case r := <-answered:
		if r.err != nil || r.body != "finished" {
			t.Fatalf("in-flight request: %q, %v", r.body, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight request never answered")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the last request")
	}
	for _, want := range []string{`"listening"`, addr, `"shutting down"`} {
		if !strings.Contains(sink.String(), want) {
			t.Errorf("log lacks %s: %s", want, sink)
		}
	}
}

func TestServeReportsServerError(t *testing.T) {
	srv := NewServer("127.0.0.1:0", http.NotFoundHandler(), time.Second)
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // the server cannot accept on a closed listener
	done := make(chan error, 1)
	go func() { done <- Serve(context.Background(), srv, ln, log.NewNopLogger()) }()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve on a closed listener: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve on a closed listener did not return")
	}
}
