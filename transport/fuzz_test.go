package transport

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// checkDecodeError asserts what every decoding failure must be: an *kitshop.Error
// of a status the contract allows for a bad body, whose 400 message names a
// field.
func checkDecodeError(t *testing.T, err error) *kitshop.Error {
	t.Helper()
	e, ok := err.(*kitshop.Error)
	if !ok {
		t.Fatalf("error %v (%T) is not a *kitshop.Error", err, err)
	}
	switch Status(e) {
	case http.StatusBadRequest:
		if e.Code != kitshop.CodeInvalidArgument {
			t.Fatalf("400 with code %q", e.Code)
		}
		field, _, found := strings.Cut(e.Message, ": ")
		if !found || field == "" {
			t.Fatalf("400 message %q names no field", e.Message)
		}
	case http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
	default:
		t.Fatalf("decoding failed with status %d: %v", Status(e), e)
	}
	return e
}

// checkAccepted asserts that an accepted body was one JSON value and that
// what was decoded survives a round trip.
func checkAccepted(t *testing.T, data []byte, v *orderLike) {
	t.Helper()
	if !json.Valid(data) {
		t.Fatalf("accepted invalid JSON %q", data)
	}
	// Accepted bytes are valid UTF-8 as sent, never silently replaced.
	if !utf8.Valid(data) {
		t.Fatalf("accepted invalid UTF-8 %q", data)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", v, err)
	}
	var w orderLike
	if err := UnmarshalStrict(again, &w); err != nil {
		t.Fatalf("re-decode %s: %v", again, err)
	}
	if !reflect.DeepEqual(*v, w) {
		t.Fatalf("round trip changed %+v into %+v", *v, w)
	}
}

func FuzzUnmarshalStrict(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var v orderLike
		if err := UnmarshalStrict(data, &v); err != nil {
			if e := checkDecodeError(t, err); e.Code != kitshop.CodeInvalidArgument {
				t.Fatalf("UnmarshalStrict failed with %v", e)
			}
			return
		}
		checkAccepted(t, data, &v)
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		// What the contract says about the Content-Type, independently.
		isJSON := true
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			isJSON = err == nil && mt == "application/json"
		}
		var v orderLike
		err := DecodeJSON(r, &v)
		if err == nil {
			if !isJSON {
				t.Fatalf("accepted Content-Type %q", contentType)
			}
			checkAccepted(t, body, &v)
			return
		}
		e := checkDecodeError(t, err)
		if (e.Code == kitshop.CodeUnsupportedMediaType) == isJSON {
			t.Fatalf("Content-Type %q: %v", contentType, e)
		}
		if e.Code == kitshop.CodePayloadTooLarge && len(body) <= MaxBodyBytes {
			t.Fatalf("%d bytes called too large", len(body))
		}
	})
}

// FuzzDecodeCursor feeds the decoder any text: seeds in
// testdata/fuzz/FuzzDecodeCursor hold cursors of today's format, of the old
// CRC32 format, and ones signed for other lists or with other keys.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor("usr_1"))
	f.Add(testCursors.Encode("products", "prd_1"))
	f.Add(NewCursors("another secret, also 32 bytes long!").Encode("users", "usr_1"))
	f.Fuzz(func(t *testing.T, s string) {
		// As a cursor: accepted only if it is exactly what we would issue.
		if id, ok := DecodeCursor(s); ok {
			if id == "" || EncodeCursor(id) != s {
				t.Fatalf("accepted %q (id %q), but we issue %q", s, id, EncodeCursor(id))
			}
		}
		// As an ID: every cursor we issue decodes back to it.
		if s != "" {
			if id, ok := DecodeCursor(EncodeCursor(s)); !ok || id != s {
				t.Fatalf("EncodeCursor(%q) decodes to %q, %v", s, id, ok)
			}
		}
	})
}
