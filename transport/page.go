package transport

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strconv"
	"strings"

	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// PageRequest is a decoded ?limit=&cursor= pair. After is the last ID of the
// previous page ("" for the first page).
type PageRequest struct {
	Limit int
	After string
}

// DecodePage reads limit and cursor from r's query. limit must be 1..500
// (default 50); cursor must be one that c issued for list.
func (c *Cursors) DecodePage(r *http.Request, list string) (PageRequest, error) {
	q := r.URL.Query()
	p := PageRequest{Limit: kitshop.DefaultPageLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > kitshop.MaxPageLimit {
			return p, kitshop.InvalidArgument("limit", "must be an integer from 1 to %d", kitshop.MaxPageLimit)
		}
		p.Limit = n
	}
	if cur := q.Get("cursor"); cur != "" {
		after, ok := c.Decode(list, cur)
		if !ok {
			return p, kitshop.InvalidArgument("cursor", "is not a cursor this service issued for this list")
		}
		p.After = after
	}
	return p, nil
}

// Cursors signs the cursors of a service's lists, so that a client can
// neither make one up nor carry one from one list to another: each cursor
// holds the ID it points after and an HMAC-SHA256 (truncated to 128 bits)
// of that ID and the list it was issued for, under a key derived from
// SERVICE_SECRET. Every instance of a service, given the same secret,
// accepts the others' cursors.
type Cursors struct{ key []byte }

// cursorKeyLabel derives the cursor key from the service secret, so that
// the secret itself signs nothing else's way.
const cursorKeyLabel = "kitshop cursor v1"

// NewCursors derives the cursor key from secret.
func NewCursors(secret string) *Cursors {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(cursorKeyLabel))
	return &Cursors{key: m.Sum(nil)}
}

// cursorPrefix starts every cursor: its format's version.
const cursorPrefix = "c2"

// cursorMACSize is the length of the truncated MAC in a cursor.
const cursorMACSize = 16

// Encode makes the opaque cursor of list pointing after the item with id;
// "" for "" (the last page has no next cursor). list names the list and
// everything that selects its items ("orders", "orders?user_id=U").
func (c *Cursors) Encode(list, id string) string {
	if id == "" {
		return ""
	}
	raw := append(c.mac(list, id), id...)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// Decode returns the ID a cursor of list points after, and whether the
// cursor is one Encode made for that list with this key. Only the exact
// text Encode makes is accepted: base64 decoding alone ignores line breaks
// and the low bits of the last character, which would let other spellings
// of a cursor through.
func (c *Cursors) Decode(list, cursor string) (string, bool) {
	b64, ok := strings.CutPrefix(cursor, cursorPrefix)
	if !ok {
		return "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) <= cursorMACSize {
		return "", false
	}
	sum, id := raw[:cursorMACSize], string(raw[cursorMACSize:])
	if !hmac.Equal(sum, c.mac(list, id)) || c.Encode(list, id) != cursor {
		return "", false
	}
	return id, true
}

// mac signs list and id, the list's length first so that no two pairs
// sign the same bytes.
func (c *Cursors) mac(list, id string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(binary.AppendUvarint(nil, uint64(len(list))))
	m.Write([]byte(list))
	m.Write([]byte(id))
	return m.Sum(nil)[:cursorMACSize]
}

// listKey holds, in a request's context, the name of the list it reads.
type listKey struct{}

// ListOf is the server option of a list route: name says which list a
// request reads (its route and every filter that selects its items), so
// that Page and Next sign and check cursors for that list alone.
func ListOf(name func(r *http.Request) string) httptransport.ServerOption {
	return httptransport.ServerBefore(func(ctx context.Context, r *http.Request) context.Context {
		return context.WithValue(ctx, listKey{}, name(r))
	})
}

// ListNamed is ListOf for a list without filters.
func ListNamed(name string) httptransport.ServerOption {
	return ListOf(func(*http.Request) string { return name })
}

func listName(ctx context.Context) string {
	name, _ := ctx.Value(listKey{}).(string)
	return name
}

// Next is the cursor after id of the list a route with ListOf serves.
func (c *Cursors) Next(ctx context.Context, id string) string {
	return c.Encode(listName(ctx), id)
}
