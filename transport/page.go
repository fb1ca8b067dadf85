package transport

import (
	"encoding/base64"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// PageRequest is a decoded ?limit=&cursor= pair. After is the last ID of the
// previous page ("" for the first page).
type PageRequest struct {
	Limit int
	After string
}

// DecodePage reads limit and cursor from r's query. limit must be 1..500
// (default 50); cursor must be one that EncodeCursor issued.
func DecodePage(r *http.Request) (PageRequest, error) {
	q := r.URL.Query()
	p := PageRequest{Limit: kitshop.DefaultPageLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > kitshop.MaxPageLimit {
			return p, kitshop.InvalidArgument("limit", "must be an integer from 1 to %d", kitshop.MaxPageLimit)
		}
		p.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		after, ok := DecodeCursor(c)
		if !ok {
			return p, kitshop.InvalidArgument("cursor", "is not a cursor this service issued")
		}
		p.After = after
	}
	return p, nil
}

// cursorVersion prefixes every cursor so their format can change later.
const cursorVersion = "c1"

// EncodeCursor makes an opaque cursor pointing after the item with id.
// A checksum lets DecodeCursor reject cursors we did not issue (mistyped,
// truncated, or made up).
func EncodeCursor(id string) string {
	payload := cursorVersion + "." + id
	sum := crc32.ChecksumIEEE([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload + "." + strconv.FormatUint(uint64(sum), 36)))
}

// DecodeCursor returns the ID a cursor points after, and whether the cursor
// is well formed. Only the exact text EncodeCursor makes is accepted: base64
// decoding alone ignores line breaks and the low bits of the last character,
// which would let other spellings of a cursor through.
func DecodeCursor(c string) (string, bool) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return "", false
	}
	s := string(raw)
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 {
		return "", false
	}
	payload, sum := s[:dot], s[dot+1:]
	if strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(payload))), 36) != sum {
		return "", false
	}
	id, ok := strings.CutPrefix(payload, cursorVersion+".")
	if !ok || id == "" || EncodeCursor(id) != c {
		return "", false
	}
	return id, true
}
