package transport

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
)

func TestOversizedHeadersGetTheJSONError(t *testing.T) {
	h := Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), log.NewNopLogger(), nil)
	srv := NewServer("127.0.0.1:0", h, time.Second)
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, ln, log.NewNopLogger()) }()
	defer func() { cancel(); <-done }()

	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", MaxHeaderBytes+1))
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body errorBody
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || json.NewDecoder(resp.Body).Decode(&body) != nil ||
		body.Error.Code != CodeHeadersTooLarge || body.Error.Message == "" {
		t.Fatalf("status %d, body %+v, want 431 with the JSON error", resp.StatusCode, body)
	}
}
