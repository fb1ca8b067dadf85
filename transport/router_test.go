package transport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/prometheus/client_golang/prometheus"
)

func thingsRouter() *Router {
	rt := NewRouter()
	rt.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		_ = WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	rt.HandleFunc("POST /v1/things", func(w http.ResponseWriter, r *http.Request) {
		_ = WriteJSON(w, http.StatusCreated, map[string]string{"id": "new"})
	})
	rt.HandleFunc("DELETE /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return rt
}

func serve(h http.Handler, method, target string, body io.Reader) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, body))
	return rec
}

func TestRouterMatches(t *testing.T) {
	rec := serve(thingsRouter(), http.MethodGet, "/v1/things/abc", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"abc"`) {
		t.Fatalf("GET /v1/things/abc: %d %s", rec.Code, rec.Body)
	}
	rec = serve(thingsRouter(), http.MethodPost, "/v1/things", strings.NewReader("{}"))
	if rec.Code != 201 {
		t.Fatalf("POST /v1/things: %d %s", rec.Code, rec.Body)
	}
}

func TestRouterNotFoundIsJSON(t *testing.T) {
	for _, target := range []string{"/", "/v1/nothing", "/v1/thing", "/v1/things/a/b", "/v1/things/"} {
		rec := serve(thingsRouter(), http.MethodGet, target, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", target, rec.Code)
			continue
		}
		if got := errorResponse(t, rec); got["code"] != "not_found" || got["message"] == "" {
			t.Errorf("GET %s: error %v", target, got)
		}
	}
}

func TestRouterMethodNotAllowed(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		allow          []string
	}{
		{http.MethodPut, "/v1/things", []string{"POST"}},
		{http.MethodGet, "/v1/things", []string{"POST"}},
		{http.MethodPost, "/v1/things/abc", []string{"DELETE", "GET", "HEAD"}},
		{http.MethodPatch, "/v1/things/abc", []string{"DELETE", "GET", "HEAD"}},
	} {
		rec := serve(thingsRouter(), tc.method, tc.target, nil)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d", tc.method, tc.target, rec.Code)
			continue
		}
		allow := rec.Header().Get("Allow")
		for _, m := range tc.allow {
			if !strings.Contains(allow, m) {
				t.Errorf("%s %s: Allow %q lacks %s", tc.method, tc.target, allow, m)
			}
		}
		if strings.Contains(allow, tc.method) {
			t.Errorf("%s %s: Allow %q offers the refused method", tc.method, tc.target, allow)
		}
		if got := errorResponse(t, rec); got["code"] != "method_not_allowed" {
			t.Errorf("%s %s: error %v", tc.method, tc.target, got)
		}
	}
}

func TestRouterRedirectsUncleanPaths(t *testing.T) {
	rec := serve(thingsRouter(), http.MethodGet, "/v1//things/abc", nil)
	if rec.Code/100 != 3 || rec.Header().Get("Location") != "/v1/things/abc" {
		t.Fatalf("GET /v1//things/abc: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestHandleOps(t *testing.T) {
	reg := prometheus.NewRegistry()
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "kitshop_test_total", Help: "test"})
	reg.MustRegister(counter)
	counter.Add(3)

	var readyErr error
	var readyDeadline time.Duration
	rt := NewRouter()
	HandleOps(rt, func(ctx context.Context) (map[string]any, error) {
		if dl, ok := ctx.Deadline(); ok {
			readyDeadline = time.Until(dl)
		}
		return map[string]any{"dependencies": map[string]any{"user": map[string]string{"state": "closed"}}}, readyErr
	}, reg)

	rec := serve(rt, http.MethodGet, "/healthz", nil)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Fatalf("/healthz: %d %s", rec.Code, rec.Body)
	}

	rec = serve(rt, http.MethodGet, "/readyz", nil)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 || body["status"] != "ok" || body["dependencies"] == nil {
		t.Fatalf("/readyz ready: %d %s", rec.Code, rec.Body)
	}
	if readyDeadline <= 0 || readyDeadline > readyTimeout {
		t.Errorf("ready check ran with deadline %s away, want within %s", readyDeadline, readyTimeout)
	}

	readyErr = errors.New("database is locked: /var/lib/secret.db")
	rec = serve(rt, http.MethodGet, "/readyz", nil)
	body = nil
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 503 || body["status"] != "unavailable" || body["dependencies"] == nil {
		t.Fatalf("/readyz not ready: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("/readyz leaks the internal error: %s", rec.Body)
	}
	readyErr = kitshop.NewError(kitshop.CodeInternal, "database unavailable")
	if rec = serve(rt, http.MethodGet, "/readyz", nil); rec.Code != 503 || !strings.Contains(rec.Body.String(), "database unavailable") {
		t.Fatalf("/readyz not ready: %d %s", rec.Code, rec.Body)
	}

	rec = serve(rt, http.MethodGet, "/metrics", nil)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") ||
		!strings.Contains(rec.Body.String(), "# TYPE kitshop_test_total counter") ||
		!strings.Contains(rec.Body.String(), "kitshop_test_total 3") {
		t.Fatalf("/metrics: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}

	if rec = serve(rt, http.MethodPost, "/healthz", nil); rec.Code != 405 {
		t.Errorf("POST /healthz: %d", rec.Code)
	}
}

func TestFinish(t *testing.T) {
	rt := NewRouter()
	var sawDeadline bool
	rt.HandleFunc("GET /v1/slow", func(w http.ResponseWriter, r *http.Request) {
		dl, ok := r.Context().Deadline()
		sawDeadline = ok && time.Until(dl) <= time.Second
		w.WriteHeader(http.StatusNoContent)
	})
	// Zero Ops: every part has a default.
	h := Finish(rt, Ops{Timeout: time.Second})
	if rec := serve(h, http.MethodGet, "/v1/slow", nil); rec.Code != 204 || !sawDeadline {
		t.Fatalf("GET /v1/slow: %d, deadline seen %v", rec.Code, sawDeadline)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		rec := serve(h, http.MethodGet, path, nil)
		if rec.Code != 200 || rec.Header().Get(RequestIDHeader) == "" {
			t.Errorf("GET %s: %d, request id %q", path, rec.Code, rec.Header().Get(RequestIDHeader))
		}
	}
}
