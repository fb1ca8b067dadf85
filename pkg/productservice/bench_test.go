package productservice

// Benchmarks of the product service's hot paths:
//
//	go test -run '^$' -bench . -benchmem ./pkg/productservice/
//
// Transport: each route's request decoding and response encoding, alone.
// StoreSQLite: the storage operations of an order (claim and reserve,
// confirm) and of the catalogue on a real SQLite file, under a request's
// (cancellable) context, as the service calls them.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/transport"
)

// nullWriter is a ResponseWriter that throws the answer away.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(int)             {}

var benchTime = time.Date(2025, 3, 1, 12, 30, 45, 123456000, time.UTC)

func benchProduct(i int) Product {
	return Product{ID: ids.New(ProductIDPrefix), Name: fmt.Sprintf("Difference engine %d", i), PriceCents: 125000,
		Stock: 1000, CreatedAt: benchTime}
}

func benchReservation() Reservation {
	return Reservation{ID: ids.New(ReservationIDPrefix), OrderID: ids.New("ord"), Status: StatusHeld, ExpiresAt: benchTime,
		Items: []ReservedItem{{ProductID: ids.New(ProductIDPrefix), Quantity: 2, UnitPriceCents: 125000}}}
}

func BenchmarkTransport(b *testing.B) {
	ctx := context.Background()
	post := func(b *testing.B, target, body string, decode func(context.Context, *http.Request) (any, error)) {
		r, _ := http.NewRequest(http.MethodPost, target, nil)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(transport.IdempotencyKeyHeader, "order:ord_01jd3k5x0r8f3m4c8q9w2e7t6y")
		data := []byte(body)
		b.ReportAllocs()
		for b.Loop() {
			r.Body = io.NopCloser(bytes.NewReader(data))
			if _, err := decode(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("decode-create-product", func(b *testing.B) {
		post(b, "/v1/products", `{"name":"Difference engine","price_cents":125000,"stock":3}`, decodeCreateProductRequest)
	})
	b.Run("decode-reserve", func(b *testing.B) {
		post(b, "/v1/reservations", `{"order_id":"ord_01jd3k5x0r8f3m4c8q9w2e7t6y","items":[{"product_id":"prd_01jd3k5x0r8f3m4c8q9w2e7t6y","quantity":2}]}`,
			decodeReserveRequest)
	})
	b.Run("decode-get-product", func(b *testing.B) {
		r, _ := http.NewRequest(http.MethodGet, "/v1/products/x", nil)
		r.SetPathValue("id", ids.New(ProductIDPrefix))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeGetProductRequest(ctx, r); err != nil {
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
	b.Run("encode-product", func(b *testing.B) { encode(b, transport.EncodeJSONResponse, benchProduct(0)) })
	b.Run("encode-created-reservation", func(b *testing.B) { encode(b, encodeCreated, benchReservation()) })
	b.Run("encode-confirmed-reservation", func(b *testing.B) {
		r := benchReservation()
		r.Status = StatusConfirmed
		encode(b, transport.EncodeJSONResponse, r)
	})
	b.Run("encode-list-50", func(b *testing.B) {
		resp := ListProductsResponse{Next: ids.New(ProductIDPrefix)}
		for i := range 50 {
			resp.Products = append(resp.Products, benchProduct(i))
		}
		encode(b, encodeListProductsResponse(testCursors), resp)
	})
}

// benchStore opens a fresh SQLite store for a benchmark.
func benchStore(b *testing.B) SQLStore {
	b.Helper()
	return openSQLite(b)
}

func BenchmarkStoreSQLite(b *testing.B) {
	ctx := testkit.RequestContext(b)
	svc := &service{ttl: DefaultReservationTTL, staleAfter: DefaultStaleClaimAfter, now: time.Now}
	// reserve is what Service.Reserve asks of its store: claim the key, then
	// take the stock and record the outcome.
	reserve := func(b *testing.B, s SQLStore, productID string, n int) Reservation {
		req := ReserveRequest{IdempotencyKey: fmt.Sprintf("order:bench-%d", n), OrderID: fmt.Sprintf("ord_bench_%d", n),
			Items: []ReserveItem{{ProductID: productID, Quantity: 1}}}
		now := svc.clock()
		claim, err := s.ClaimIdempotencyKey(ctx, req.IdempotencyKey, requestHash(req), now, now.Add(-svc.staleAfter))
		if err != nil {
			b.Fatal(err)
		}
		r := Reservation{ID: ids.New(ReservationIDPrefix), OrderID: req.OrderID, Status: StatusHeld, ExpiresAt: now.Add(svc.ttl),
			Items: []ReservedItem{{ProductID: productID, Quantity: 1}}}
		r, err = s.Reserve(ctx, claim, r, now)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	b.Run("create-product", func(b *testing.B) {
		s := benchStore(b)
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			if err := s.CreateProduct(ctx, benchProduct(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	s := benchStore(b)
	var catalogue []Product
	for i := range 1000 {
		p := benchProduct(i)
		p.Stock = 1_000_000_000
		if err := s.CreateProduct(ctx, p); err != nil {
			b.Fatal(err)
		}
		catalogue = append(catalogue, p)
	}
	slices.SortFunc(catalogue, func(a, b Product) int { return strings.Compare(a.ID, b.ID) })
	b.Run("get-product", func(b *testing.B) {
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			if _, err := s.GetProduct(ctx, catalogue[i%len(catalogue)].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("list-page-50", func(b *testing.B) {
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			ps, err := s.ListProducts(ctx, catalogue[(i*50)%900].ID, 51)
			if err != nil || len(ps) != 51 {
				b.Fatal(len(ps), err)
			}
		}
	})
	n := 0
	b.Run("reserve", func(b *testing.B) { // claim + reserve, one item
		b.ReportAllocs()
		for b.Loop() {
			n++
			reserve(b, s, catalogue[n%len(catalogue)].ID, n)
		}
	})
	b.Run("confirm", func(b *testing.B) {
		// Reservations to confirm, made before the clock starts.
		var held []Reservation
		for i := 0; i < b.N; i++ {
			n++
			held = append(held, reserve(b, s, catalogue[n%len(catalogue)].ID, n))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.ConfirmReservation(ctx, held[i].ID, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reserve-replay", func(b *testing.B) { // a retried Reserve: the key's outcome, read back
		r := ReserveRequest{IdempotencyKey: "order:bench-replay", OrderID: "ord_bench_replay",
			Items: []ReserveItem{{ProductID: catalogue[0].ID, Quantity: 1}}}
		impl := &service{store: s, ttl: DefaultReservationTTL, staleAfter: DefaultStaleClaimAfter, now: time.Now}
		if _, err := impl.Reserve(ctx, r); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := impl.Reserve(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
