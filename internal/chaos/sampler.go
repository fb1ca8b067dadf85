package chaos

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"
)

// Millis is a time.Duration written in JSON as milliseconds, for reports
// that a chart or a person reads.
type Millis time.Duration

// D is m as a time.Duration.
func (m Millis) D() time.Duration { return time.Duration(m) }

// MarshalJSON writes m as milliseconds with microsecond precision.
func (m Millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(m)/float64(time.Millisecond), 'f', 3, 64), nil
}

// UnmarshalJSON reads milliseconds.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*m = Millis(f * float64(time.Millisecond))
	return nil
}

func (m Millis) String() string { return fmtDur(m.D()) }

// sampleEvery is the scrape interval of ordersvc's /metrics: fine enough to
// time a breaker opening against a 1s bound.
const sampleEvery = 100 * time.Millisecond

// sampler scrapes ordersvc's /metrics every sampleEvery until stopped.
type sampler struct {
	api   *api
	url   string
	since func() Millis

	mu      sync.Mutex
	samples []Sample

	stop context.CancelFunc
	done chan struct{}
}

// startSampler starts scraping metricsURL; since tells the time since the
// load started.
func startSampler(ctx context.Context, a *api, metricsURL string, since func() Millis) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{api: a, url: metricsURL, since: since, stop: cancel, done: make(chan struct{})}
	go s.loop(ctx)
	return s
}

func (s *sampler) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		s.scrape(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scrape takes one sample now; the moment is when the scrape was answered,
// the latest moment the state it shows was true.
func (s *sampler) scrape(ctx context.Context) Sample {
	text, err := s.api.getText(ctx, s.url, 500*time.Millisecond)
	at := s.since()
	sample := Sample{At: at, Unresolved: -1}
	if err == nil {
		sample = sampleFrom(at, text)
	}
	if ctx.Err() == nil {
		s.mu.Lock()
		s.samples = append(s.samples, sample)
		s.mu.Unlock()
	}
	return sample
}

// Samples returns a copy of the samples so far, in time order.
func (s *sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}

// Stop stops scraping and waits for the loop to end.
func (s *sampler) Stop() {
	s.stop()
	<-s.done
}
