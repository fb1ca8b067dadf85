package transport

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// maxSeries bounds http_request_duration_seconds whatever the clients send:
// the known methods and "other", the router's patterns and "unmatched", the
// known codes and "other".
func maxSeries() int { return (len(knownMethods) + 1) * 8 * (len(knownCodes) + 1) }

func serveWith(h http.Handler, method, target string) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Method, r.URL.Path, r.RequestURI = method, target, target
	h.ServeHTTP(httptest.NewRecorder(), r)
}

func TestMetricsLabelsStayBoundedUnderInventedMethodsAndPaths(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := instrumented(&logSink{}, reg)
	for i := 0; i < 2000; i++ {
		n := strconv.Itoa(i)
		serveWith(h, "M"+n, "/v1/things/"+n)
		serveWith(h, http.MethodGet, "/invented/"+n)
	}
	if n := testutil.CollectAndCount(reg, "http_request_duration_seconds"); n > 4 {
		t.Fatalf("%d series after 2000 invented methods and paths, want at most 4", n)
	}
	if got := testutil.ToFloat64(observations(reg, "other")); got != 2000 {
		t.Fatalf(`%v observations with method="other", want 2000`, got)
	}
}

func TestBoundedLabelValues(t *testing.T) {
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": "other", "BREW": "other", "": "other"} {
		if got := methodLabel(in); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int]string{200: "200", 431: "431", 503: "503", 299: "other", 999: "other", 0: "other"} {
		if got := codeLabel(in); got != want {
			t.Errorf("codeLabel(%d) = %q, want %q", in, got, want)
		}
	}
}

// observations returns a counter of the observations with method's label.
func observations(reg *prometheus.Registry, method string) prometheus.Collector {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "n"})
	families, _ := reg.Gather()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["method"] == method {
				c.Add(float64(m.GetHistogram().GetSampleCount()))
			}
		}
	}
	return c
}

func FuzzMetricsLabels(f *testing.F) {
	reg := prometheus.NewRegistry()
	h := instrumented(&logSink{}, reg)
	f.Fuzz(func(t *testing.T, method, path string) {
		if method == "" || path == "" || path[0] != '/' {
			return
		}
		serveWith(h, method, path)
		if n := testutil.CollectAndCount(reg, "http_request_duration_seconds"); n > maxSeries() {
			t.Fatalf("%d series, more than the %d the label sets allow", n, maxSeries())
		}
		families, _ := reg.Gather()
		for _, f := range families {
			for _, m := range f.GetMetric() {
				for _, lp := range m.GetLabel() {
					v := lp.GetValue()
					switch lp.GetName() {
					case "method":
						if v != "other" && methodLabel(v) != v {
							t.Fatalf("method label %q", v)
						}
					case "code":
						if v != "other" && !knownCodes[v] {
							t.Fatalf("code label %q", v)
						}
					}
				}
			}
		}
	})
}
