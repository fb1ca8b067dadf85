package productservice

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

func TestHTTPReserve(t *testing.T) {
	f := newHTTPFixture(t)
	a := mustCreateProduct(t, f.svc, "A", 250, 10)
	b := mustCreateProduct(t, f.svc, "B", 999, 2)
	body := fmt.Sprintf(`{"order_id":"ord_7","items":[{"product_id":%q,"quantity":3},{"product_id":%q,"quantity":2}]}`, a.ID, b.ID)

	w := f.do("POST", "/v1/reservations", body, "Idempotency-Key", "key-1")
	var r Reservation
	wantStatus(t, w, http.StatusCreated, &r)
	if keys := keysOf(t, w.Body.Bytes()); !reflect.DeepEqual(keys, []string{"expires_at", "id", "items", "order_id", "status"}) {
		t.Fatalf("reservation fields = %v", keys)
	}
	if !strings.Contains(w.Body.String(), fmt.Sprintf(`{"product_id":%q,"quantity":3,"unit_price_cents":250}`, a.ID)) {
		t.Fatalf("item fields in %s", w.Body)
	}
	want := Reservation{ID: r.ID, OrderID: "ord_7", Status: StatusHeld, ExpiresAt: t0.Add(30 * time.Second),
		Items: []ReservedItem{{a.ID, 3, 250}, {b.ID, 2, 999}}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("reservation = %+v, want %+v", r, want)
	}
	var raw map[string]any
	wantStatus(t, w, http.StatusCreated, &raw)
	wantRFC3339UTC(t, raw["expires_at"].(string))

	// A repeat answers byte for byte the same and takes nothing, also after
	// the reservation was confirmed.
	if _, err := f.svc.ConfirmReservation(context.Background(), r.ID); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	for range 2 {
		again := f.do("POST", "/v1/reservations", body, "Idempotency-Key", "key-1")
		if again.Code != w.Code || !bytes.Equal(again.Body.Bytes(), w.Body.Bytes()) {
			t.Fatalf("replay = %d %s, want %d %s", again.Code, again.Body, w.Code, w.Body)
		}
	}
	if sa, sb := productStock(t, f, a.ID), productStock(t, f, b.ID); sa != 7 || sb != 0 {
		t.Fatalf("stock = %d, %d; want 7, 0 (taken once)", sa, sb)
	}
	wantErrorBody(t, f.do("POST", "/v1/reservations", strings.Replace(body, "ord_7", "ord_8", 1), "Idempotency-Key", "key-1"),
		http.StatusUnprocessableEntity, kitshop.CodeIdempotencyKeyReused)
}

func TestHTTPReserveBusinessErrors(t *testing.T) {
	f := newHTTPFixture(t)
	a := mustCreateProduct(t, f.svc, "A", 100, 5)
	b := mustCreateProduct(t, f.svc, "B", 100, 1)

	body := fmt.Sprintf(`{"order_id":"o","items":[{"product_id":%q,"quantity":5},{"product_id":%q,"quantity":2}]}`, a.ID, b.ID)
	short := f.do("POST", "/v1/reservations", body, "Idempotency-Key", "k-short")
	if msg := wantErrorBody(t, short, http.StatusConflict, kitshop.CodeInsufficientStock); !strings.Contains(msg, b.ID) || !strings.Contains(msg, "1 left") {
		t.Fatalf("message %q should name %s and what is left", msg, b.ID)
	}
	if sa := productStock(t, f, a.ID); sa != 5 {
		t.Fatalf("stock of a = %d, want 5 (all or nothing)", sa)
	}
	// The refusal is the key's outcome: replayed as it was, even once the
	// stock changed.
	wantStatus(t, f.reserve("other", b.ID, 1), http.StatusCreated, nil) // now 0 left
	again := f.do("POST", "/v1/reservations", body, "Idempotency-Key", "k-short")
	if again.Code != short.Code || !bytes.Equal(again.Body.Bytes(), short.Body.Bytes()) {
		t.Fatalf("replayed refusal = %d %s, want %d %s", again.Code, again.Body, short.Code, short.Body)
	}

	missing := ids.New(ProductIDPrefix)
	if msg := wantErrorBody(t, f.reserve("k-unknown", missing, 1), http.StatusUnprocessableEntity, kitshop.CodeUnknownProduct); !strings.Contains(msg, missing) {
		t.Fatalf("message %q should name %s", msg, missing)
	}
	wantErrorBody(t, f.reserve("k-junk", "junk", 1), http.StatusUnprocessableEntity, kitshop.CodeUnknownProduct)
}

func TestHTTPReserveInProgress(t *testing.T) {
	f := newHTTPFixture(t)
	p := mustCreateProduct(t, f.svc, "A", 100, 5)
	body := fmt.Sprintf(`{"order_id":"o","items":[{"product_id":%q,"quantity":1}]}`, p.ID)
	// Another instance of this request holds the key, in flight.
	req := ReserveRequest{OrderID: "o", Items: []ReserveItem{{ProductID: p.ID, Quantity: 1}}}
	if _, err := f.store.ClaimIdempotencyKey(context.Background(), "busy", requestHash(req), f.clock.Now(), f.clock.Now()); err != nil {
		t.Fatalf("claim: %v", err)
	}
	wantErrorBody(t, f.do("POST", "/v1/reservations", body, "Idempotency-Key", "busy"), http.StatusConflict, kitshop.CodeRequestInProgress)
	if s := productStock(t, f, p.ID); s != 5 {
		t.Fatalf("stock = %d, want 5", s)
	}
}

func TestHTTPReserveBadRequests(t *testing.T) {
	f := newHTTPFixture(t)
	p := mustCreateProduct(t, f.svc, "A", 100, 5)
	item := func(q string) string { return fmt.Sprintf(`{"product_id":%q,"quantity":%s}`, p.ID, q) }
	ok := `{"order_id":"o","items":[` + item("1") + `]}`
	tests := []struct {
		name, body, key, contentType string
		status                       int
		field                        string
	}{
		{"no key", ok, "", "", 400, "Idempotency-Key"},
		{"long key", ok, strings.Repeat("k", 201), "", 400, "Idempotency-Key"},
		{"malformed", `{"order_id":"o","items":[`, "k", "", 400, "body"},
		{"unknown field", `{"order_id":"o","items":[],"note":"x"}`, "k", "", 400, "note"},
		{"unknown item field", `{"order_id":"o","items":[{"product_id":"p","quantity":1,"price":3}]}`, "k", "", 400, "price"},
		{"key in body", `{"order_id":"o","items":[],"IdempotencyKey":"k"}`, "k", "", 400, "IdempotencyKey"},
		{"wrong type", `{"order_id":"o","items":[{"product_id":"p","quantity":"1"}]}`, "k", "", 400, "items.quantity"},
		{"items object", `{"order_id":"o","items":{}}`, "k", "", 400, "items"},
		{"zero quantity", `{"order_id":"o","items":[` + item("1") + `,` + item("0") + `]}`, "k", "", 400, "items[1].quantity"},
		{"negative quantity", `{"order_id":"o","items":[` + item("-2") + `]}`, "k", "", 400, "items[0].quantity"},
		{"missing quantity", `{"order_id":"o","items":[{"product_id":"p"}]}`, "k", "", 400, "items[0].quantity"},
		{"missing product", `{"order_id":"o","items":[{"quantity":1}]}`, "k", "", 400, "items[0].product_id"},
		{"empty items", `{"order_id":"o","items":[]}`, "k", "", 400, "items"},
		{"missing items", `{"order_id":"o"}`, "k", "", 400, "items"},
		{"missing order", `{"items":[` + item("1") + `]}`, "k", "", 400, "order_id"},
		{"duplicate product", `{"order_id":"o","items":[` + item("1") + `,` + item("2") + `]}`, "k", "", 400, "items[1].product_id"},
		{"too large", `{"order_id":"` + strings.Repeat("o", transport.MaxBodyBytes) + `"}`, "k", "", 413, ""},
		{"not json", ok, "k", "text/plain", 415, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{"Idempotency-Key", tt.key}
			if tt.contentType != "" {
				headers = append(headers, "Content-Type", tt.contentType)
			}
			w := f.do("POST", "/v1/reservations", tt.body, headers...)
			code := map[int]kitshop.Code{400: kitshop.CodeInvalidArgument, 413: kitshop.CodePayloadTooLarge,
				415: kitshop.CodeUnsupportedMediaType}[tt.status]
			if msg := wantErrorBody(t, w, tt.status, code); !strings.HasPrefix(msg, tt.field) {
				t.Fatalf("message %q does not name %q", msg, tt.field)
			}
		})
	}
	if s := productStock(t, f, p.ID); s != 5 {
		t.Fatalf("stock = %d, want 5", s)
	}
	// None of those used the key: it is free.
	wantStatus(t, f.do("POST", "/v1/reservations", ok, "Idempotency-Key", "k"), http.StatusCreated, nil)
}
