package transport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

func TestParseInstances(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string
	}{
		{"http://localhost:8081", []string{"http://localhost:8081"}},
		{"http://a:1/, https://b:2 ,http://c:3", []string{"http://a:1", "https://b:2", "http://c:3"}},
		{"http://a:1,,http://b:2,", []string{"http://a:1", "http://b:2"}},
		{" http://127.0.0.1:9000/base/ ", []string{"http://127.0.0.1:9000/base"}},
	} {
		got, err := ParseInstances(tc.list)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("ParseInstances(%q) = %q, %v; want %q", tc.list, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", " , ", "localhost:8081", "ftp://a:1", "http://", "http://a:1,nohost", "://x", "http://a b:1"} {
		if got, err := ParseInstances(bad); err == nil {
			t.Errorf("ParseInstances(%q) = %q, want an error", bad, got)
		}
	}
}

func TestPropagateRequestID(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	ctx := WithRequestID(context.Background(), "rid-7")
	if got := PropagateRequestID(ctx, r); got != ctx {
		t.Error("PropagateRequestID changed the context")
	}
	if r.Header.Get(RequestIDHeader) != "rid-7" {
		t.Fatalf("header %q", r.Header.Get(RequestIDHeader))
	}
	// Without an ID in ctx, the request is left alone.
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set(RequestIDHeader, "caller-set")
	PropagateRequestID(context.Background(), r)
	if r.Header.Get(RequestIDHeader) != "caller-set" {
		t.Fatalf("header %q", r.Header.Get(RequestIDHeader))
	}
	if RequestID(context.Background()) != "" {
		t.Fatal("RequestID of an empty context")
	}
}

func TestNewRequest(t *testing.T) {
	ctx := WithRequestID(context.Background(), "rid-8")
	body := map[string]any{"name": "Ada", "n": 3}
	req, err := NewRequest(ctx, http.MethodPost, "http://svc:1/", "/v1/things", url.Values{"a": {"b c"}}, body,
		http.Header{"Idempotency-Key": {"k1"}})
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.String() != "http://svc:1/v1/things?a=b+c" || req.Method != http.MethodPost {
		t.Errorf("request %s %s", req.Method, req.URL)
	}
	for k, v := range map[string]string{"Content-Type": "application/json", "Accept": "application/json",
		RequestIDHeader: "rid-8", "Idempotency-Key": "k1"} {
		if req.Header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, req.Header.Get(k), v)
		}
	}
	data, _ := io.ReadAll(req.Body)
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil || got["name"] != "Ada" || got["n"] != float64(3) {
		t.Errorf("body %s", data)
	}
	if req.Context() != ctx {
		t.Error("request does not carry ctx")
	}

	get, err := NewRequest(context.Background(), http.MethodGet, "http://svc:1", "/v1/things", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if get.Body != nil && get.Body != http.NoBody || get.Header.Get("Content-Type") != "" || get.Header.Get(RequestIDHeader) != "" {
		t.Errorf("GET request %+v", get)
	}
	if _, err := NewRequest(context.Background(), http.MethodPost, "http://svc:1", "/x", nil, map[string]any{"f": func() {}}, nil); err == nil {
		t.Error("unencodable body: no error")
	}
}

func response(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
}

func TestDecodeJSONResponse(t *testing.T) {
	type thing struct {
		ID string `json:"id"`
	}
	got, err := DecodeJSONResponse[thing](response(201, `{"id":"t1"}`))
	if err != nil || got.ID != "t1" {
		t.Fatalf("201: %+v, %v", got, err)
	}
	if _, err := DecodeJSONResponse[thing](response(204, "")); err != nil {
		t.Fatalf("204: %v", err)
	}
	_, err = DecodeJSONResponse[thing](response(404, `{"error":{"code":"not_found","message":"no thing"}}`))
	var e *kitshop.Error
	if !errors.As(err, &e) || e.Code != kitshop.CodeNotFound || e.Message != "no thing" {
		t.Fatalf("404: %v", err)
	}
	if _, err := DecodeJSONResponse[thing](response(200, `<html>`)); err == nil || !IsFailure(err) {
		t.Fatalf("200 with a bad body: %v (a failure, not a business error)", err)
	}
}

func TestDecodeListResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	_ = WriteJSON(rec, 200, NewListBody([]string{"a", "b"}, "usr_2"))
	items, next, err := DecodeListResponse[string](rec.Result())
	if err != nil || strings.Join(items, ",") != "a,b" || next != "usr_2" {
		t.Fatalf("page: %v %q %v", items, next, err)
	}
	items, next, err = DecodeListResponse[string](response(200, `{"items":["c"],"next_cursor":""}`))
	if err != nil || len(items) != 1 || next != "" {
		t.Fatalf("last page: %v %q %v", items, next, err)
	}
	if _, _, err := DecodeListResponse[string](response(400, `{"error":{"code":"invalid_argument","message":"limit: bad"}}`)); err == nil {
		t.Fatal("400 accepted")
	}
}

func TestCallAndAssert(t *testing.T) {
	echo := func(_ context.Context, req any) (any, error) { return req, nil }
	if got, err := Call[string](context.Background(), echo, "x"); err != nil || got != "x" {
		t.Fatalf("Call: %q, %v", got, err)
	}
	if _, err := Call[int](context.Background(), echo, "x"); err == nil {
		t.Fatal("Call with the wrong response type: no error")
	}
	failing := func(context.Context, any) (any, error) { return nil, kitshop.NewError(kitshop.CodeNotFound, "gone") }
	if _, err := Call[string](context.Background(), failing, "x"); !errors.Is(err, kitshop.NewError(kitshop.CodeNotFound, "")) {
		t.Fatalf("Call lost the error: %v", err)
	}
	if _, err := Assert[int]("x"); kitshop.AsError(err).Code != kitshop.CodeInternal {
		t.Fatalf("Assert of the wrong type: %v", err)
	}
	if v, err := Assert[string]("x"); err != nil || v != "x" {
		t.Fatalf("Assert: %q, %v", v, err)
	}
}

func TestClientEndpointDirect(t *testing.T) {
	ids := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids <- r.Header.Get(RequestIDHeader)
		if r.URL.Path == "/v1/missing" {
			EncodeError(r.Context(), kitshop.NewError(kitshop.CodeNotFound, "missing"), w)
			return
		}
		_ = WriteJSON(w, 200, map[string]string{"path": r.URL.Path})
	}))
	defer srv.Close()
	c := NewPooledHTTPClient()
	defer c.CloseIdleConnections()
	e := ClientEndpoint(Direct(srv.URL), c,
		func(ctx context.Context, base string, request any) (*http.Request, error) {
			return NewRequest(ctx, http.MethodGet, base, request.(string), nil, nil, nil)
		},
		func(_ context.Context, resp *http.Response) (any, error) {
			return DecodeJSONResponse[map[string]string](resp)
		})
	ctx := WithRequestID(context.Background(), "rid-9")
	got, err := Call[map[string]string](ctx, e, "/v1/here")
	if err != nil || got["path"] != "/v1/here" {
		t.Fatalf("call: %v %v", got, err)
	}
	if id := <-ids; id != "rid-9" {
		t.Fatalf("server saw request id %q", id)
	}
	_, err = Call[map[string]string](ctx, e, "/v1/missing")
	if !errors.Is(err, kitshop.NewError(kitshop.CodeNotFound, "")) || IsFailure(err) {
		t.Fatalf("404 across the wire: %v", err)
	}
}
