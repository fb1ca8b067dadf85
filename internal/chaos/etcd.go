package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kitshop/kitshop/internal/procs"
)

// EnvEtcd names the etcd server program for experiments that find
// instances through etcd; by default `etcd` on PATH, else /usr/bin/etcd
// (Debian's etcd-server).
const EnvEtcd = "KITSHOP_ETCD_BIN"

// etcdReadyBound bounds an etcd server's start.
const etcdReadyBound = 20 * time.Second

// startEtcd starts a throwaway single-member etcd server on free loopback
// ports with its data in a temporary directory, waits until it is healthy,
// and returns its client URL (http://127.0.0.1:PORT) and the function that
// stops it and removes its data. Its output goes to out as "etcd | ...".
func startEtcd(ctx context.Context, out io.Writer) (string, func() error, error) {
	bin := os.Getenv(EnvEtcd)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("etcd"); err != nil {
			bin = "/usr/bin/etcd"
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return "", nil, fmt.Errorf("this experiment needs an etcd server (apt-get install etcd-server, or %s=PATH): %w", EnvEtcd, err)
	}
	var lastErr error
	for range 3 { // a port taken between the check and etcd's bind: try others
		url, stop, err := startEtcdOnce(ctx, bin, out)
		if err == nil {
			return url, stop, nil
		}
		lastErr = err
	}
	return "", nil, lastErr
}

func startEtcdOnce(ctx context.Context, bin string, out io.Writer) (string, func() error, error) {
	dir, err := os.MkdirTemp("", "kitshop-etcd-")
	if err != nil {
		return "", nil, fmt.Errorf("etcd: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	p, err := procs.Start(context.WithoutCancel(ctx), procs.Spec{
		Name: "etcd",
		Path: bin,
		Args: []string{"--name", "chaos", "--data-dir", filepath.Join(dir, "data"),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", "chaos=" + peer, "--log-level", "warn"},
		Output: out,
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("etcd: %w", err)
	}
	stop := func() error {
		// etcd ends a SIGTERM'd run by the signal itself: that is a clean
		// stop; only one it had to be killed for is worth reporting.
		err := p.Terminate(stopGrace)
		if err != nil && strings.Contains(err.Error(), "signal: terminated") {
			err = nil
		}
		return errors.Join(err, os.RemoveAll(dir))
	}
	deadline := time.Now().Add(etcdReadyBound)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(client + "/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), `"health":"true"`) {
				return client, stop, nil
			}
		}
		if p.Exited() != procs.ErrRunning || time.Now().After(deadline) || ctx.Err() != nil {
			_ = stop()
			return "", nil, fmt.Errorf("etcd did not become healthy at %s (%v): %s", client, p.Exited(), p.LastLine())
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			_ = stop()
			return "", nil, err
		}
	}
}
