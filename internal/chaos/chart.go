package chaos

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartW      = 960
	chartLeft   = 100
	chartRight  = 20
	plotW       = chartW - chartLeft - chartRight
	okTop       = 50
	okH         = 150
	bandTop     = okTop + okH + 30
	bandH       = 16
	latTop      = bandTop + 2*(bandH+6) + 30
	latH        = 200
	chartH      = latTop + latH + 60
	latMinMs    = 0.1
	latMaxMsMin = 1000.0
)

var stateColors = []string{"#4caf50", "#ff9800", "#e53935"} // closed, half-open, open

// chartSVG draws the timeline of r as a self-contained SVG: success rate and
// p50/p99 latency per bucket, ordersvc's breaker states as sampled, and the
// fault and heal moments.
func chartSVG(r *Report) string {
	end := 0.0
	if n := len(r.Timeline); n > 0 {
		end = float64(r.Timeline[n-1].At) + float64(r.BucketSize)
	}
	end = max(end, 1)
	x := func(m Millis) float64 { return chartLeft + plotW*float64(m)/end }
	maxLat := latMaxMsMin
	for _, b := range r.Timeline {
		maxLat = max(maxLat, ms(b.P99))
	}
	maxLat = math.Pow(10, math.Ceil(math.Log10(maxLat)))
	yLat := func(v float64) float64 {
		v = min(max(v, latMinMs), maxLat)
		f := (math.Log10(v) - math.Log10(latMinMs)) / (math.Log10(maxLat) - math.Log10(latMinMs))
		return latTop + latH*(1-f)
	}
	yOK := func(pct float64) float64 { return okTop + okH*(1-pct/100) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL: " + strings.Join(r.FailedChecks(), "; ")
	}
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14" font-weight="bold">%s — %s</text>`+"\n", chartLeft, esc(r.Experiment), esc(verdict))
	desc := r.Description
	if len(desc) > 110 {
		desc = desc[:107] + "..."
	}
	fmt.Fprintf(&b, `<text x="%d" y="36" fill="#555">%s; %d req/s; bucket %s</text>`+"\n",
		chartLeft, esc(desc), r.Rate, fmtDur(r.BucketSize.D()))

	// Panels and grids.
	panel(&b, okTop, okH, "success %")
	for _, pct := range []float64{0, 50, 90, 100} {
		y := yOK(pct)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n",
			chartLeft, chartLeft+plotW, y, y, chartLeft-6, y+4, pct)
	}
	panel(&b, latTop, latH, "latency (ms, log)")
	for v := latMinMs; v <= maxLat*1.001; v *= 10 {
		y := yLat(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n",
			chartLeft, chartLeft+plotW, y, y, chartLeft-6, y+4, v)
	}
	for t := 0.0; t <= end; t += float64(tickStep(time.Duration(end))) {
		xx := x(Millis(t))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>`, xx, xx, latTop+latH, latTop+latH+4)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%gs</text>`+"\n", xx, latTop+latH+16, math.Round(t/1e8)/10)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">time since start (s)</text>`+"\n", chartLeft+plotW/2, latTop+latH+32)

	// Breaker bands.
	for i, dep := range []string{"user", "product"} {
		y := bandTop + i*(bandH+6)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s breaker</text>`+"\n", chartLeft-6, y+12, dep)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#bbb"/>`+"\n", chartLeft, y, plotW, bandH)
		for j, s := range r.Samples {
			if !s.OK || s.At < 0 {
				continue
			}
			next := Millis(end)
			if j+1 < len(r.Samples) {
				next = r.Samples[j+1].At
			}
			state, ok := s.Breaker[dep]
			if !ok || state < 0 || state > 2 || s.At >= Millis(end) {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.2f" height="%d" fill="%s"/>`+"\n",
				x(s.At), y, max(x(min(next, Millis(end)))-x(s.At), 0.5), bandH, stateColors[state])
		}
	}

	// Series.
	var okPts, p50Pts, p99Pts []string
	flush := func(pts *[]string, color string, width float64) {
		if len(*pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%g" points="%s"/>`+"\n", color, width, strings.Join(*pts, " "))
			*pts = nil
		}
	}
	for _, bk := range r.Timeline {
		if bk.Requests == 0 { // a gap, not a zero
			flush(&okPts, "#1e88e5", 2)
			flush(&p50Pts, "#1e88e5", 1.5)
			flush(&p99Pts, "#e53935", 1.5)
			continue
		}
		cx := x(bk.At + r.BucketSize/2)
		okPts = append(okPts, fmt.Sprintf("%.1f,%.1f", cx, yOK(bk.SuccessPct)))
		p50Pts = append(p50Pts, fmt.Sprintf("%.1f,%.1f", cx, yLat(ms(bk.P50))))
		p99Pts = append(p99Pts, fmt.Sprintf("%.1f,%.1f", cx, yLat(ms(bk.P99))))
	}
	flush(&okPts, "#1e88e5", 2)
	flush(&p50Pts, "#1e88e5", 1.5)
	flush(&p99Pts, "#e53935", 1.5)

	// Events.
	for _, e := range r.Events {
		color, dash := "#888", "2,3"
		switch e.Name {
		case "fault":
			color, dash = "#e53935", "6,3"
		case "healed":
			color, dash = "#43a047", "6,3"
		case "heal", "re-drive", "settled":
			continue
		}
		xx := x(e.At)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-dasharray="%s"/>`+"\n",
			xx, xx, okTop, latTop+latH, color, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="%s" transform="rotate(-90 %.1f %d)" text-anchor="end">%s</text>`+"\n",
			xx+4, okTop+4, color, xx+4, okTop+4, esc(e.Name))
	}

	// Legend.
	ly := chartH - 14
	items := []struct{ color, label string }{
		{"#1e88e5", "success % / p50"}, {"#e53935", "p99"},
		{stateColors[0], "closed"}, {stateColors[1], "half-open"}, {stateColors[2], "open"}, {"#bbb", "no sample"},
	}
	for i, it := range items {
		lx := chartLeft + i*130
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			lx, ly-10, it.color, lx+16, ly, esc(it.label))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func panel(b *strings.Builder, top, h int, label string) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", chartLeft, top, plotW, h)
	fmt.Fprintf(b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`+"\n",
		top+h/2, top+h/2, esc(label))
}

// tickStep is a time-axis step giving at most about 20 ticks.
func tickStep(total time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute} {
		if total/s <= 20 {
			return s
		}
	}
	return 5 * time.Minute
}

func ms(m Millis) float64 { return float64(m) / float64(time.Millisecond) }

func esc(s string) string { return html.EscapeString(s) }
