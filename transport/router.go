package transport

import (
	"net/http"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// Router is a Go 1.22 ServeMux whose own answers (no route, wrong method)
// are the contract's JSON errors: 404 not_found, and 405 method_not_allowed
// with the Allow header the mux computed.
type Router struct {
	mux      *http.ServeMux
	patterns []string
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{mux: http.NewServeMux()} }

// Handle registers h for a ServeMux pattern such as "GET /v1/users/{id}".
func (rt *Router) Handle(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, h)
	rt.patterns = append(rt.patterns, pattern)
}

// HandleFunc registers f for a ServeMux pattern.
func (rt *Router) HandleFunc(pattern string, f http.HandlerFunc) { rt.Handle(pattern, f) }

// Routes lists the patterns registered, in registration order, so tests can
// hold the API description and the served routes to each other.
func (rt *Router) Routes() []string { return append([]string(nil), rt.patterns...) }

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := rt.mux.Handler(r)
	if pattern != "" {
		noteRoute(r.Context(), pattern)
		rt.mux.ServeHTTP(w, r)
		return
	}
	// No pattern matched: let the mux's own handler say why (404, 405 with
	// Allow, or a redirect to the clean path), then answer in JSON.
	probe := &probeWriter{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		EncodeError(r.Context(), kitshop.NewError(kitshop.CodeMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path), w)
	case http.StatusNotFound:
		EncodeError(r.Context(), kitshop.NewError(kitshop.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path), w)
	default:
		rt.mux.ServeHTTP(w, r)
	}
}

// probeWriter captures what a handler would answer, writing nothing.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *probeWriter) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}
