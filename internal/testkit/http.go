package testkit

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Reply is what Do got back.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends one request on a fresh connection (no keep-alive, so no test
// leaves a pooled connection behind) and reads the whole answer; any
// failure to get one ends the test.
func Do(t testing.TB, method, url, body string, header map[string]string) Reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return Reply{resp.StatusCode, resp.Header, data}
}

// WireError is the contract's error body.
type WireError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		Dependency string `json:"dependency"`
	} `json:"error"`
}

// DecodeWireError reads an error body, ending the test if body is not one.
func DecodeWireError(t testing.TB, status int, body []byte) WireError {
	t.Helper()
	var e WireError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("status %d body %q is not the error JSON", status, body)
	}
	return e
}

// DeadAddr is a loopback address where nothing listens (one that did a
// moment ago).
func DeadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
