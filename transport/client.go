package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// Endpointer turns a per-instance endpoint factory into one endpoint that
// spreads calls over a dependency's instances. *resilience.Dependency is
// the production one (balancing, breakers, retries, timeouts); Direct is the
// bare one for a single instance.
type Endpointer interface {
	Endpoint(factory func(instance string) endpoint.Endpoint) endpoint.Endpoint
}

// Direct is an Endpointer for one instance with no middleware at all.
type Direct string

// Endpoint implements Endpointer.
func (d Direct) Endpoint(factory func(instance string) endpoint.Endpoint) endpoint.Endpoint {
	return factory(string(d))
}

// NewPooledHTTPClient returns the *http.Client every service-to-service call uses:
// connections are kept alive and reused (enough idle ones per host for a
// busy caller), dials and TLS handshakes are bounded. There is no overall
// client timeout: each call's context carries its deadline.
func NewPooledHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// ParseInstances splits a comma-separated list of base URLs and checks each.
func ParseInstances(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("instance url %q: want http://host:port", s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no instance urls in %q", list)
	}
	return out, nil
}

// buildRequest makes an outgoing JSON request carrying ctx's request ID;
// the URL is parsed once, by http.NewRequestWithContext.
func buildRequest(ctx context.Context, method, target string, payload any, header http.Header) (*http.Request, error) {
	var body io.Reader
	if payload != nil {
		data, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	// Without GetBody, net/http cannot silently re-send a request with a
	// body (one carrying an Idempotency-Key, say) when a reused connection
	// dies: every attempt is one the retry middleware decided and counted,
	// so a call never reaches the server more than RETRY_MAX_ATTEMPTS times.
	req.GetBody = nil
	for k, v := range header {
		req.Header[k] = v
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	PropagateRequestID(ctx, req)
	return req, nil
}

// DecodeJSONResponse is the one way clients read an answer: a 2xx body is
// decoded into a new T (nothing for 204); any other status becomes the
// *kitshop.Error the server sent (see DecodeErrorBody).
func DecodeJSONResponse[T any](resp *http.Response) (T, error) {
	var out T
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, DecodeErrorBody(resp)
	}
	if resp.StatusCode == http.StatusNoContent {
		return out, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&out); err != nil {
		return out, fmt.Errorf("decode %d response: %w", resp.StatusCode, err)
	}
	return out, nil
}

// Call runs one request through an explicit go-kit client endpoint and
// asserts the response type, so callers keep a typed API.
func Call[Resp any](ctx context.Context, e endpoint.Endpoint, req any) (Resp, error) {
	var zero Resp
	out, err := e(ctx, req)
	if err != nil {
		return zero, err
	}
	resp, ok := out.(Resp)
	if !ok {
		return zero, fmt.Errorf("endpoint returned %T, want %T", out, zero)
	}
	return resp, nil
}

// Assert is the checked type assertion of a go-kit endpoint's request: a
// request of the wrong type is an internal error, never a panic.
func Assert[T any](request any) (T, error) {
	req, ok := request.(T)
	if !ok {
		var zero T
		return zero, kitshop.Internal(fmt.Errorf("endpoint got request %T, want %T", request, zero))
	}
	return req, nil
}

// ClientEndpoint builds one method's client endpoint over instances: for each
// instance, a go-kit HTTP client that makes its request with create (given
// the instance's base URL) and reads the answer with decode.
func ClientEndpoint(instances Endpointer, c *http.Client,
	create func(ctx context.Context, base string, request any) (*http.Request, error),
	decode func(ctx context.Context, resp *http.Response) (any, error),
	opts ...ClientOption,
) endpoint.Endpoint {
	var cfg clientConfig
	for _, o := range opts {
		o(&cfg)
	}
	opt := httptransport.SetClient(c)
	return instances.Endpoint(func(instance string) endpoint.Endpoint {
		mk := func(ctx context.Context, request any) (*http.Request, error) {
			req, err := create(ctx, instance, request)
			if err != nil || cfg.token == nil {
				return req, err
			}
			token, err := cfg.token(ctx)
			if err != nil {
				return nil, fmt.Errorf("access token: %w", err)
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return req, nil
		}
		return httptransport.NewExplicitClient(mk, decode, opt).Endpoint()
	})
}

// ClientOption configures the library clients (each service's
// NewHTTPClient).
type ClientOption func(*clientConfig)

type clientConfig struct {
	token func(ctx context.Context) (string, error)
}

// WithTokenSource makes every call carry "Authorization: Bearer <token>",
// the token coming from source at each attempt: a fixed access token from
// POST /v1/sessions, or auth.ServiceTokenSource for a service calling
// another. "" sends none.
func WithTokenSource(source func(ctx context.Context) (string, error)) ClientOption {
	return func(c *clientConfig) { c.token = source }
}

// WithToken makes every call carry the access token token.
func WithToken(token string) ClientOption {
	return WithTokenSource(func(context.Context) (string, error) { return token, nil })
}

// NewRequest makes a request to path on the instance at base, with an
// optional query, JSON body and headers, carrying ctx's request ID. The URL
// is put together as text and parsed once: every service-to-service call
// comes through here.
func NewRequest(ctx context.Context, method, base, path string, query url.Values, body any, header http.Header) (*http.Request, error) {
	target := strings.TrimRight(base, "/") + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	return buildRequest(ctx, method, target, body, header)
}

// PageQuery is the query of a list call: limit, and cursor. Through the
// HTTP clients a list's after and next are the service's opaque, signed
// cursors: only the service can read or make one, so a client passes back
// the next it was given.
func PageQuery(cursor string, limit int) url.Values {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return q
}

// DecodeListResponse reads a list body back into items and the cursor of
// the next page ("" on the last page).
func DecodeListResponse[T any](resp *http.Response) ([]T, string, error) {
	body, err := DecodeJSONResponse[ListBody[T]](resp)
	if err != nil {
		return nil, "", err
	}
	return body.Items, body.NextCursor, nil
}

// Chain composes endpoint middleware, the first outermost, into one; with
// none it is the identity. Every service's NewEndpointSet uses it.
func Chain(mw ...endpoint.Middleware) endpoint.Middleware {
	return func(e endpoint.Endpoint) endpoint.Endpoint {
		for i := len(mw) - 1; i >= 0; i-- {
			e = mw[i](e)
		}
		return e
	}
}
