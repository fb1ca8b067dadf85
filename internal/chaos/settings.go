package chaos

import (
	"fmt"
	"strconv"
	"time"
)

// Settings are the resilience settings the runner passes to the services,
// and against which it checks them. Each is the runner's short default
// unless the user's environment sets it: breaking resilience on purpose
// (RETRY_MAX_ATTEMPTS=1 CALL_TIMEOUT=60s chaos ...) must reach the services
// and make checks fail, while the thresholds stay those of the contract.
type Settings struct {
	CallTimeout        time.Duration `json:"call_timeout"`
	RequestTimeout     time.Duration `json:"request_timeout"`
	BreakerOpenTimeout time.Duration `json:"breaker_open_timeout"`
	RetryMaxAttempts   int           `json:"retry_max_attempts"`
	ReservationTTL     time.Duration `json:"reservation_ttl"`
}

// defaultSettings are short enough for experiments of a few seconds; the
// reservation TTL is long enough that nothing expires during one.
func defaultSettings() Settings {
	return Settings{
		CallTimeout:        300 * time.Millisecond,
		RequestTimeout:     2 * time.Second,
		BreakerOpenTimeout: 2 * time.Second,
		RetryMaxAttempts:   3,
		ReservationTTL:     10 * time.Minute,
	}
}

// postgresCallTimeout is the default CALL_TIMEOUT on PostgreSQL. A
// reservation there is two transactions over a socket; on a busy two-core
// machine its tail reaches 300-400ms, so the SQLite default would time
// healthy calls out and open the product breaker before any fault. It stays
// short enough for the breaker of a hung dependency to open within 1s.
const postgresCallTimeout = 600 * time.Millisecond

// settingsFromEnv returns the defaults (postgres: the stack runs on
// PostgreSQL) with the user's overrides applied. An unparsable or
// non-positive value is an error naming the variable.
func settingsFromEnv(getenv func(string) string, postgres bool) (Settings, error) {
	s := defaultSettings()
	if postgres {
		s.CallTimeout = postgresCallTimeout
	}
	for _, d := range []struct {
		env string
		to  *time.Duration
	}{
		{"CALL_TIMEOUT", &s.CallTimeout},
		{"REQUEST_TIMEOUT", &s.RequestTimeout},
		{"BREAKER_OPEN_TIMEOUT", &s.BreakerOpenTimeout},
		{"RESERVATION_TTL", &s.ReservationTTL},
	} {
		if v := getenv(d.env); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed <= 0 {
				return s, fmt.Errorf("%s=%q: want a positive duration", d.env, v)
			}
			*d.to = parsed
		}
	}
	if v := getenv("RETRY_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return s, fmt.Errorf("RETRY_MAX_ATTEMPTS=%q: want a positive integer", v)
		}
		s.RetryMaxAttempts = n
	}
	return s, nil
}

// env is the settings as the services' environment.
func (s Settings) env() []string {
	return []string{
		"CALL_TIMEOUT=" + s.CallTimeout.String(),
		"REQUEST_TIMEOUT=" + s.RequestTimeout.String(),
		"BREAKER_OPEN_TIMEOUT=" + s.BreakerOpenTimeout.String(),
		"RETRY_MAX_ATTEMPTS=" + strconv.Itoa(s.RetryMaxAttempts),
		"RESERVATION_TTL=" + s.ReservationTTL.String(),
	}
}

// clientTimeout is the load client's own limit: well past what the contract
// allows a request (REQUEST_TIMEOUT+100ms), so that a request that overstays
// is measured, not hidden by the client giving up first.
func (s Settings) clientTimeout() time.Duration { return s.RequestTimeout + 2*time.Second }

// maxRequestTime is contract point 1's bound.
func (s Settings) maxRequestTime() time.Duration { return s.RequestTimeout + 100*time.Millisecond }

// recoveryBound is contract point 5's bound.
func (s Settings) recoveryBound() time.Duration { return s.BreakerOpenTimeout + 2*time.Second }

// orphanAge is how long ordersvc leaves a pending order alone before its
// recovery loop takes it over (REQUEST_TIMEOUT+1s, see cli.RunOrderService).
func (s Settings) orphanAge() time.Duration { return s.RequestTimeout + time.Second }
