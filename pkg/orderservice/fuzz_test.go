package orderservice

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// FuzzDecodeCreateOrderRequest checks that any body either decodes into a
// request or is refused with a 400/413/415 error, never a panic or another
// kind of error.
func FuzzDecodeCreateOrderRequest(f *testing.F) {
	f.Add([]byte(`{"user_id":"usr_1","items":[{"product_id":"prd_1","quantity":2}]}`), "application/json", "key")
	f.Add([]byte(`{"user_id":1}`), "application/json", "")
	f.Add([]byte(`{"items":[{"quantity":-1}],"extra":true}`), "", "")
	f.Add([]byte(`[]`), "text/plain", "")
	f.Fuzz(func(t *testing.T, body []byte, contentType, key string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		r.Header.Set(transport.IdempotencyKeyHeader, key)
		got, err := decodeCreateOrderRequest(r.Context(), r)
		if err != nil {
			var e *kitshop.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *kitshop.Error", err)
			}
			if s := transport.Status(e); s != 400 && s != 413 && s != 415 {
				t.Fatalf("status %d for a decoding error", s)
			}
			return
		}
		req, ok := got.(CreateOrderRequest)
		if !ok {
			t.Fatalf("decoded %T", got)
		}
		if req.IdempotencyKey != r.Header.Get(transport.IdempotencyKeyHeader) {
			t.Fatalf("key %q lost", key)
		}
	})
}

// FuzzDecodeListOrdersRequest checks the query decoder of the list route.
func FuzzDecodeListOrdersRequest(f *testing.F) {
	f.Add("limit=10&user_id=usr_1")
	f.Add("limit=0")
	f.Add("cursor=" + testCursors.Encode("orders?user_id=", "ord_1"))
	f.Add("cursor=%zz")
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/orders", nil)
		r.URL.RawQuery = query
		got, err := decodeListOrdersRequest(testCursors)(r.Context(), r)
		if err != nil {
			if e := kitshop.AsError(err); transport.Status(e) != 400 {
				t.Fatalf("status %d for a bad query", transport.Status(e))
			}
			return
		}
		req := got.(ListOrdersRequest)
		if req.Limit < 1 || req.Limit > kitshop.MaxPageLimit {
			t.Fatalf("limit %d out of range accepted", req.Limit)
		}
	})
}
