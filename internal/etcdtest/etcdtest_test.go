package etcdtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// call posts body to one of etcd's JSON gateway paths (/v3/kv/put, ...),
// on a connection of its own.
func call(s *Server, path string, body any) (map[string]any, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.Endpoint()+path, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s %v", path, resp.Status, out)
	}
	return out, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// get returns the value of key, "" if there is none.
func get(s *Server, key string) (string, error) {
	out, err := call(s, "/v3/kv/range", map[string]string{"key": b64(key)})
	if err != nil {
		return "", err
	}
	kvs, _ := out["kvs"].([]any)
	if len(kvs) == 0 {
		return "", nil
	}
	kv, _ := kvs[0].(map[string]any)
	v, _ := kv["value"].(string)
	raw, err := base64.StdEncoding.DecodeString(v)
	return string(raw), err
}

// Two servers are two clusters; each answers on its own ports.
func TestNewGivesSeparateServers(t *testing.T) {
	a, b := New(t), New(t)
	if a.Endpoint() == b.Endpoint() {
		t.Fatalf("both servers at %s", a.Endpoint())
	}
	if _, err := call(a, "/v3/kv/put", map[string]string{"key": b64("k"), "value": b64("a")}); err != nil {
		t.Fatal(err)
	}
	if v, err := get(b, "k"); err != nil || v != "" {
		t.Fatalf("the other server has k = %q (%v)", v, err)
	}
}

// A stopped server refuses connections; started again, it has the same
// ports and data.
func TestStopStartKeepsPortsAndData(t *testing.T) {
	s := New(t)
	if _, err := call(s, "/v3/kv/put", map[string]string{"key": b64("kept"), "value": b64("x")}); err != nil {
		t.Fatal(err)
	}
	endpoint := s.Endpoint()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := get(s, "kept"); err == nil {
		t.Fatal("a stopped server answered")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start of a running server: %v", err)
	}
	if s.Endpoint() != endpoint {
		t.Fatalf("endpoint %s after restart, was %s", s.Endpoint(), endpoint)
	}
	if v, err := get(s, "kept"); err != nil || v != "x" {
		t.Fatalf("after restart kept = %q (%v)", v, err)
	}
}

// The server's directory goes with its test.
func TestServerIsGoneAfterItsTest(t *testing.T) {
	var s *Server
	t.Run("inner", func(t *testing.T) { s = New(t) })
	if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("directory %s still there (%v)", s.dir, err)
	}
	if _, err := get(s, "k"); err == nil {
		t.Fatal("the server of an ended test answered")
	}
}

// Without etcd anywhere, the tests learn that etcd is unavailable (a skip,
// or a failure in CI); a wrong KITSHOP_TEST_ETCD_BIN is a failure.
func TestNoEtcdIsUnavailable(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(EnvBin, "")
	_, err := findBinary(filepath.Join(t.TempDir(), "etcd"))
	if !errors.Is(err, errUnavailable) || !strings.Contains(err.Error(), EnvBin) {
		t.Fatalf("findBinary() = %v, want errUnavailable naming %s", err, EnvBin)
	}
	t.Setenv(EnvBin, t.TempDir())
	if _, err := findBinary(debianBin); err == nil || errors.Is(err, errUnavailable) {
		t.Fatalf("a wrong %s: %v, want a failure, not a skip", EnvBin, err)
	}
}

// A program that is not etcd fails at start with its output, not a hang.
func TestBrokenServerFailsWithItsLog(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "etcd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'no such etcd' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := startServer(bin)
	if err == nil || !strings.Contains(err.Error(), "no such etcd") {
		t.Fatalf("startServer = %v, want the failure with the log", err)
	}
}
