package transport

import (
	"net/http"
	"sync/atomic"
)

// Drain is a server's draining state: once started, the server's GET
// /readyz answers 503 {"status":"unavailable","reason":"draining"}, its
// answers close their connections (no keep-alive), and every other request
// is served as before. A load balancer or a discovery that probes
// readiness stops sending new work, clients holding pooled connections
// open new ones elsewhere, and nothing in flight is cut. It is safe for
// concurrent use.
type Drain struct{ on atomic.Bool }

// NewDrain returns a Drain not yet started.
func NewDrain() *Drain { return &Drain{} }

// Start begins draining srv, the server whose handler is d.Handler; it
// may be called more than once.
func (d *Drain) Start(srv *http.Server) {
	d.on.Store(true)
	srv.SetKeepAlivesEnabled(false)
}

// Draining tells whether Start was called.
func (d *Drain) Draining() bool { return d.on.Load() }

// Handler answers /readyz with 503 while draining and passes everything
// else, and /readyz before the drain, to next.
func (d *Drain) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.on.Load() && r.URL.Path == "/readyz" && r.Method == http.MethodGet {
			_ = WriteJSON(w, http.StatusServiceUnavailable,
				map[string]string{"status": "unavailable", "reason": "draining"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
