package productservice

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/transport"
)

func TestHTTPClientRoundTrip(t *testing.T) {
	clock := newFakeClock()
	svc := NewService(openSQLite(t), WithClock(clock.Now))
	srv := httptest.NewServer(NewHTTPHandler(NewEndpointSet(svc, testkit.AsAdmin), transport.Ops{Cursors: testCursors}))
	defer srv.Close()
	testServiceRoundTrip(t, svc, NewHTTPClient(transport.Direct(srv.URL), srv.Client()))
}

func TestHTTPClientSendsIdempotencyKeyAndRequestID(t *testing.T) {
	clock := newFakeClock()
	svc := NewService(openSQLite(t), WithClock(clock.Now))
	handler := NewHTTPHandler(NewEndpointSet(svc, testkit.AsAdmin), transport.Ops{Cursors: testCursors})
	var mu sync.Mutex
	var keys, requestIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get(transport.IdempotencyKeyHeader))
		requestIDs = append(requestIDs, r.Header.Get(transport.RequestIDHeader))
		mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client := NewHTTPClient(transport.Direct(srv.URL), srv.Client())
	p := mustCreateProduct(t, svc, "Widget", 100, 5)

	ctx := transport.WithRequestID(context.Background(), "req-42")
	if _, err := client.Reserve(ctx, reserveReq("the-key", p.ID, 1)); err != nil {
		t.Fatalf("reserve: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 1 || keys[0] != "the-key" || requestIDs[0] != "req-42" {
		t.Fatalf("sent Idempotency-Key %q and X-Request-ID %q, want the-key and req-42", keys, requestIDs)
	}
}

func TestHTTPClientUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	client := NewHTTPClient(transport.Direct(url), nil)
	_, err := client.GetProduct(context.Background(), ids.New(ProductIDPrefix))
	if err == nil || errors.Is(err, ErrNotFound) || !transport.IsFailure(err) {
		t.Fatalf("err = %v, want a transport failure, not a business error", err)
	}
}

func TestHTTPClientRequestInProgress(t *testing.T) {
	store := openSQLite(t)
	svc := NewService(store)
	srv := httptest.NewServer(NewHTTPHandler(NewEndpointSet(svc, testkit.AsAdmin), transport.Ops{Cursors: testCursors}))
	defer srv.Close()
	client := NewHTTPClient(transport.Direct(srv.URL), srv.Client())
	p := mustCreateProduct(t, svc, "Widget", 100, 5)
	req := reserveReq("busy", p.ID, 1)
	if _, err := store.ClaimIdempotencyKey(context.Background(), "busy", requestHash(req), t0.AddDate(100, 0, 0), t0); err != nil {
		t.Fatalf("claim: %v", err)
	}
	_, err := client.Reserve(context.Background(), req)
	if !errors.Is(err, ErrRequestInProgress) || transport.IsFailure(err) {
		t.Fatalf("err = %v, want ErrRequestInProgress, a business result", err)
	}
}
