package discovery

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/kitshop/kitshop/internal/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// newEtcd is NewInstancer on an etcd URL, stopped (twice: stop and Stop
// may both be called) when t ends.
func newEtcd(t *testing.T, raw string, o Options) sd.Instancer {
	t.Helper()
	in, stop, err := NewInstancer(context.Background(), "user", raw, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		in.Stop()
	})
	return in
}

// registerIn is Register, deregistered when t ends (deregistering
// twice is fine).
func registerIn(t *testing.T, registry, service, advertise string, o Options) func() {
	t.Helper()
	deregister, err := Register(context.Background(), registry, service, advertise, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(deregister)
	return deregister
}

// rawClient is a plain etcd client, for a test to look and change behind
// the package's back.
func rawClient(t *testing.T, srv *etcdtest.Server) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{srv.Endpoint()},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// entries returns the keys and values under prefix.
func entries(t *testing.T, cli *clientv3.Client, prefix string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

// proxy forwards TCP connections to an etcd server, and can cut them all
// and refuse new ones (a network partition) until restored, on the same
// address.
type proxy struct {
	addr, target string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.start(ln)
	t.Cleanup(func() {
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) start(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = down.Close()
				continue
			}
			if !p.track(down, up) {
				return
			}
			for _, pair := range [][2]net.Conn{{down, up}, {up, down}} {
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					_, _ = io.Copy(pair[0], pair[1])
					_ = pair[0].Close()
					_ = pair[1].Close()
				}()
			}
		}
	}()
}

// track records a forwarded pair, or closes it if the proxy was cut.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// cut closes every connection and stops accepting new ones.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// restore accepts connections again, on the same address.
func (p *proxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy: listen on %s again: %v", p.addr, err)
	}
	p.start(ln)
}
