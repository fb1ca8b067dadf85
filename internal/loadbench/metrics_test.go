package loadbench

import (
	"math"
	"strings"
	"testing"
	"time"
)

const sampleMetrics = `# HELP http_request_duration_seconds Duration of HTTP requests served.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{code="503",method="POST",route="POST /v1/orders",le="0.0005"} 900
http_request_duration_seconds_bucket{code="503",method="POST",route="POST /v1/orders",le="0.001"} 995
http_request_duration_seconds_bucket{code="503",method="POST",route="POST /v1/orders",le="0.0025"} 1000
http_request_duration_seconds_bucket{code="503",method="POST",route="POST /v1/orders",le="+Inf"} 1000
http_request_duration_seconds_bucket{code="201",method="POST",route="POST /v1/orders",le="0.0005"} 7
http_request_duration_seconds_bucket{code="201",method="POST",route="POST /v1/orders",le="+Inf"} 9
http_request_duration_seconds_sum{code="503",method="POST",route="POST /v1/orders"} 0.4
`

func TestParseHistogramAndServerSide(t *testing.T) {
	h, err := parseHistogram(strings.NewReader(sampleMetrics), "http_request_duration_seconds", `code="503"`, `route="POST /v1/orders"`)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 4 || h[0.001] != 995 {
		t.Fatalf("buckets %v", h)
	}
	earlier := histogram{0.0005: 100, 0.001: 100, 0.0025: 100}
	earlier[math.Inf(1)] = 100
	ss := h.minus(earlier).serverSide()
	if ss.Count != 900 || ss.Within500us != 800.0/900 || ss.Within1ms != 895.0/900 {
		t.Fatalf("server side %+v", ss)
	}
	// 895/900 = 99.4% within 1ms: the p99 is at most 1ms.
	if time.Duration(ss.P99AtMost) != time.Millisecond {
		t.Fatalf("p99 at most %v, want 1ms", time.Duration(ss.P99AtMost))
	}
	if empty := (histogram{}).serverSide(); empty.Count != 0 {
		t.Fatalf("empty %+v", empty)
	}
}
