package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// RequestIDHeader carries the request ID on every request and response.
const RequestIDHeader = "X-Request-ID"

// IdempotencyKeyHeader carries a client's idempotency key: a repeat of a
// request with the same key gets the first answer and changes nothing more.
const IdempotencyKeyHeader = "Idempotency-Key"

// requestIDHeaderKey is RequestIDHeader as http.Header stores it. Indexing the
// header map with it is what Header.Get and Header.Set do after
// canonicalising the name, which for this name costs an allocation per
// call: every request reads it once and writes it once or twice.
var requestIDHeaderKey = http.CanonicalHeaderKey(RequestIDHeader)

// maxRequestIDLen bounds an inbound request ID; a longer one, or one with
// characters outside printable ASCII, is replaced by a fresh ID so that logs
// cannot be forged or flooded through the header.
const maxRequestIDLen = 128

type requestIDKey struct{}

// WithRequestID returns a context carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request ID carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a random 16-byte hex ID.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestIDFrom returns the inbound request's ID if it is usable, else a new one.
func requestIDFrom(r *http.Request) string {
	var id string
	if v := r.Header[requestIDHeaderKey]; len(v) > 0 {
		id = v[0]
	}
	if id == "" || len(id) > maxRequestIDLen {
		return NewRequestID()
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return NewRequestID()
		}
	}
	return id
}

// PropagateRequestID is a go-kit ClientBefore function: it copies the request
// ID of ctx onto an outgoing request, so one ID follows a request through
// every service it touches.
func PropagateRequestID(ctx context.Context, r *http.Request) context.Context {
	if id := RequestID(ctx); id != "" {
		r.Header[requestIDHeaderKey] = []string{id}
	}
	return ctx
}
