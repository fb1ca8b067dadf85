package resilience

// HTTP fixtures for the integration tests: a JSON server, the go-kit HTTP
// client endpoint factory a service would write, and toxiproxy in-process.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/kitshop/kitshop/transport"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// thingServer serves GET /things/{id}; its answer is set by mode.
type thingServer struct {
	*httptest.Server
	mode atomic.Value // "ok", "404", "500", "503"
	hits atomic.Int64
}

func newThingServer(t *testing.T) *thingServer {
	ts := &thingServer{}
	ts.mode.Store("ok")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		ts.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch ts.mode.Load() {
		case "404":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"code":"not_found","message":"no such thing"}}`)
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"code":"internal","message":"internal error"}}`)
		case "503":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"code":"dependency_unavailable","message":"busy"}}`)
		default:
			fmt.Fprintf(w, `{"id":%q}`, r.PathValue("id"))
		}
	})
	ts.Server = httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

type thing struct {
	ID string `json:"id"`
}

// thingClient is the endpoint factory a service's HTTP client would be: go-kit's
// HTTP client that turns non-2xx answers into *kitshop.Error.
func thingClient(t *testing.T) func(instance string) endpoint.Endpoint {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(client.CloseIdleConnections)
	return func(instance string) endpoint.Endpoint {
		target, err := url.Parse(instance + "/things/t1")
		if err != nil {
			t.Fatalf("instance %q: %v", instance, err)
		}
		noBody := func(context.Context, *http.Request, any) error { return nil }
		return httptransport.NewClient(http.MethodGet, target, noBody, decodeThing,
			httptransport.SetClient(client)).Endpoint()
	}
}

func decodeThing(_ context.Context, resp *http.Response) (any, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, transport.DecodeErrorBody(resp)
	}
	var th thing
	if err := json.NewDecoder(resp.Body).Decode(&th); err != nil {
		return nil, fmt.Errorf("decoding thing: %w", err)
	}
	return th, nil
}

// newProxy starts an in-process toxiproxy to upstream (a URL) on a free
// loopback port, stopped at the end of the test.
func newProxy(t *testing.T, upstream string) *toxiproxy.Proxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, t.Name(), "127.0.0.1:0", u.Host)
	if err := p.Start(); err != nil {
		t.Fatalf("starting toxiproxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

func proxyURL(p *toxiproxy.Proxy) string { return "http://" + p.Listen }

func addToxic(t *testing.T, p *toxiproxy.Proxy, name, typ, stream string, attrs string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"attributes":%s}`, name, typ, stream, attrs)
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
		t.Fatalf("adding toxic %s: %v", name, err)
	}
}

func removeToxic(t *testing.T, p *toxiproxy.Proxy, name string) {
	t.Helper()
	if err := p.Toxics.RemoveToxic(context.Background(), name); err != nil {
		t.Fatalf("removing toxic %s: %v", name, err)
	}
}
