package chaos

import "time"

// observations is everything an experiment measured that the checks judge.
type observations struct {
	exp       Experiment
	settings  Settings
	exchanges []Exchange
	samples   []Sample
	steady    Phase
	fault     Phase
	recovery  Phase
	rate      int

	probe    probeResult
	attempts attemptStats
	// served is ordersvc's own account of a request (nil when unknown),
	// for the evidence of slow answers; t0 is the wall-clock time of
	// Millis 0, to set the two side by side.
	served     func(requestID string) (servedBy, bool)
	t0         time.Time
	books      Books
	retrieved  map[string]bool
	requests   map[string]orderRequest
	settle     settleResult
	goroutines goroutineResult
	// log is the services' access logs and marks what the fault noted,
	// for contract point 8's checks.
	log   *serviceLog
	marks *marks
}

// probeResult is the burst of deliberate 4xx sent before the load.
type probeResult struct {
	Answers       map[string]int `json:"answers"`
	Sent          int            `json:"sent"`
	Retries       float64        `json:"retries"`
	Timeouts      float64        `json:"timeouts"`
	ShortCircuits float64        `json:"short_circuits"`
	Breakers      map[string]int `json:"breakers_after"`
	ScrapeFailed  bool           `json:"scrape_failed,omitempty"`
}

// attemptStats is the most requests a dependency route received for one
// call of one first-try load request, from the services' access logs.
type attemptStats struct {
	Max      int    `json:"max"`
	Worst    string `json:"worst,omitempty"` // request ID and route of the max
	Requests int    `json:"requests_seen"`   // load requests with dependency lines
	Over     int    `json:"over_limit"`      // calls over RETRY_MAX_ATTEMPTS
}

// settleResult is the wait for ordersvc's recovery loop to finish or undo
// every half-done order.
type settleResult struct {
	Waited     Millis `json:"waited_ms"`
	Unresolved int    `json:"unresolved_orders"`
	Held       int    `json:"held_reservations"`
	Undecided  int    `json:"undecided_keys"`
	// Recovered is how many orders ordersvc's recovery loop finished or
	// undid during the experiment (from its log).
	Recovered int    `json:"recovered_by_ordersvc"`
	Error     string `json:"error,omitempty"`
}

// goroutineResult compares ordersvc's goroutines after the experiment with
// the steady-state baseline.
type goroutineResult struct {
	Baseline float64 `json:"baseline"`
	Final    float64 `json:"final"`
	Limit    float64 `json:"limit"`
	Waited   Millis  `json:"waited_ms"`
	OK       bool    `json:"ok"`
	// BeforeDrop is the count before the proxies dropped ordersvc's pooled
	// dependency connections.
	BeforeDrop float64 `json:"before_drop"`
	Error      string  `json:"error,omitempty"`
}
