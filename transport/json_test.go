package transport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// orderLike is a request with the shapes the services decode: strings,
// integers, a pointer and a list of nested objects.
type orderLike struct {
	UserID string  `json:"user_id"`
	Note   *string `json:"note"`
	Count  *int    `json:"count"`
	Items  []struct {
		ProductID string `json:"product_id"`
		Quantity  int    `json:"quantity"`
	} `json:"items"`
}

func jsonRequest(body, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/orders", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestDecodeJSONContentType(t *testing.T) {
	for _, tc := range []struct {
		contentType string
		ok          bool
	}{
		{"", true}, // missing Content-Type is read as JSON
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON; charset=UTF-8", true},
		{"text/plain", false},
		{"text/json", false},
		{"application/x-www-form-urlencoded", false},
		{"multipart/form-data; boundary=x", false},
		{"application/jsonp", false},
		{"application/json+x", false},
		{"not a media type;;;", false},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			var v orderLike
			err := DecodeJSON(jsonRequest(`{"user_id":"usr_1"}`, tc.contentType), &v)
			if tc.ok {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				if v.UserID != "usr_1" {
					t.Fatalf("decoded %+v", v)
				}
				return
			}
			e := asError(t, err, kitshop.CodeUnsupportedMediaType, http.StatusUnsupportedMediaType)
			if !strings.Contains(e.Message, "application/json") {
				t.Errorf("message %q does not say what is wanted", e.Message)
			}
		})
	}
}

// bodyOfSize returns a valid JSON object of exactly n bytes.
func bodyOfSize(n int) string {
	const head, tail = `{"user_id":"`, `"}`
	return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
}

func TestDecodeJSONSizeLimit(t *testing.T) {
	var v orderLike
	exact := bodyOfSize(MaxBodyBytes)
	if len(exact) != MaxBodyBytes {
		t.Fatalf("test body is %d bytes", len(exact))
	}
	if err := DecodeJSON(jsonRequest(exact, "application/json"), &v); err != nil {
		t.Fatalf("body of exactly %d bytes: %v", MaxBodyBytes, err)
	}
	if len(v.UserID) != MaxBodyBytes-14 {
		t.Fatalf("decoded user_id of %d bytes", len(v.UserID))
	}
	// One byte more, even harmless whitespace, is too large.
	for name, body := range map[string]string{
		"one byte over":   exact + " ",
		"valid but large": bodyOfSize(MaxBodyBytes + 1),
		"two MiB":         bodyOfSize(2 * MaxBodyBytes),
	} {
		t.Run(name, func(t *testing.T) {
			err := DecodeJSON(jsonRequest(body, "application/json"), &orderLike{})
			asError(t, err, kitshop.CodePayloadTooLarge, http.StatusRequestEntityTooLarge)
		})
	}
}

func TestDecodeJSONInvalidArgument(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		field      string // the message must start with it
	}{
		{"empty body", ``, "body"},
		{"only whitespace", " \n\t ", "body"},
		{"malformed", `{"user_id":`, "body"},
		{"not JSON", `user_id=1`, "body"},
		{"unknown field", `{"user_id":"u","bogus":1}`, "bogus"},
		{"unknown empty key", `{"":"x"}`, `""`},
		{"unknown nested field", `{"items":[{"product_id":"p","colour":"red"}]}`, "colour"},
		{"wrong type string", `{"user_id":5}`, "user_id"},
		{"wrong type pointer", `{"count":"five"}`, "count"},
		{"wrong type list", `{"items":{"product_id":"p"}}`, "items"},
		// encoding/json reports nested paths without the index.
		{"wrong type nested", `{"items":[{"product_id":"p","quantity":1},{"product_id":"q","quantity":"2"}]}`, "items.quantity"},
		{"fraction for integer", `{"items":[{"quantity":1.5}]}`, "items.quantity"},
		{"integer overflow", `{"items":[{"quantity":1e400}]}`, "items.quantity"},
		{"array at top", `[{"user_id":"u"}]`, "body"},
		{"string at top", `"user_id"`, "body"},
		{"trailing object", `{"user_id":"u"} {"user_id":"v"}`, "body"},
		{"trailing garbage", `{"user_id":"u"}x`, "body"},
		{"trailing brace", `{"user_id":"u"}}`, "body"},
		{"trailing bracket", `{"user_id":"u"}]`, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v orderLike
			err := DecodeJSON(jsonRequest(tc.body, "application/json"), &v)
			e := asError(t, err, kitshop.CodeInvalidArgument, http.StatusBadRequest)
			if !strings.HasPrefix(e.Message, tc.field+": ") {
				t.Errorf("message %q does not name %q", e.Message, tc.field)
			}
		})
	}
}

func TestDecodeJSONTypeMessages(t *testing.T) {
	for body, want := range map[string]string{
		`{"user_id":5}`:                   "user_id: must be of type string, not number",
		`{"count":"five"}`:                "count: must be of type integer, not string",
		`{"items":[{"quantity":true}]}`:   "items.quantity: must be of type integer, not bool",
		`{"items":"none"}`:                "items: must be of type array, not string",
		`{"items":[{"product_id":[1]}]}`:  "items.product_id: must be of type string, not array",
		`[]`:                              "body: must be of type object, not array",
		`{"user_id":"u","user_id":"v"} 1`: "body: must hold exactly one JSON value",
	} {
		var v orderLike
		err := UnmarshalStrict([]byte(body), &v)
		if err == nil || err.(*kitshop.Error).Message != want {
			t.Errorf("UnmarshalStrict(%s) = %v, want message %q", body, err, want)
		}
	}
}

func TestDecodeJSONAcceptsSurroundingWhitespaceAndNull(t *testing.T) {
	var v orderLike
	if err := DecodeJSON(jsonRequest("\n {\"user_id\":\"u\",\"items\":[{\"product_id\":\"p\",\"quantity\":2}]} \r\n", ""), &v); err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	if v.UserID != "u" || len(v.Items) != 1 || v.Items[0].Quantity != 2 {
		t.Fatalf("decoded %+v", v)
	}
	var n orderLike
	if err := UnmarshalStrict([]byte("null"), &n); err != nil {
		t.Fatalf("null: %v", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeJSONUnreadableBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(failingReader{}))
	err := DecodeJSON(r, &orderLike{})
	e := asError(t, err, kitshop.CodeInvalidArgument, http.StatusBadRequest)
	if strings.Contains(e.Message, "reset") {
		t.Errorf("message %q leaks the read error", e.Message)
	}
}

func TestEncodeJSONResponse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		response any
		status   int
		body     string
	}{
		{"plain", map[string]int{"a": 1}, 200, `{"a":1}` + "\n"},
		{"created", Created{Body: map[string]string{"id": "x"}}, 201, `{"id":"x"}` + "\n"},
		{"no content", NoContent{}, 204, ""},
		{"empty list", NewListBody[int](nil, ""), 200, `{"items":[],"next_cursor":""}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := EncodeJSONResponse(context.Background(), rec, tc.response); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			if tc.status != 204 && rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
	rec := httptest.NewRecorder()
	if err := EncodeJSONResponse(context.Background(), rec, map[string]any{"f": func() {}}); err == nil {
		t.Fatal("unencodable response: no error")
	}
	var probe map[string]any
	if rec.Body.Len() > 0 && json.Unmarshal(rec.Body.Bytes(), &probe) != nil {
		t.Fatalf("half a body written: %q", rec.Body.String())
	}
}
