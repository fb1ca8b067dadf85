package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Kinds of exchange.
const (
	kindLoad    = "load"    // a first try of the open-loop load
	kindProbe   = "probe"   // a deliberate 4xx sent while nothing else runs
	kindRedrive = "redrive" // a retry of a key whose answer was not definitive
)

// Exchange is one POST /v1/orders the runner made and what came of it.
type Exchange struct {
	Key       string `json:"key"`
	RequestID string `json:"request_id"`
	Kind      string `json:"kind"`
	Bad       bool   `json:"bad,omitempty"`
	// Start is when the request was sent, since the load started; Latency
	// how long until the whole answer was read (or the error).
	Start   Millis `json:"start_ms"`
	Latency Millis `json:"latency_ms"`
	// Status is the HTTP status, 0 when there was no answer; Error then
	// says why (timeout, refused, reset, eof, saturated, other).
	Status     int    `json:"status"`
	Error      string `json:"error,omitempty"`
	Code       string `json:"code,omitempty"`
	Dependency string `json:"dependency,omitempty"`
	OrderID    string `json:"order_id,omitempty"`
	retryAfter time.Duration
}

// OK tells whether the answer is what a healthy shop gives: any HTTP answer
// below 500 (a 201, or the 4xx a bad request deserves).
func (e Exchange) OK() bool { return e.Status > 0 && e.Status < 500 }

// Definitive tells whether the answer settles the key: a 201 or a 4xx
// other than 409 request_in_progress. Anything else (no answer, a 5xx, a
// request still in progress) must be asked again with the same key.
func (e Exchange) Definitive() bool {
	switch {
	case e.Status == http.StatusCreated:
		return true
	case e.Status == http.StatusConflict && e.Code == "request_in_progress":
		return false
	}
	return e.Status >= 400 && e.Status < 500
}

// loadGen sends orders to ordersvc and records every exchange.
type loadGen struct {
	client *http.Client
	url    string // ordersvc's POST /v1/orders
	since  func() Millis

	mu        sync.Mutex
	exchanges []Exchange
	attempts  map[string]int // key -> exchanges so far

	inflight    atomic.Int64
	maxInflight int64
	wg          sync.WaitGroup
}

// newLoadGen makes a generator with its own connection pool; timeout bounds
// every request.
func newLoadGen(orderURL string, timeout time.Duration, rate int, since func() Millis) *loadGen {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, DisableCompression: true}
	return &loadGen{
		client: &http.Client{Transport: tr, Timeout: timeout},
		url:    orderURL + "/v1/orders",
		since:  since,
		// Bounded in count: at most every request of the client timeout
		// window, with room to spare; beyond that the client, not the
		// service, would be the bottleneck, and it says so.
		maxInflight: int64(float64(rate)*timeout.Seconds()*1.5) + 16,
		attempts:    map[string]int{},
	}
}

// openLoop sends next() at rate per second, each in its own goroutine, from
// now until stop is closed, whatever the answers do: a slow service gets
// more requests in flight, not fewer. Requests are due at fixed instants,
// so none is lost to a late tick. It returns when firing stops; wait for
// the answers with wait.
func (g *loadGen) openLoop(ctx context.Context, rate int, stop <-chan struct{}, next func() orderRequest) {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; ; i++ {
		timer.Reset(time.Until(start.Add(time.Duration(i) * interval)))
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-timer.C:
		}
		g.fire(ctx, next(), kindLoad)
	}
}

// fire sends req in a goroutine of its own.
func (g *loadGen) fire(ctx context.Context, req orderRequest, kind string) {
	if g.inflight.Load() >= g.maxInflight {
		g.record(Exchange{Key: req.Key, Kind: kind, Bad: req.Bad, Start: g.since(), Error: "saturated"})
		return
	}
	g.inflight.Add(1)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer g.inflight.Add(-1)
		g.send(ctx, req, kind)
	}()
}

// wait waits for every request fired so far.
func (g *loadGen) wait() { g.wg.Wait() }

// inFlight is the number of requests awaiting an answer.
func (g *loadGen) inFlight() int64 { return g.inflight.Load() }

// send makes one request now and records it.
func (g *loadGen) send(ctx context.Context, req orderRequest, kind string) Exchange {
	g.mu.Lock()
	g.attempts[req.Key]++
	n := g.attempts[req.Key]
	g.mu.Unlock()
	ex := Exchange{Key: req.Key, Kind: kind, Bad: req.Bad, RequestID: req.Key + "." + strconv.Itoa(n)}
	body, _ := json.Marshal(req.Body)
	ex.Start = g.since()
	began := time.Now()
	g.do(ctx, req.Key, req.Token, body, &ex)
	ex.Latency = Millis(time.Since(began))
	g.record(ex)
	return ex
}

func (g *loadGen) do(ctx context.Context, key, token string, body []byte, ex *Exchange) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		ex.Error = "other"
		return
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Idempotency-Key", key)
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	hr.Header.Set("X-Request-ID", ex.RequestID)
	resp, err := g.client.Do(hr)
	if err != nil {
		ex.Error = errorClass(err)
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		ex.Error = errorClass(err)
		return
	}
	ex.Status = resp.StatusCode
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		ex.retryAfter = time.Duration(s) * time.Second
	}
	var answer struct {
		ID    string `json:"id"`
		Error struct {
			Code       string `json:"code"`
			Dependency string `json:"dependency"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &answer)
	ex.OrderID, ex.Code, ex.Dependency = answer.ID, answer.Error.Code, answer.Error.Dependency
	if ex.Status != http.StatusCreated {
		ex.OrderID = ""
	}
}

func (g *loadGen) record(ex Exchange) {
	g.mu.Lock()
	g.exchanges = append(g.exchanges, ex)
	g.mu.Unlock()
}

// Exchanges returns a copy of every exchange recorded so far.
func (g *loadGen) Exchanges() []Exchange {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Exchange(nil), g.exchanges...)
}

func (g *loadGen) close() { g.client.CloseIdleConnections() }

// errorClass names a transport error for the report.
func errorClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}
