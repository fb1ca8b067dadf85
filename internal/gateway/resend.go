package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/cenkalti/backoff/v4"

	"github.com/kitshop/kitshop/transport"
)

// When the gateway sends a request again, to another instance (or the same
// one, if it is the only one), after an attempt that got no answer:
//
//   - the attempt never left the gateway (the connection could not be
//     made: refused, no route, dial timeout; or every breaker refused, which
//     the balancer handles before any attempt): any request, whatever its
//     method, since no instance saw it;
//   - the request is safe to repeat: GET, HEAD, OPTIONS or TRACE, or it
//     carries an Idempotency-Key on a route whose service keeps the first
//     answer under the key (POST /v1/orders: a repeat returns the first
//     order, or 409 request_in_progress while it is being made). These
//     are the rules net/http applies to its own retries, except that a key
//     counts only where our services honour it.
//
// Any other request that may have reached an instance (reset or closed
// after it was written, no answer in time) is never sent again: the client
// gets the 502 or 503 it got before the gateway balanced, and decides.
//
// A resend needs the body again. It is kept as it streams to the first
// attempt (sharedBody), for requests that may be resent after it was read,
// and up to transport.MaxBodyBytes, the most any service accepts; a larger
// body is not resent. Requests that may be resent only if they never left
// keep nothing: their body is still unread when that happens.

// proxyCall is one proxied request on its way through the resilience
// chain: the request as the ReverseProxy made it, and what its attempts
// share.
type proxyCall struct {
	req *http.Request
	// repeatable: the request may be sent again after it may have reached
	// an instance.
	repeatable bool
	// body is nil when the request has none.
	body *sharedBody
}

func newProxyCall(req *http.Request, keyed bool) *proxyCall {
	c := &proxyCall{req: req, repeatable: repeatable(req, keyed)}
	if req.Body != nil && req.Body != http.NoBody {
		c.body = &sharedBody{src: req.Body, keep: c.repeatable}
	}
	return c
}

// repeatable tells whether req is safe to send twice: see the rules above.
func repeatable(req *http.Request, keyed bool) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return keyed && req.Header.Get("Idempotency-Key") != ""
}

// outgoing is the request of one attempt, on the instance at target: a
// shallow copy of the proxied request with its own URL, context and body
// reader. Only a repeatable request gets GetBody, so that net/http's own
// retries on a dead pooled connection stay within the rules above.
func (c *proxyCall) outgoing(ctx context.Context, target *url.URL) (*http.Request, error) {
	out := c.req.WithContext(ctx)
	u := *c.req.URL
	out.URL = &u
	(&httputil.ProxyRequest{Out: out}).SetURL(target)
	out.GetBody = nil
	if c.body != nil {
		body, err := c.body.open()
		if err != nil {
			return nil, &attemptError{err: err, sent: true}
		}
		out.Body = body
		if c.repeatable {
			out.GetBody = c.body.open
		}
	}
	return out, nil
}

// failed turns an attempt's transport error into the attempt's result: an
// *attemptError, wrapped in backoff.Permanent when the request must not be
// sent again.
func (c *proxyCall) failed(err error) error {
	e := &attemptError{err: err, sent: !neverSent(err)}
	if (e.sent && !c.repeatable) || (c.body != nil && !c.body.resendable()) {
		return backoff.Permanent(e)
	}
	return e
}

// attemptError is an attempt that got no answer from its instance.
type attemptError struct {
	err error
	// sent: the request may have reached the instance.
	sent bool
}

func (e *attemptError) Error() string {
	if !e.sent {
		return "not sent: " + e.err.Error()
	}
	return e.err.Error()
}

func (e *attemptError) Unwrap() error { return e.err }

// neverSent tells whether a transport error means the request never left
// the gateway: the connection to the instance could not be made.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// isAttemptFailure is the backends' Settings.IsFailure. An attempt returns
// an error only when no answer came, and that is the instance's failure,
// except when the body could not be sent again (errBodyGone), which is
// nobody's: it is returned as it is, not retried and not counted.
func isAttemptFailure(err error) bool { return !errors.Is(err, errBodyGone) }

// brokeOff tells whether err, a proxied request's failure, means that the
// last attempt reached an instance and got no whole answer, though not for
// want of time: the instance may have acted on the request (502). Every
// other failure is 503: never sent, refused by every breaker, no instance,
// or too slow.
func brokeOff(err error) bool {
	var e *attemptError
	if !errors.As(err, &e) || !e.sent {
		return false
	}
	var netErr net.Error
	timedOut := errors.Is(e.err, context.DeadlineExceeded) || (errors.As(e.err, &netErr) && netErr.Timeout())
	return !timedOut
}

// errBodyGone is a resend whose body was partly read past what was kept.
var errBodyGone = errors.New("the request body was sent in part and not kept: it cannot be sent again")

// errBodyClosed is a read of an attempt's body after that attempt closed it.
var errBodyClosed = errors.New("read of a closed request body")

// sharedBody lets the attempts of one request each read its body from the
// start: the first reads it from the client, keeping what it reads when
// keep is set (up to maxKeptBody); a later one reads what was kept, then
// the rest from the client. net/http may go on reading an attempt's body
// after that attempt returned (its write loop), so reads are serialised,
// and a closed reader only stops reading: the client's body belongs to the
// server, which closes it.
type sharedBody struct {
	src  io.Reader
	keep bool
	// srcMu is held while reading src, which may block for as long as the
	// client takes; mu only for the state below, so that resendable
	// never waits for the client.
	srcMu  sync.Mutex
	mu     sync.Mutex
	kept   []byte
	read   int   // bytes read from src
	srcErr error // src's last error (io.EOF at its end), for every reader that gets there
}

// maxKeptBody is the most of a body kept for a resend: the largest body a
// service accepts. A service refuses a larger one anyway.
const maxKeptBody = transport.MaxBodyBytes

// resendable tells whether a new reader could still read the whole body:
// nothing was read from the client yet, or all of it was kept.
func (s *sharedBody) resendable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read == len(s.kept)
}

// open returns a reader of the whole body, from its start.
func (s *sharedBody) open() (io.ReadCloser, error) {
	if !s.resendable() {
		return nil, errBodyGone
	}
	return &bodyReader{s: s}, nil
}

// bodyReader is one attempt's reader of a sharedBody.
type bodyReader struct {
	s      *sharedBody
	off    int // bytes this reader returned
	closed atomic.Bool
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, errBodyClosed
	}
	s := r.s
	if n, done, err := s.fromKept(r, p); done {
		return n, err
	}
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	// Another reader may have read on while this one waited.
	if n, done, err := s.fromKept(r, p); done {
		return n, err
	}
	n, err := s.src.Read(p)
	s.mu.Lock()
	s.read += n
	if s.keep && s.read <= maxKeptBody {
		s.kept = append(s.kept, p[:n]...)
	}
	if err != nil {
		s.srcErr = err
	}
	s.mu.Unlock()
	r.off += n
	return n, err
}

// fromKept serves r from what was kept, or from the end the client's body
// already reached; done is false when r must read on from the client.
func (s *sharedBody) fromKept(r *bodyReader, p []byte) (n int, done bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.off < len(s.kept):
		n = copy(p, s.kept[r.off:])
		r.off += n
		return n, true, nil
	case r.off != s.read:
		return 0, true, errBodyGone
	case s.srcErr != nil:
		return 0, true, s.srcErr
	}
	return 0, false, nil
}

// Close ends this reader only.
func (r *bodyReader) Close() error {
	r.closed.Store(true)
	return nil
}
