package productservice

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// httpFixture is the product service's HTTP handler over SQLite, with a
// fake clock.
type httpFixture struct {
	store Store
	svc   Service
	clock *fakeClock
	h     http.Handler
}

func newHTTPFixture(t *testing.T) *httpFixture {
	clock := newFakeClock()
	store := openSQLite(t)
	svc := NewService(store, WithClock(clock.Now), WithReservationTTL(30*time.Second))
	return &httpFixture{store: store, svc: svc, clock: clock, h: NewHTTPHandler(NewEndpointSet(svc, testkit.AsAdmin), transport.Ops{Cursors: testCursors})}
}

// do serves one request; headers are name, value pairs.
func (f *httpFixture) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			r.Header.Del(headers[i])
			continue
		}
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// reserve posts a reservation of qty of product under key.
func (f *httpFixture) reserve(key, productID string, qty int) *httptest.ResponseRecorder {
	body, _ := json.Marshal(map[string]any{"order_id": "ord_1", "items": []map[string]any{{"product_id": productID, "quantity": qty}}})
	return f.do("POST", "/v1/reservations", string(body), "Idempotency-Key", key)
}

// wantStatus fails unless w has status, and decodes its body into v.
func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if v != nil {
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			t.Fatalf("decode body %s: %v", w.Body, err)
		}
	}
}

// wantErrorBody fails unless w is the contract's error with status and
// code, and returns its message.
func wantErrorBody(t *testing.T, w *httptest.ResponseRecorder, status int, code kitshop.Code) string {
	t.Helper()
	var body struct {
		Error struct {
			Code    kitshop.Code `json:"code"`
			Message string       `json:"message"`
		} `json:"error"`
	}
	wantStatus(t, w, status, &body)
	if body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("error = %+v, want code %s with a message", body.Error, code)
	}
	return body.Error.Message
}

// keysOf returns the sorted top-level keys of a JSON object.
func keysOf(t *testing.T, data []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func wantRFC3339UTC(t *testing.T, s string) {
	t.Helper()
	if ts, err := time.Parse(time.RFC3339, s); err != nil || !strings.HasSuffix(s, "Z") || ts.Location() != time.UTC {
		t.Fatalf("time %q is not RFC 3339 UTC", s)
	}
}

func TestHTTPProducts(t *testing.T) {
	f := newHTTPFixture(t)
	w := f.do("POST", "/v1/products", `{"name":"Widget","price_cents":1999,"stock":5}`)
	var p map[string]any
	wantStatus(t, w, http.StatusCreated, &p)
	if keys := keysOf(t, w.Body.Bytes()); !reflect.DeepEqual(keys, []string{"created_at", "id", "name", "price_cents", "stock"}) {
		t.Fatalf("product fields = %v", keys)
	}
	if p["name"] != "Widget" || p["price_cents"] != 1999.0 || p["stock"] != 5.0 {
		t.Fatalf("product = %v", p)
	}
	wantRFC3339UTC(t, p["created_at"].(string))
	id := p["id"].(string)

	// A missing Content-Type is read as JSON.
	w = f.do("POST", "/v1/products", `{"name":"Gadget","price_cents":1,"stock":0}`, "Content-Type", "")
	wantStatus(t, w, http.StatusCreated, nil)

	w = f.do("GET", "/v1/products/"+id, "")
	var got map[string]any
	wantStatus(t, w, http.StatusOK, &got)
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("get = %v, want %v", got, p)
	}
	wantErrorBody(t, f.do("GET", "/v1/products/"+ids.New(ProductIDPrefix), ""), http.StatusNotFound, kitshop.CodeNotFound)
	wantErrorBody(t, f.do("GET", "/v1/products/nonsense", ""), http.StatusNotFound, kitshop.CodeNotFound)

	var page transport.ListBody[Product]
	wantStatus(t, f.do("GET", "/v1/products?limit=1", ""), http.StatusOK, &page)
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("page 1 = %+v, want 1 item and a cursor", page)
	}
	first := page.Items[0].ID
	wantStatus(t, f.do("GET", "/v1/products?limit=1&cursor="+page.NextCursor, ""), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID == first || page.NextCursor != "" {
		t.Fatalf("page 2 = %+v, want the other item and no cursor", page)
	}
	wantStatus(t, f.do("GET", "/v1/products", ""), http.StatusOK, &page)
	if len(page.Items) != 2 {
		t.Fatalf("default page = %d items, want 2", len(page.Items))
	}
}

func TestHTTPProductErrors(t *testing.T) {
	f := newHTTPFixture(t)
	huge := `{"name":"` + strings.Repeat("a", transport.MaxBodyBytes) + `","price_cents":1,"stock":1}`
	tests := []struct {
		name, body, contentType string
		status                  int
		code                    kitshop.Code
		field                   string // the message must name it
	}{
		{"malformed", `{"name":`, "", 400, kitshop.CodeInvalidArgument, "body"},
		{"not an object", `[1,2]`, "", 400, kitshop.CodeInvalidArgument, "body"},
		{"empty body", ``, "", 400, kitshop.CodeInvalidArgument, "body"},
		{"unknown field", `{"name":"a","price_cents":1,"stock":1,"colour":"red"}`, "", 400, kitshop.CodeInvalidArgument, "colour"},
		{"wrong type", `{"name":"a","price_cents":"1","stock":1}`, "", 400, kitshop.CodeInvalidArgument, "price_cents"},
		{"float price", `{"name":"a","price_cents":1.5,"stock":1}`, "", 400, kitshop.CodeInvalidArgument, "price_cents"},
		{"missing name", `{"price_cents":1,"stock":1}`, "", 400, kitshop.CodeInvalidArgument, "name"},
		{"missing price", `{"name":"a","stock":1}`, "", 400, kitshop.CodeInvalidArgument, "price_cents"},
		{"missing stock", `{"name":"a","price_cents":1}`, "", 400, kitshop.CodeInvalidArgument, "stock"},
		{"negative stock", `{"name":"a","price_cents":1,"stock":-1}`, "", 400, kitshop.CodeInvalidArgument, "stock"},
		{"zero price", `{"name":"a","price_cents":0,"stock":1}`, "", 400, kitshop.CodeInvalidArgument, "price_cents"},
		{"trailing data", `{"name":"a","price_cents":1,"stock":1} {}`, "", 400, kitshop.CodeInvalidArgument, "body"},
		{"too large", huge, "", 413, kitshop.CodePayloadTooLarge, ""},
		{"not json", `name=a`, "application/x-www-form-urlencoded", 415, kitshop.CodeUnsupportedMediaType, ""},
		{"text", `{"name":"a","price_cents":1,"stock":1}`, "text/plain", 415, kitshop.CodeUnsupportedMediaType, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{}
			if tt.contentType != "" {
				headers = append(headers, "Content-Type", tt.contentType)
			}
			r := httptest.NewRequest("POST", "/v1/products", strings.NewReader(tt.body))
			for i := 0; i < len(headers); i += 2 {
				r.Header.Set(headers[i], headers[i+1])
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, r)
			msg := wantErrorBody(t, w, tt.status, tt.code)
			if !strings.HasPrefix(msg, tt.field) {
				t.Fatalf("message %q does not name %q", msg, tt.field)
			}
		})
	}
	var page transport.ListBody[Product]
	wantStatus(t, f.do("GET", "/v1/products", ""), http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Fatalf("refused requests created %d products", len(page.Items))
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "limit=-1", "cursor=bogus", "cursor=" + testCursors.Encode("products", "prd_x")[1:]} {
		wantErrorBody(t, f.do("GET", "/v1/products?"+q, ""), http.StatusBadRequest, kitshop.CodeInvalidArgument)
	}
}

func TestHTTPRoutingErrors(t *testing.T) {
	f := newHTTPFixture(t)
	rid := ids.New(ReservationIDPrefix)
	for _, tt := range []struct{ method, path, allow string }{
		{"PUT", "/v1/products", "GET, HEAD, POST"},
		{"DELETE", "/v1/products/" + ids.New(ProductIDPrefix), "GET, HEAD"},
		{"GET", "/v1/reservations/" + rid, "DELETE"},
		{"GET", "/v1/reservations/" + rid + "/confirm", "POST"},
		{"PATCH", "/v1/reservations", "GET, HEAD, POST"},
	} {
		w := f.do(tt.method, tt.path, "")
		wantErrorBody(t, w, http.StatusMethodNotAllowed, kitshop.CodeMethodNotAllowed)
		if got := w.Header().Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	wantErrorBody(t, f.do("GET", "/v1/nothing", ""), http.StatusNotFound, kitshop.CodeNotFound)
	var health map[string]string
	wantStatus(t, f.do("GET", "/healthz", ""), http.StatusOK, &health)
	wantStatus(t, f.do("GET", "/readyz", ""), http.StatusOK, nil)
}

// list lists reservations through the operator route.
func (f *httpFixture) list(t *testing.T, query string) transport.ListBody[Reservation] {
	t.Helper()
	var page transport.ListBody[Reservation]
	wantStatus(t, f.do("GET", "/v1/reservations?"+query, ""), http.StatusOK, &page)
	return page
}

func productStock(t *testing.T, f *httpFixture, id string) int64 {
	t.Helper()
	var p Product
	wantStatus(t, f.do("GET", "/v1/products/"+id, ""), http.StatusOK, &p)
	return p.Stock
}

func TestHTTPConfirmAndRelease(t *testing.T) {
	f := newHTTPFixture(t)
	p := mustCreateProduct(t, f.svc, "Widget", 100, 10)
	var r Reservation
	wantStatus(t, f.reserve("k1", p.ID, 3), http.StatusCreated, &r)

	var c map[string]any
	w := f.do("POST", "/v1/reservations/"+r.ID+"/confirm", "")
	wantStatus(t, w, http.StatusOK, &c)
	if c["status"] != StatusConfirmed || c["id"] != r.ID {
		t.Fatalf("confirmed = %v", c)
	}
	// Idempotent; a body, if any, is ignored.
	w2 := f.do("POST", "/v1/reservations/"+r.ID+"/confirm", "{}")
	wantStatus(t, w2, http.StatusOK, nil)
	if !bytes.Equal(w.Body.Bytes(), w2.Body.Bytes()) {
		t.Fatalf("second confirm = %s, want %s", w2.Body, w.Body)
	}
	wantErrorBody(t, f.do("DELETE", "/v1/reservations/"+r.ID, ""), http.StatusConflict, kitshop.CodeAlreadyConfirmed)
	wantErrorBody(t, f.do("POST", "/v1/reservations/"+ids.New(ReservationIDPrefix)+"/confirm", ""), http.StatusNotFound, kitshop.CodeNotFound)
	wantErrorBody(t, f.do("DELETE", "/v1/reservations/"+ids.New(ReservationIDPrefix), ""), http.StatusNotFound, kitshop.CodeNotFound)
	wantErrorBody(t, f.do("DELETE", "/v1/reservations/junk", ""), http.StatusNotFound, kitshop.CodeNotFound)

	var rel Reservation
	wantStatus(t, f.reserve("k2", p.ID, 4), http.StatusCreated, &rel)
	if s := productStock(t, f, p.ID); s != 3 {
		t.Fatalf("stock = %d, want 3", s)
	}
	for range 2 {
		w := f.do("DELETE", "/v1/reservations/"+rel.ID, "")
		wantStatus(t, w, http.StatusNoContent, nil)
		if w.Body.Len() != 0 {
			t.Fatalf("204 with a body: %q", w.Body)
		}
		if s := productStock(t, f, p.ID); s != 7 {
			t.Fatalf("stock = %d, want 7 (back exactly once)", s)
		}
	}
	wantErrorBody(t, f.do("POST", "/v1/reservations/"+rel.ID+"/confirm", ""), http.StatusConflict, kitshop.CodeReservationExpired)

	var late Reservation
	wantStatus(t, f.reserve("k3", p.ID, 1), http.StatusCreated, &late)
	f.clock.Advance(31 * time.Second)
	wantErrorBody(t, f.do("POST", "/v1/reservations/"+late.ID+"/confirm", ""), http.StatusConflict, kitshop.CodeReservationExpired)
	if s := productStock(t, f, p.ID); s != 7 {
		t.Fatalf("stock = %d, want 7 (the expired one given back)", s)
	}

	for status, want := range map[string][]string{
		StatusConfirmed: {r.ID}, StatusReleased: {rel.ID}, StatusExpired: {late.ID}, StatusHeld: nil,
	} {
		var got []string
		for _, x := range f.list(t, "status="+status).Items {
			got = append(got, x.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("status=%s: %v, want %v", status, got, want)
		}
	}
	page := f.list(t, "limit=2")
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("page 1 = %+v", page)
	}
	if rest := f.list(t, "limit=2&cursor="+page.NextCursor); len(rest.Items) != 1 || rest.NextCursor != "" {
		t.Fatalf("page 2 = %+v", rest)
	}
	for _, q := range []string{"status=pending", "status=HELD", "limit=0", "limit=1000", "cursor=nope"} {
		wantErrorBody(t, f.do("GET", "/v1/reservations?"+q, ""), http.StatusBadRequest, kitshop.CodeInvalidArgument)
	}
	var empty map[string]json.RawMessage
	wantStatus(t, f.do("GET", "/v1/reservations?status=held", ""), http.StatusOK, &empty)
	if string(empty["items"]) != "[]" || string(empty["next_cursor"]) != `""` {
		t.Fatalf("empty list = %v, want items [] and next_cursor \"\"", empty)
	}
}
