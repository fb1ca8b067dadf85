package transport

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// instrumented is a router of test routes behind Instrument, logging as
// JSON into sink and observing into reg.
func instrumented(sink *logSink, reg *prometheus.Registry) http.Handler {
	rt := NewRouter()
	rt.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		_ = WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "request_id": RequestID(r.Context())})
	})
	rt.HandleFunc("GET /v1/broken", func(w http.ResponseWriter, r *http.Request) {
		EncodeError(r.Context(), kitshop.Internal(errors.New("db exploded at /var/lib/db")), w)
	})
	rt.HandleFunc("GET /v1/panic", func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	})
	rt.HandleFunc("GET /v1/panic-error", func(w http.ResponseWriter, r *http.Request) {
		panic(fmt.Errorf("nil map in %s", "handler"))
	})
	rt.HandleFunc("GET /v1/panic-late", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"partial":`)
		w.(http.Flusher).Flush()
		panic("late boom")
	})
	rt.HandleFunc("GET /v1/abort", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	rt.HandleFunc("GET /v1/silent", func(w http.ResponseWriter, r *http.Request) {})
	var m *HTTPMetrics
	if reg != nil {
		m = NewHTTPMetrics(reg)
	}
	return Instrument(rt, log.NewJSONLogger(sink), m)
}

func get(h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		for _, s := range v {
			r.Header.Add(k, s)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestInstrumentRequestID(t *testing.T) {
	h := instrumented(&logSink{}, nil)
	long := strings.Repeat("a", maxRequestIDLen)
	for _, tc := range []struct {
		name, given string
		kept        bool
	}{
		{"absent", "", false},
		{"given", "req-123_ABC.x", true},
		{"longest kept", long, true},
		{"too long", long + "a", false},
		{"space", "has space", false},
		{"newline", "a\nlevel=error", false},
		{"control", "abc\x7f", false},
		{"non-ASCII", "ünïcode", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			if tc.given != "" {
				header[RequestIDHeader] = []string{tc.given}
			}
			rec := get(h, "/v1/things/1", header)
			got := rec.Header().Get(RequestIDHeader)
			if tc.kept && got != tc.given {
				t.Fatalf("response request ID %q, want the given %q", got, tc.given)
			}
			if !tc.kept && !generatedID.MatchString(got) {
				t.Fatalf("response request ID %q, want a generated one", got)
			}
			if !strings.Contains(rec.Body.String(), `"request_id":"`+got+`"`) {
				t.Fatalf("handler saw another request ID than %q: %s", got, rec.Body)
			}
		})
	}
	a := get(h, "/v1/things/1", nil).Header().Get(RequestIDHeader)
	b := get(h, "/v1/things/1", nil).Header().Get(RequestIDHeader)
	if a == b {
		t.Fatalf("two requests got the same generated ID %q", a)
	}
}

func TestInstrumentAccessLog(t *testing.T) {
	sink := &logSink{}
	h := instrumented(sink, nil)
	rec := get(h, "/v1/things/42", http.Header{RequestIDHeader: {"rid-1"}})
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	lines := sink.Records(t)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %s", len(lines), sink)
	}
	l := lines[0]
	want := map[string]any{"request_id": "rid-1", "method": "GET", "route": "GET /v1/things/{id}",
		"path": "/v1/things/42", "status": float64(200), "level": "info"}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("log %s = %v, want %v (line %v)", k, l[k], v, l)
		}
	}
	d, err := time.ParseDuration(fmt.Sprint(l["duration"]))
	if err != nil || d < 0 {
		t.Errorf("log duration %v: %v", l["duration"], err)
	}
	if _, ok := l["err"]; ok {
		t.Errorf("a 200 logged an error: %v", l)
	}
}

func TestInstrumentLogsStatusOfEveryAnswer(t *testing.T) {
	for _, tc := range []struct {
		target, route string
		status        int
	}{
		{"/v1/silent", "GET /v1/silent", 200}, // nothing written means 200
		{"/v1/nothing", "unmatched", 404},
		{"/v1/broken", "GET /v1/broken", 500},
	} {
		sink := &logSink{}
		rec := get(instrumented(sink, nil), tc.target, nil)
		lines := sink.Records(t)
		if rec.Code != tc.status || len(lines) != 1 {
			t.Fatalf("GET %s: %d with %d log lines", tc.target, rec.Code, len(lines))
		}
		if lines[0]["route"] != tc.route || lines[0]["status"] != float64(tc.status) {
			t.Errorf("GET %s: logged %v", tc.target, lines[0])
		}
	}
}

func TestInstrumentLogsInternalCauseButDoesNotSendIt(t *testing.T) {
	sink := &logSink{}
	rec := get(instrumented(sink, nil), "/v1/broken", nil)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "exploded") {
		t.Fatalf("response %d %s", rec.Code, rec.Body)
	}
	l := sink.Records(t)[0]
	if l["level"] != "error" || !strings.Contains(fmt.Sprint(l["err"]), "db exploded") {
		t.Fatalf("log line %v lacks the cause", l)
	}
}

func TestInstrumentRecoversPanic(t *testing.T) {
	for target, wantErr := range map[string]string{"/v1/panic": "panic: boom", "/v1/panic-error": "panic: nil map in handler"} {
		sink := &logSink{}
		rec := get(instrumented(sink, nil), target, nil)
		if rec.Code != 500 {
			t.Fatalf("GET %s: status %d", target, rec.Code)
		}
		if got := errorResponse(t, rec); got["code"] != "internal" || got["message"] != "internal error" {
			t.Errorf("GET %s: error %v", target, got)
		}
		if rec.Header().Get(RequestIDHeader) == "" {
			t.Errorf("GET %s: no request ID on the 500", target)
		}
		lines := sink.Records(t)
		if len(lines) != 1 {
			t.Fatalf("GET %s: %d log lines", target, len(lines))
		}
		if lines[0]["status"] != float64(500) || lines[0]["level"] != "error" || !strings.HasSuffix(fmt.Sprint(lines[0]["err"]), wantErr) {
			t.Errorf("GET %s: logged %v", target, lines[0])
		}
	}
}

// A panic after the status line went out cannot become a 500: the client
// must see the response fail (connection aborted), not a truncated 200, and
// the request is still logged once, as an error.
func TestInstrumentPanicAfterHeadersAbortsAndLogs(t *testing.T) {
	for target, wantErr := range map[string]string{
		"/v1/panic-late": "panic: late boom",
		"/v1/abort":      "panic: " + http.ErrAbortHandler.Error(),
	} {
		t.Run(target, func(t *testing.T) {
			sink := &logSink{}
			srv := httptest.NewServer(instrumented(sink, nil))
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL + target)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Fatalf("GET %s: the response looked complete", target)
			}
			eventually(t, 5*time.Second, "access log line written", func() bool { return strings.Contains(sink.String(), target) })
			lines := sink.Records(t)
			if len(lines) != 1 {
				t.Fatalf("%d log lines: %s", len(lines), sink)
			}
			if lines[0]["level"] != "error" || lines[0]["err"] != wantErr || lines[0]["route"] != "GET "+target {
				t.Errorf("logged %v", lines[0])
			}
		})
	}
}

func TestInstrumentObservesDuration(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := instrumented(&logSink{}, reg)
	get(h, "/v1/things/1", nil)
	get(h, "/v1/things/2", nil)
	get(h, "/v1/broken", nil)
	get(h, "/v1/no/such/route/a", nil)
	get(h, "/v1/no/such/route/b", nil)

	// One series per route pattern and status, whatever the paths were.
	if n := testutil.CollectAndCount(reg, "http_request_duration_seconds"); n != 3 {
		t.Fatalf("%d series, want 3", n)
	}
	want := map[string]uint64{
		"GET|GET /v1/things/{id}|200": 2,
		"GET|GET /v1/broken|500":      1,
		"GET|unmatched|404":           2,
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "http_request_duration_seconds" || f.GetType() != dto.MetricType_HISTOGRAM {
			t.Fatalf("unexpected family %s %s", f.GetName(), f.GetType())
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			key := labels["method"] + "|" + labels["route"] + "|" + labels["code"]
			if got := m.GetHistogram().GetSampleCount(); got != want[key] {
				t.Errorf("series %s: %d observations, want %d", key, got, want[key])
			}
			delete(want, key)
		}
	}
	if len(want) != 0 {
		t.Errorf("series missing: %v", want)
	}
}
