package transport

import (
	"encoding/base64"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

const cursorAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// testCursors signs as a service whose SERVICE_SECRET is testSecret.
var testCursors = NewCursors(testSecret)

const testSecret = "0123456789abcdef0123456789abcdef"

// EncodeCursor and DecodeCursor are the users list's, under testCursors.
func EncodeCursor(id string) string                   { return testCursors.Encode("users", id) }
func DecodeCursor(c string) (string, bool)            { return testCursors.Decode("users", c) }
func DecodePage(r *http.Request) (PageRequest, error) { return testCursors.DecodePage(r, "users") }

func TestCursorRoundTrip(t *testing.T) {
	for _, id := range []string{"usr_01jd3k5x0r8f3m4c8q9w2e7t6y", "a", "with.dots.in.it", "ünï cödé/?&=", strings.Repeat("x", 300)} {
		c := EncodeCursor(id)
		if c != url.QueryEscape(c) {
			t.Errorf("cursor %q needs escaping in a query", c)
		}
		got, ok := DecodeCursor(c)
		if !ok || got != id {
			t.Errorf("DecodeCursor(EncodeCursor(%q)) = %q, %v", id, got, ok)
		}
	}
}

// forge builds a cursor the way the unkeyed CRC32 cursors were made: what
// anyone could compute from a payload of their choosing.
func forge(payload string, sum uint32) string {
	return base64.RawURLEncoding.EncodeToString([]byte(payload + "." + strconv.FormatUint(uint64(sum), 36)))
}

// forgeMAC builds a cursor in today's format whose MAC is not ours.
func forgeMAC(id string) string {
	raw := append(make([]byte, cursorMACSize), id...)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// A cursor is good for the list and the secret it was issued under, and
// nothing else: a made-up one, another list's, another filter's, another
// secret's are all 400 invalid_argument naming cursor.
func TestCursorsAreBoundToListAndSecret(t *testing.T) {
	other := NewCursors("another secret, also 32 bytes long!")
	for name, tc := range map[string]struct{ list, cursor string }{
		"CRC-style forgery":        {"users", forge("c1.usr_1", crc32.ChecksumIEEE([]byte("c1.usr_1")))},
		"wrong MAC":                {"users", forgeMAC("usr_1")},
		"users cursor on products": {"products", testCursors.Encode("users", "usr_1")},
		"another user's orders":    {"orders?user_id=usr_b", testCursors.Encode("orders?user_id=usr_a", "ord_1")},
		"from a different secret":  {"users", other.Encode("users", "usr_1")},
	} {
		_, err := testCursors.DecodePage(pageRequest("cursor="+tc.cursor), tc.list)
		e := asError(t, err, kitshop.CodeInvalidArgument, http.StatusBadRequest)
		if !strings.HasPrefix(e.Message, "cursor: ") {
			t.Errorf("%s: message %q does not name cursor", name, e.Message)
		}
	}
	// The same secret, in another instance, accepts the cursor.
	if id, ok := NewCursors(testSecret).Decode("orders?user_id=usr_a", testCursors.Encode("orders?user_id=usr_a", "ord_1")); !ok || id != "ord_1" {
		t.Fatalf("another instance decodes %q, %v", id, ok)
	}
}

// A handler with list routes cannot be built without a cursor key.
func TestListCursorsAreRequired(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("ListCursors of Ops without Cursors did not panic")
		}
	}()
	Ops{}.ListCursors()
}

func TestDecodeCursorRejectsMadeUpCursors(t *testing.T) {
	for name, c := range map[string]string{
		"empty":               "",
		"plain id":            "usr_01jd3k5x0r8f3m4c8q9w2e7t6y",
		"number":              "50",
		"not base64":          "!!!",
		"padded":              EncodeCursor("usr_1") + "=",
		"std alphabet":        base64.StdEncoding.EncodeToString([]byte("c1.usr_1.abc")),
		"no checksum":         base64.RawURLEncoding.EncodeToString([]byte("c1.usr_1")),
		"wrong checksum":      forge("c1.usr_1", crc32.ChecksumIEEE([]byte("c1.usr_2"))),
		"other version":       forge("c2.usr_1", crc32.ChecksumIEEE([]byte("c2.usr_1"))),
		"no version":          forge("usr_1", crc32.ChecksumIEEE([]byte("usr_1"))),
		"empty id":            forge("c1.", crc32.ChecksumIEEE([]byte("c1."))),
		"with whitespace":     " " + EncodeCursor("usr_1"),
		"two cursors":         EncodeCursor("usr_1") + EncodeCursor("usr_2"),
		"checksum in decimal": base64.RawURLEncoding.EncodeToString([]byte("c1.usr_1." + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte("c1.usr_1"))), 10))),
	} {
		if id, ok := DecodeCursor(c); ok {
			t.Errorf("%s: DecodeCursor(%q) accepted, id %q", name, c, id)
		}
	}
}

func TestDecodeCursorRejectsTruncatedCursors(t *testing.T) {
	c := EncodeCursor("usr_01jd3k5x0r8f3m4c8q9w2e7t6y")
	for n := 0; n < len(c); n++ {
		if id, ok := DecodeCursor(c[:n]); ok {
			t.Errorf("truncated to %d: accepted, id %q", n, id)
		}
		if id, ok := DecodeCursor(c[n:]); ok && n > 0 {
			t.Errorf("first %d characters cut: accepted, id %q", n, id)
		}
	}
}

// Any change to any character of an issued cursor makes it one we did not
// issue, including the last, whose low bits base64 would otherwise ignore.
func TestDecodeCursorRejectsTamperedCursors(t *testing.T) {
	for _, id := range []string{"usr_01jd3k5x0r8f3m4c8q9w2e7t6y", "prd_01jd3k5x0r8f3m4c8q9w2e7t6z", "ab"} {
		c := EncodeCursor(id)
		for i := 0; i < len(c); i++ {
			for _, r := range cursorAlphabet {
				if byte(r) == c[i] {
					continue
				}
				tampered := c[:i] + string(r) + c[i+1:]
				if got, ok := DecodeCursor(tampered); ok {
					t.Errorf("cursor %q tampered at %d to %q: accepted, id %q", c, i, tampered, got)
				}
			}
		}
	}
}

func pageRequest(query string) *http.Request {
	return httptest.NewRequest(http.MethodGet, "/v1/things?"+query, nil)
}

func TestDecodePage(t *testing.T) {
	cursor := EncodeCursor("usr_1")
	for _, tc := range []struct {
		query string
		want  PageRequest
	}{
		{"", PageRequest{Limit: kitshop.DefaultPageLimit}},
		{"limit=", PageRequest{Limit: kitshop.DefaultPageLimit}},
		{"limit=1", PageRequest{Limit: 1}},
		{"limit=500", PageRequest{Limit: 500}},
		{"limit=7&cursor=" + cursor, PageRequest{Limit: 7, After: "usr_1"}},
		{"cursor=" + cursor, PageRequest{Limit: kitshop.DefaultPageLimit, After: "usr_1"}},
		{"cursor=", PageRequest{Limit: kitshop.DefaultPageLimit}},
	} {
		got, err := DecodePage(pageRequest(tc.query))
		if err != nil || got != tc.want {
			t.Errorf("DecodePage(%q) = %+v, %v; want %+v", tc.query, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ query, field string }{
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=-1", "limit"},
		{"limit=abc", "limit"},
		{"limit=1.5", "limit"},
		{"limit=1e2", "limit"},
		{"limit=99999999999999999999", "limit"},
		{"cursor=abc", "cursor"},
		{"cursor=" + cursor[:len(cursor)-2], "cursor"},
		{"limit=5&cursor=usr_1", "cursor"},
	} {
		_, err := DecodePage(pageRequest(tc.query))
		e := asError(t, err, kitshop.CodeInvalidArgument, http.StatusBadRequest)
		if !strings.HasPrefix(e.Message, tc.field+": ") {
			t.Errorf("DecodePage(%q): message %q does not name %s", tc.query, e.Message, tc.field)
		}
	}
}

func TestNewListBodyAndPageQuery(t *testing.T) {
	b := NewListBody([]string{"a"}, EncodeCursor("usr_9"))
	if after, ok := DecodeCursor(b.NextCursor); !ok || after != "usr_9" {
		t.Fatalf("next_cursor %q decodes to %q, %v", b.NextCursor, after, ok)
	}
	if b := NewListBody([]string{"a"}, ""); b.NextCursor != "" {
		t.Fatalf("last page has next_cursor %q", b.NextCursor)
	}
	q := PageQuery(EncodeCursor("usr_9"), 20)
	got, err := DecodePage(pageRequest(q.Encode()))
	if err != nil || got != (PageRequest{Limit: 20, After: "usr_9"}) {
		t.Fatalf("PageQuery round trip: %+v, %v", got, err)
	}
	if q := PageQuery("", 5); q.Has("cursor") || q.Get("limit") != "5" {
		t.Fatalf("first page query %v", q)
	}
}
