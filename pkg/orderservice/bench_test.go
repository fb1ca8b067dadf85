package orderservice

// Benchmarks of the order service's hot paths:
//
//	go test -run '^$' -bench . -benchmem ./pkg/orderservice/
//
// Transport: each route's request decoding and response encoding, alone.
// StoreSQLite: the storage operations of an order (pending, then
// confirmed), of reads and of a retried key, on a real SQLite file under a
// request's (cancellable) context, as the service calls them.
// Saga: CreateOrder in process, over a real SQLite store and in-memory
// user and product services that answer at once: the order service's own
// share of an order, without the network and the other services.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
)

// nullWriter is a ResponseWriter that throws the answer away.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(int)             {}

var benchTime = time.Date(2025, 3, 1, 12, 30, 45, 123456000, time.UTC)

func benchOrder() Order {
	return Order{ID: ids.New(IDPrefix), UserID: ids.New(userservice.IDPrefix), Status: StatusConfirmed,
		TotalCents: 250000, CreatedAt: benchTime,
		Items: []OrderItem{{ProductID: ids.New(productservice.ProductIDPrefix), Quantity: 2, UnitPriceCents: 125000}}}
}

func BenchmarkTransport(b *testing.B) {
	ctx := context.Background()
	b.Run("decode-create", func(b *testing.B) {
		body := []byte(`{"user_id":"usr_01jd3k5x0r8f3m4c8q9w2e7t6y","items":[{"product_id":"prd_01jd3k5x0r8f3m4c8q9w2e7t6y","quantity":2}]}`)
		r, _ := http.NewRequest(http.MethodPost, "/v1/orders", nil)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(transport.IdempotencyKeyHeader, "checkout-42")
		b.ReportAllocs()
		for b.Loop() {
			r.Body = io.NopCloser(bytes.NewReader(body))
			if _, err := decodeCreateOrderRequest(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-get", func(b *testing.B) {
		r, _ := http.NewRequest(http.MethodGet, "/v1/orders/x", nil)
		r.SetPathValue("id", ids.New(IDPrefix))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeGetOrderRequest(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-list", func(b *testing.B) {
		r, _ := http.NewRequest(http.MethodGet, "/v1/orders?user_id=usr_01jd3k5x0r8f3m4c8q9w2e7t6y&limit=50&cursor="+
			testCursors.Encode("orders?user_id=usr_01jd3k5x0r8f3m4c8q9w2e7t6y", ids.New(IDPrefix)), nil)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeListOrdersRequest(testCursors)(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	w := &nullWriter{h: http.Header{}}
	encode := func(b *testing.B, enc func(context.Context, http.ResponseWriter, any) error, response any) {
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			if err := enc(ctx, w, response); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("encode-created", func(b *testing.B) { encode(b, encodeCreated, benchOrder()) })
	b.Run("encode-order", func(b *testing.B) { encode(b, transport.EncodeJSONResponse, benchOrder()) })
	b.Run("encode-list-50", func(b *testing.B) {
		resp := ListOrdersResponse{Next: ids.New(IDPrefix)}
		for range 50 {
			resp.Orders = append(resp.Orders, benchOrder())
		}
		encode(b, encodeListOrdersResponse(testCursors), resp)
	})
	b.Run("encode-error-503", func(b *testing.B) {
		e := kitshop.DependencyUnavailable(DependencyUser, 5*time.Second, nil)
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			transport.EncodeError(ctx, e, w)
		}
	})
}

// OpenSQLStore opens orderstore's Store at url. orderstore imports this
// package, so only the external test package can import it: its TestMain
// (main_test.go) sets OpenSQLStore before any test or benchmark runs.
var OpenSQLStore func(ctx context.Context, url string) (Store, error)

// benchStore opens a fresh SQLite store for a benchmark.
func benchStore(b *testing.B) Store {
	b.Helper()
	s, err := OpenSQLStore(context.Background(), "sqlite:"+filepath.Join(b.TempDir(), "orders.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

var benchSeq atomic.Int64

// pendingRecord is a new one-line order as CreateOrder stores it.
func pendingRecord(userID string, withKey bool) Record {
	n := benchSeq.Add(1)
	req := CreateOrderRequest{UserID: userID, Items: []OrderLine{{ProductID: "prd_bench", Quantity: 1}}}
	if withKey {
		req.IdempotencyKey = fmt.Sprintf("bench-%d", n)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	return Record{
		Order:          Order{ID: ids.New(IDPrefix), UserID: userID, Status: StatusPending, Items: linesToItems(req.Items), CreatedAt: now},
		IdempotencyKey: req.IdempotencyKey, RequestHash: requestHash(req), UpdatedAt: now,
	}
}

func BenchmarkStoreSQLite(b *testing.B) {
	ctx := testkit.RequestContext(b)
	s := benchStore(b)
	priced := []OrderItem{{ProductID: "prd_bench", Quantity: 1, UnitPriceCents: 1000}}
	// The two writes of an order: pending, then confirmed.
	b.Run("create-pending+confirm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := pendingRecord("usr_bench", true)
			if err := s.CreatePending(ctx, r); err != nil {
				b.Fatal(err)
			}
			if err := s.Confirm(ctx, r.ID, priced, 1000, "rsv_bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("create-pending", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.CreatePending(ctx, pendingRecord("usr_bench", true)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Confirmed orders of 20 users, for the reads.
	var confirmed []Record
	for i := range 1000 {
		r := pendingRecord(fmt.Sprintf("usr_bench_%d", i%20), true)
		if err := s.CreatePending(ctx, r); err != nil {
			b.Fatal(err)
		}
		if err := s.Confirm(ctx, r.ID, priced, 1000, "rsv_bench"); err != nil {
			b.Fatal(err)
		}
		confirmed = append(confirmed, r)
	}
	b.Run("get", func(b *testing.B) {
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			if _, err := s.Get(ctx, confirmed[i%len(confirmed)].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What every POST with an Idempotency-Key asks first; a new key is a miss.
	b.Run("get-by-key-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetByKey(ctx, "never-used"); err != ErrNotFound {
				b.Fatal(err)
			}
		}
	})
	b.Run("list-page-50", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if os, err := s.ListConfirmed(ctx, "", "", 51); err != nil || len(os) != 51 {
				b.Fatal(len(os), err)
			}
		}
	})
	b.Run("list-page-50-of-user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if os, err := s.ListConfirmed(ctx, "usr_bench_3", "", 51); err != nil || len(os) != 50 {
				b.Fatal(len(os), err)
			}
		}
	})
}

// fakeUsers knows every user.
type fakeUsers struct{}

func (fakeUsers) GetUser(_ context.Context, id string) (userservice.User, error) {
	return userservice.User{ID: id, Name: "Ada Lovelace", Email: "ada@example.com", CreatedAt: benchTime}, nil
}

// fakeProducts reserves and confirms anything, at one price.
type fakeProducts struct{}

func (fakeProducts) Reserve(_ context.Context, req productservice.ReserveRequest) (productservice.Reservation, error) {
	r := productservice.Reservation{ID: "rsv_" + req.OrderID, OrderID: req.OrderID, Status: productservice.StatusHeld,
		ExpiresAt: time.Now().Add(30 * time.Second)}
	for _, it := range req.Items {
		r.Items = append(r.Items, productservice.ReservedItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceCents: 1000})
	}
	return r, nil
}

func (f fakeProducts) ConfirmReservation(_ context.Context, id string) (productservice.Reservation, error) {
	return productservice.Reservation{ID: id, Status: productservice.StatusConfirmed}, nil
}

func (fakeProducts) ReleaseReservation(context.Context, string) error { return nil }

// BenchmarkSaga runs CreateOrder over a real SQLite store, with the user
// and product services faked in memory.
func BenchmarkSaga(b *testing.B) {
	ctx := testkit.RequestContext(b)
	orders := NewService(benchStore(b), fakeUsers{}, fakeProducts{})
	req := func(key string) CreateOrderRequest {
		return CreateOrderRequest{IdempotencyKey: key, UserID: "usr_01jd3k5x0r8f3m4c8q9w2e7t6y",
			Items: []OrderLine{{ProductID: "prd_01jd3k5x0r8f3m4c8q9w2e7t6y", Quantity: 1}}}
	}
	b.Run("create-order", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := orders.CreateOrder(ctx, req("")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("create-order-with-key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := orders.CreateOrder(ctx, req(fmt.Sprintf("bench-key-%d", benchSeq.Add(1)))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replay", func(b *testing.B) { // the same key again: the first order back
		first, err := orders.CreateOrder(ctx, req("bench-replay"))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if o, err := orders.CreateOrder(ctx, req("bench-replay")); err != nil || o.ID != first.ID {
				b.Fatal(o.ID, err)
			}
		}
	})
	// With a dependency's breaker open: the 503 answered before any work.
	b.Run("gate-closed", func(b *testing.B) {
		closed := NewService(benchStore(b), fakeUsers{}, fakeProducts{}, WithGates(downGate{}, nil))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := closed.CreateOrder(ctx, req("")); err == nil {
				b.Fatal("no error")
			}
		}
	})
}

// downGate refuses every call, as an open breaker does.
type downGate struct{}

func (downGate) Available() error {
	return kitshop.DependencyUnavailable(DependencyUser, 5*time.Second, nil)
}
