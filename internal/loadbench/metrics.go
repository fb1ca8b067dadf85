package loadbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// histogram is a Prometheus histogram's cumulative buckets: upper bound
// (seconds) to count.
type histogram map[float64]float64

// scrapeHistogram reads the buckets of the http_request_duration_seconds
// series of a service whose labels include every one of match
// (`code="503"`, say).
func scrapeHistogram(ctx context.Context, client *http.Client, baseURL string, match ...string) (histogram, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics: status %d", baseURL, resp.StatusCode)
	}
	return parseHistogram(resp.Body, "http_request_duration_seconds", match...)
}

// parseHistogram reads name's buckets from Prometheus text format, summed
// over the series whose labels include every one of match.
func parseHistogram(r io.Reader, name string, match ...string) (histogram, error) {
	h := histogram{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prefix := name + "_bucket{"
	for sc.Scan() {
		line := sc.Text()
		labels, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		end := strings.LastIndexByte(labels, '}')
		if end < 0 {
			continue
		}
		labels, value := labels[:end], strings.TrimSpace(labels[end+1:])
		if !hasAll(labels, match) {
			continue
		}
		_, le, ok := strings.Cut(labels, `le="`)
		if !ok {
			continue
		}
		le, _, _ = strings.Cut(le, `"`)
		bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
		if err != nil {
			return nil, fmt.Errorf("bucket bound %q: %w", le, err)
		}
		count, err := strconv.ParseFloat(strings.Fields(value + " 0")[0], 64)
		if err != nil {
			return nil, fmt.Errorf("bucket count %q: %w", value, err)
		}
		h[bound] += count
	}
	return h, sc.Err()
}

func hasAll(labels string, match []string) bool {
	for _, m := range match {
		if !strings.Contains(labels, m) {
			return false
		}
	}
	return true
}

// minus is the histogram of what was observed between an earlier scrape
// and h.
func (h histogram) minus(earlier histogram) histogram {
	out := histogram{}
	for b, n := range h {
		out[b] = n - earlier[b]
	}
	return out
}

// ServerSide is what a service's own request histogram says about a
// window: how many answers it observed and which fraction took at most
// 0.5 ms and 1 ms, and the smallest bucket bound holding 99% of them (an
// upper bound of its p99, as the service measured it: from the request's
// arrival in the handler to its last byte handed to the kernel).
type ServerSide struct {
	Count       float64 `json:"count"`
	Within500us float64 `json:"fraction_within_0_5ms"`
	Within1ms   float64 `json:"fraction_within_1ms"`
	P99AtMost   Millis  `json:"p99_at_most_ms"`
}

// serverSide sums up a window's histogram.
func (h histogram) serverSide() ServerSide {
	bounds := make([]float64, 0, len(h))
	for b := range h {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	var s ServerSide
	if len(bounds) == 0 {
		return s
	}
	s.Count = h[bounds[len(bounds)-1]] // the +Inf bucket counts all
	if s.Count <= 0 {
		return s
	}
	s.Within500us = h[0.0005] / s.Count
	s.Within1ms = h[0.001] / s.Count
	for _, b := range bounds {
		if h[b] >= 0.99*s.Count {
			if !math.IsInf(b, 1) {
				s.P99AtMost = Millis(b * 1e9)
			} else {
				s.P99AtMost = Millis(math.MaxInt64)
			}
			break
		}
	}
	return s
}
