package productservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/. Every target checks the
// decoder's promise: it never panics, and it returns either a request that
// survives a JSON round trip unchanged (so nothing was half-read), or a
// *kitshop.Error of status 400, 413 or 415.

// wantDecodeError checks that err is one of the decoders' errors.
func wantDecodeError(t *testing.T, err error, contentType string, bodyLen int) {
	t.Helper()
	var e *kitshop.Error
	if !errors.As(err, &e) {
		t.Fatalf("decode error %v (%T) is not a *kitshop.Error", err, err)
	}
	switch transport.Status(e) {
	case http.StatusBadRequest:
		if !strings.Contains(e.Message, ": ") {
			t.Fatalf("400 message %q does not name a field", e.Message)
		}
	case http.StatusRequestEntityTooLarge:
		if bodyLen <= transport.MaxBodyBytes {
			t.Fatalf("413 for a body of %d bytes", bodyLen)
		}
	case http.StatusUnsupportedMediaType:
		if contentType == "" {
			t.Fatal("415 without a Content-Type")
		}
	default:
		t.Fatalf("decode error status %d (%v), want 400, 413 or 415", transport.Status(e), err)
	}
}

// wantValidOr400 checks a validator's verdict on a decoded request.
func wantValidOr400(t *testing.T, err error) {
	t.Helper()
	if err != nil && transport.Status(err) != http.StatusBadRequest {
		t.Fatalf("validation error %v is not a 400", err)
	}
}

func newBodyRequest(target, contentType string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func FuzzDecodeCreateProduct(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		got, err := decodeCreateProductRequest(context.Background(), newBodyRequest("/v1/products", contentType, body))
		if err != nil {
			wantDecodeError(t, err, contentType, len(body))
			return
		}
		req, ok := got.(CreateProductRequest)
		if !ok {
			t.Fatalf("decoded %T", got)
		}
		wantValidOr400(t, validateCreateProduct(req))
		again, err := decodeCreateProductRequest(context.Background(), newBodyRequest("/v1/products", "", mustJSON(t, req)))
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("round trip of %+v = %+v, %v", req, again, err)
		}
	})
}

func FuzzDecodeReserve(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType, key string, body []byte) {
		r := newBodyRequest("/v1/reservations", contentType, body)
		r.Header[transport.IdempotencyKeyHeader] = []string{key}
		got, err := decodeReserveRequest(context.Background(), r)
		if err != nil {
			wantDecodeError(t, err, contentType, len(body))
			return
		}
		req, ok := got.(ReserveRequest)
		if !ok || req.IdempotencyKey != key {
			t.Fatalf("decoded %T %+v, want the key %q from the header", got, got, key)
		}
		wantValidOr400(t, validateReserve(req))
		r2 := newBodyRequest("/v1/reservations", "application/json; charset=utf-8", mustJSON(t, req))
		r2.Header[transport.IdempotencyKeyHeader] = []string{key}
		again, err := decodeReserveRequest(context.Background(), r2)
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("round trip of %+v = %+v, %v", req, again, err)
		}
	})
}

func FuzzDecodeListProducts(f *testing.F) {
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/products", nil)
		r.URL.RawQuery = rawQuery
		got, err := decodeListProductsRequest(testCursors)(context.Background(), r)
		if err != nil {
			wantDecodeError(t, err, "", 0)
			return
		}
		req := got.(ListProductsRequest)
		wantPage(t, "products", r.URL.Query(), req.After, req.Limit)
	})
}

func FuzzDecodeListReservations(f *testing.F) {
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/reservations", nil)
		r.URL.RawQuery = rawQuery
		got, err := decodeListReservationsRequest(testCursors)(context.Background(), r)
		if err != nil {
			wantDecodeError(t, err, "", 0)
			return
		}
		req := got.(ListReservationsRequest)
		if req.Status != r.URL.Query().Get("status") {
			t.Fatalf("status %q, query %q", req.Status, rawQuery)
		}
		wantPage(t, reservationsList(r), r.URL.Query(), req.After, req.Limit)
		// The service accepts exactly the statuses of the contract.
		_, _, err = NewService(emptyStore{}).ListReservations(context.Background(), req.Status, req.After, req.Limit)
		switch req.Status {
		case "", StatusHeld, StatusConfirmed, StatusReleased, StatusExpired:
			if err != nil {
				t.Fatalf("status %q refused: %v", req.Status, err)
			}
		default:
			if e := kitshop.AsError(err); transport.Status(e) != http.StatusBadRequest || !strings.HasPrefix(e.Message, "status: ") {
				t.Fatalf("status %q: err = %v, want a 400 naming status", req.Status, err)
			}
		}
	})
}

// FuzzDecodeIDRoutes sends arbitrary IDs to the routes that take one in
// their path: the answer is a contract status with a contract body, never
// a 500, and storage never sees a malformed ID.
func FuzzDecodeIDRoutes(f *testing.F) {
	h := NewHTTPHandler(NewEndpointSet(NewService(emptyStore{}), testkit.AsAdmin), transport.Ops{Cursors: testCursors})
	f.Fuzz(func(t *testing.T, method, id string) {
		for _, path := range []string{"/v1/products/", "/v1/reservations/"} {
			suffix := ""
			if method == http.MethodPost {
				suffix = "/confirm"
			}
			u := &url.URL{Path: path + id + suffix}
			r, err := http.NewRequest(method, u.String(), nil)
			if err != nil {
				return
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			switch w.Code {
			case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusBadRequest:
			case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
				continue // the mux cleaning the path: no decoder ran
			default:
				t.Fatalf("%s %s: status %d, body %s", method, u, w.Code, w.Body)
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if method == http.MethodHead {
				continue
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code == "" {
				t.Fatalf("%s %s: body %q is not a contract error", method, u, w.Body)
			}
		}
	})
}

func wantPage(t *testing.T, list string, q url.Values, after string, limit int) {
	t.Helper()
	if limit < 1 || limit > kitshop.MaxPageLimit {
		t.Fatalf("limit %d accepted", limit)
	}
	if c := q.Get("cursor"); c != "" {
		if again, ok := testCursors.Decode(list, testCursors.Encode(list, after)); after == "" || !ok || again != after {
			t.Fatalf("cursor %q accepted as pointing after %q", c, after)
		}
	} else if after != "" {
		t.Fatalf("no cursor, yet after = %q", after)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// emptyStore holds nothing; any ID that reaches it must be well formed.
type emptyStore struct{ Store }

func (emptyStore) GetProduct(_ context.Context, id string) (Product, error) {
	return Product{}, mustBeWellFormed(id, ProductIDPrefix)
}

func (emptyStore) ConfirmReservation(_ context.Context, id string, _ time.Time) (Reservation, error) {
	return Reservation{}, mustBeWellFormed(id, ReservationIDPrefix)
}

func (emptyStore) ReleaseReservation(_ context.Context, id string, _ time.Time) error {
	return mustBeWellFormed(id, ReservationIDPrefix)
}

func (emptyStore) ListReservations(context.Context, string, string, int) ([]Reservation, error) {
	return nil, nil
}

func mustBeWellFormed(id, prefix string) error {
	if len(id) != len(prefix)+27 || !strings.HasPrefix(id, prefix+"_") {
		panic("malformed id reached the store: " + id)
	}
	return ErrNotFound
}
