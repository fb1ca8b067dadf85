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
	okTop       = 96
	okH         = 150
	bandTop     = okTop + okH + 30
	bandH       = 16
	latTop      = bandTop + 2*(bandH+6) + 30
	latH        = 200
	legendTop   = latTop + latH + 48
	chartH      = legendTop + 3*18 + 8
	latMinMs    = 0.1
	latMaxMsMin = 1000.0
)

// Colours: each series its own, the breaker states as a traffic light.
var stateColors = []string{"#4caf50", "#ff9800", "#e53935"} // closed, half-open, open

const (
	colorSuccess   = "#1e88e5" // success %
	colorOKLat     = "#00897b" // latency of successful answers
	colorFailedLat = "#8e24aa" // latency of 503s and other failures
	colorFault     = "#e53935"
	colorHeal      = "#43a047"
	colorHalfOpen  = "#ef6c00"
	colorBound     = "#1b5e20"
	colorRecovered = "#1e88e5"
)

// chart is what the drawing needs: the report, the scales and the output.
type chart struct {
	r      *Report
	b      *strings.Builder
	end    float64 // ms since the load started at the right edge
	maxLat float64 // ms at the top of the latency panel
}

// chartSVG draws the timeline of r as a self-contained SVG: success rate
// per bucket of answers, ordersvc's breaker states as sampled, the latency
// of successful and of failed answers apart, the fault and heal moments and
// the bounds the checks hold them to, and a legend.
func chartSVG(r *Report) string {
	c := newChart(r)
	c.header()
	c.axes()
	c.breakerBands()
	c.series()
	c.markers()
	c.legend()
	c.b.WriteString("</svg>\n")
	return c.b.String()
}

func newChart(r *Report) *chart {
	c := &chart{r: r, b: &strings.Builder{}, maxLat: latMaxMsMin}
	if n := len(r.Timeline); n > 0 {
		c.end = float64(r.Timeline[n-1].At) + float64(r.BucketSize)
	}
	c.end = max(c.end, 1)
	for _, b := range r.Timeline {
		c.maxLat = max(c.maxLat, ms(b.OKP99), ms(b.FailedP99))
	}
	c.maxLat = math.Pow(10, math.Ceil(math.Log10(c.maxLat)))
	return c
}

func (c *chart) x(m Millis) float64 { return chartLeft + plotW*float64(m)/c.end }

func (c *chart) yOK(pct float64) float64 { return okTop + okH*(1-pct/100) }

func (c *chart) yLat(v float64) float64 {
	v = min(max(v, latMinMs), c.maxLat)
	f := (math.Log10(v) - math.Log10(latMinMs)) / (math.Log10(c.maxLat) - math.Log10(latMinMs))
	return latTop + latH*(1-f)
}

func (c *chart) printf(format string, args ...any) { fmt.Fprintf(c.b, format, args...) }

// header is the title, the experiment and what happened, in words.
func (c *chart) header() {
	r := c.r
	c.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		chartW, chartH, chartW, chartH)
	c.printf(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	verdict := "PASS: every check held"
	if !r.Passed {
		verdict = "FAIL: " + strings.Join(r.FailedChecks(), "; ")
	}
	c.printf(`<text x="%d" y="20" font-size="14" font-weight="bold">%s — %s</text>`+"\n", chartLeft, esc(r.Experiment), esc(verdict))
	desc := r.Description
	if len(desc) > 120 {
		desc = desc[:117] + "..."
	}
	c.printf(`<text x="%d" y="36" fill="#555">%s; %d orders/s</text>`+"\n", chartLeft, esc(desc), r.Rate)
	for i, line := range storyLines(r) {
		c.printf(`<text x="%d" y="%d">%s</text>`+"\n", chartLeft, 54+i*15, esc(line))
	}
}

// storyLines says per phase what the load met: the share of successful
// answers, and the moments the checks look at.
func storyLines(r *Report) []string {
	var parts []string
	for _, p := range r.Phases {
		s := fmt.Sprintf("%s %s-%s: %.1f%% of %d answers ok", p.Name, fmtSecs(p.From), fmtSecs(p.To), p.SuccessPct, p.Requests)
		if p.TimeToOpen != nil {
			s += fmt.Sprintf(", %s breaker open %s after the fault", r.Dependency, fmtDur(p.TimeToOpen.D()))
		}
		if p.Name == "recovery" {
			if p.TimeToRecover != nil {
				s += fmt.Sprintf(", >= 99%% ok again %s after the heal (bound %s)", fmtDur(p.TimeToRecover.D()), fmtDur(r.RecoveryBound.D()))
			} else {
				s += ", never >= 99% ok over 1s"
			}
		}
		parts = append(parts, s)
	}
	if len(parts) < 3 {
		return []string{strings.Join(parts, "; ")}
	}
	return []string{parts[0] + "; " + parts[1] + ";", parts[2] + "."}
}

// axes draws the two panels with their grids and the time axis.
func (c *chart) axes() {
	panel(c.b, okTop, okH, "success % (answers < 500)")
	for _, pct := range []float64{0, 50, 90, 100} {
		y := c.yOK(pct)
		c.printf(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n",
			chartLeft, chartLeft+plotW, y, y, chartLeft-6, y+4, pct)
	}
	panel(c.b, latTop, latH, "latency at the client (ms, log)")
	for v := latMinMs; v <= c.maxLat*1.001; v *= 10 {
		y := c.yLat(v)
		c.printf(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n",
			chartLeft, chartLeft+plotW, y, y, chartLeft-6, y+4, v)
	}
	y := c.yLat(ms(Millis(fastAnswer)))
	c.printf(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="3,3"/><text x="%d" y="%.1f" fill="%s">503 p99 bound %s</text>`+"\n",
		chartLeft, chartLeft+plotW, y, y, colorFailedLat, chartLeft+14, y-3, colorFailedLat, fmtDur(fastAnswer))
	for t := 0.0; t <= c.end; t += float64(tickStep(time.Duration(c.end))) {
		xx := c.x(Millis(t))
		c.printf(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>`, xx, xx, latTop+latH, latTop+latH+4)
		c.printf(`<text x="%.1f" y="%d" text-anchor="middle">%gs</text>`+"\n", xx, latTop+latH+16, math.Round(t/1e8)/10)
	}
	c.printf(`<text x="%d" y="%d" text-anchor="middle">time since the load started (s); each step is the requests answered in %s</text>`+"\n",
		chartLeft+plotW/2, latTop+latH+32, fmtDur(c.r.BucketSize.D()))
}

// breakerBands draws each dependency's breaker state as ordersvc's
// metrics showed it at each scrape.
func (c *chart) breakerBands() {
	for i, dep := range []string{"user", "product"} {
		y := bandTop + i*(bandH+6)
		c.printf(`<text x="%d" y="%d" text-anchor="end">%s breaker</text>`+"\n", chartLeft-6, y+12, dep)
		c.printf(`<rect x="%d" y="%d" width="%d" height="%d" fill="#bbb"/>`+"\n", chartLeft, y, plotW, bandH)
		for j, s := range c.r.Samples {
			state, ok := s.Breaker[dep]
			if !s.OK || s.At < 0 || !ok || state < 0 || state > 2 || s.At >= Millis(c.end) {
				continue
			}
			next := Millis(c.end)
			if j+1 < len(c.r.Samples) {
				next = min(c.r.Samples[j+1].At, next)
			}
			c.printf(`<rect x="%.1f" y="%d" width="%.2f" height="%d" fill="%s"/>`+"\n",
				c.x(s.At), y, max(c.x(next)-c.x(s.At), 0.5), bandH, stateColors[state])
		}
	}
}

// series draws success % and, apart, the p50 and p99 latency of the
// successful and of the failed answers, as steps over each bucket. An empty
// bucket is a gap in a line, not a zero.
func (c *chart) series() {
	type line struct {
		color, dash string
		width       float64
		point       func(Bucket) (float64, bool)
		pts         [][2]float64
	}
	lat := func(v Millis) float64 { return c.yLat(ms(v)) }
	lines := []*line{
		{color: colorSuccess, width: 2, point: func(b Bucket) (float64, bool) { return c.yOK(b.SuccessPct), b.Requests > 0 }},
		{color: colorOKLat, width: 1.5, point: func(b Bucket) (float64, bool) { return lat(b.OKP50), b.OK > 0 }},
		{color: colorOKLat, dash: "5,3", width: 1.2, point: func(b Bucket) (float64, bool) { return lat(b.OKP99), b.OK > 0 }},
		{color: colorFailedLat, width: 1.5, point: func(b Bucket) (float64, bool) { return lat(b.FailedP50), b.Requests > b.OK }},
		{color: colorFailedLat, dash: "5,3", width: 1.2, point: func(b Bucket) (float64, bool) { return lat(b.FailedP99), b.Requests > b.OK }},
	}
	flush := func(l *line) {
		switch len(l.pts) {
		case 0:
		default:
			pts := make([]string, len(l.pts))
			for i, p := range l.pts {
				pts[i] = fmt.Sprintf("%.1f,%.1f", p[0], p[1])
			}
			c.printf(`<polyline fill="none" stroke="%s" stroke-width="%g" stroke-dasharray="%s" points="%s"/>`+"\n",
				l.color, l.width, orNone(l.dash), strings.Join(pts, " "))
		}
		l.pts = nil
	}
	for _, bk := range c.r.Timeline {
		x0, x1 := c.x(bk.At), c.x(bk.At+c.r.BucketSize)
		for _, l := range lines {
			if y, ok := l.point(bk); ok { // a step over the bucket's span
				l.pts = append(l.pts, [2]float64{x0, y}, [2]float64{x1, y})
			} else {
				flush(l)
			}
		}
	}
	for _, l := range lines {
		flush(l)
	}
}

func orNone(dash string) string {
	if dash == "" {
		return "none"
	}
	return dash
}

// marker is a labelled vertical line across the panels.
type marker struct {
	at           Millis
	color, dash  string
	label        string
	labelAtFloor bool // label at the bottom of the success panel, not the top
}

// markers draws the run's events and the moments the checks measure
// against: when the breaker was due to half-open, the recovery bound, and
// when success was back.
func (c *chart) markers() {
	var ms []marker
	for _, e := range c.r.Events {
		switch e.Name {
		case "fault":
			ms = append(ms, marker{at: e.At, color: colorFault, dash: "6,3", label: "fault"})
		case "healed":
			ms = append(ms, marker{at: e.At, color: colorHeal, dash: "6,3", label: "healed"})
		case "load", "load end":
			ms = append(ms, marker{at: e.At, color: "#888", dash: "2,3", label: e.Name})
		}
	}
	ms = append(ms, c.boundMarkers()...)
	for _, m := range ms {
		if m.at < 0 || float64(m.at) > c.end {
			continue
		}
		xx := c.x(m.at)
		c.printf(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="1.2" stroke-dasharray="%s"/>`+"\n",
			xx, xx, okTop, latTop+latH, m.color, m.dash)
		y, anchor := okTop+4, "end"
		if m.labelAtFloor {
			y, anchor = okTop+okH-4, "start"
		}
		c.printf(`<text x="%.1f" y="%d" fill="%s" transform="rotate(-90 %.1f %d)" text-anchor="%s">%s</text>`+"\n",
			xx+11, y, m.color, xx+11, y, anchor, esc(m.label))
	}
}

// boundMarkers are the moments contract points 4 and 5 are about: the
// faulted dependency's breaker due to half-open (BREAKER_OPEN_TIMEOUT after
// it was first seen open), the recovery bound (heal +
// BREAKER_OPEN_TIMEOUT + 2s) and when success was back at >= 99%.
func (c *chart) boundMarkers() []marker {
	var out []marker
	var fault, recovery *PhaseStats
	for i := range c.r.Phases {
		switch c.r.Phases[i].Name {
		case "fault":
			fault = &c.r.Phases[i]
		case "recovery":
			recovery = &c.r.Phases[i]
		}
	}
	if fault != nil && fault.TimeToOpen != nil && c.r.BreakerOpenTimeout > 0 {
		out = append(out, marker{at: fault.From + *fault.TimeToOpen + c.r.BreakerOpenTimeout, color: colorHalfOpen, dash: "1,2",
			label: "half-open due", labelAtFloor: true})
	}
	if recovery == nil {
		return out
	}
	if c.r.RecoveryBound > 0 {
		out = append(out, marker{at: recovery.From + c.r.RecoveryBound, color: colorBound, dash: "8,2,2,2",
			label: "recovery bound", labelAtFloor: true})
	}
	if recovery.TimeToRecover != nil {
		out = append(out, marker{at: recovery.From + *recovery.TimeToRecover, color: colorRecovered, dash: "2,2",
			label: "recovered", labelAtFloor: true})
	}
	return out
}

// legend explains every colour and dash, in three rows; the markers'
// rows say what each moment is.
func (c *chart) legend() {
	type item struct {
		color, dash, label string
		box                bool
	}
	bot := fmtDur(c.r.BreakerOpenTimeout.D())
	rows := [][]item{
		{{colorSuccess, "", "success % (201, or the 4xx a bad order deserves)", false},
			{colorOKLat, "", "latency of successes: p50", false}, {colorOKLat, "5,3", "p99", false},
			{colorFailedLat, "", "latency of 503s / no answer: p50", false}, {colorFailedLat, "5,3", "p99", false}},
		{{stateColors[0], "", "breaker closed", true}, {stateColors[1], "", "half-open", true},
			{stateColors[2], "", "open: refuses at once", true}, {"#bbb", "", "no scrape", true},
			{colorFault, "6,3", "fault injected", false}, {colorHeal, "6,3", "healed", false}},
		{{colorHalfOpen, "1,2", "half-open due: open + BREAKER_OPEN_TIMEOUT (" + bot + ")", false},
			{colorBound, "8,2,2,2", "recovery bound: heal + BREAKER_OPEN_TIMEOUT + 2s (" + fmtDur(c.r.RecoveryBound.D()) + ")", false},
			{colorRecovered, "2,2", "recovered: >= 99% ok over 1s", false}},
	}
	for i, row := range rows {
		y := legendTop + i*18
		lx := chartLeft - 80
		for _, it := range row {
			if it.box {
				c.printf(`<rect x="%d" y="%d" width="14" height="10" fill="%s"/>`, lx, y-9, it.color)
			} else {
				c.printf(`<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`,
					lx, lx+22, y-4, y-4, it.color, orNone(it.dash))
			}
			c.printf(`<text x="%d" y="%d">%s</text>`+"\n", lx+26, y, esc(it.label))
			lx += 26 + 13*len(it.label)/2 + 14
		}
	}
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
