package resilience

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker"
)

// Metrics holds the Prometheus vectors every Dependency built with them
// reports to. One Metrics may serve several dependencies.
type Metrics struct {
	breakerState  *prometheus.GaugeVec
	retries       *prometheus.CounterVec
	timeouts      *prometheus.CounterVec
	shortCircuits *prometheus.CounterVec
}

// NewMetrics makes the vectors and registers them on reg (never on the
// global default registry unless that is what reg is):
//
//	dependency_breaker_state{dependency,instance}   gauge: 0 closed, 1 half-open, 2 open
//	dependency_retries_total{dependency}            attempts after the first
//	dependency_timeouts_total{dependency}           attempts that ran out of CallTimeout
//	dependency_short_circuits_total{dependency}     calls refused by open breakers
//
// The instance label is the instance base URL. A nil reg leaves them
// unregistered. If reg already holds identical vectors (NewMetrics called
// twice on one registry), those are reused; any other registration error
// is a programming error and panics, as prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dependency_breaker_state",
			Help: "Circuit breaker state per dependency instance: 0 closed, 1 half-open, 2 open.",
		}, []string{"dependency", "instance"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dependency_retries_total",
			Help: "Attempts made after the first one of a call to a dependency.",
		}, []string{"dependency"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dependency_timeouts_total",
			Help: "Attempts to a dependency that ran out of their own call timeout.",
		}, []string{"dependency"}),
		shortCircuits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dependency_short_circuits_total",
			Help: "Calls to a dependency refused without I/O because every instance's breaker was open.",
		}, []string{"dependency"}),
	}
	if reg != nil {
		m.breakerState = register(reg, m.breakerState)
		m.retries = register(reg, m.retries)
		m.timeouts = register(reg, m.timeouts)
		m.shortCircuits = register(reg, m.shortCircuits)
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(fmt.Errorf("resilience: registering metrics: %w", err))
}

// dependencyMetrics are one dependency's series, resolved once so that the
// hot path does no label lookups. All nil without Metrics.
type dependencyMetrics struct {
	retries, timeouts, shortCircuits prometheus.Counter
	states                           map[string]prometheus.Gauge // by instance
}

// forDependency creates the dependency's series at zero (all breakers
// closed), so they are exported before anything happens.
func (m *Metrics) forDependency(name string, instances []string) dependencyMetrics {
	if m == nil {
		return dependencyMetrics{}
	}
	dm := dependencyMetrics{
		retries:       m.retries.WithLabelValues(name),
		timeouts:      m.timeouts.WithLabelValues(name),
		shortCircuits: m.shortCircuits.WithLabelValues(name),
		states:        make(map[string]prometheus.Gauge, len(instances)),
	}
	for _, in := range instances {
		g := m.breakerState.WithLabelValues(name, in)
		g.Set(0)
		dm.states[in] = g
	}
	return dm
}

func (dm dependencyMetrics) retry() {
	if dm.retries != nil {
		dm.retries.Inc()
	}
}

func (dm dependencyMetrics) timeout() {
	if dm.timeouts != nil {
		dm.timeouts.Inc()
	}
}

func (dm dependencyMetrics) shortCircuit() {
	if dm.shortCircuits != nil {
		dm.shortCircuits.Inc()
	}
}

// setState records a breaker's state; gobreaker's State values are the
// gauge's encoding (0 closed, 1 half-open, 2 open).
func (dm dependencyMetrics) setState(instance string, s gobreaker.State) {
	if g := dm.states[instance]; g != nil {
		g.Set(float64(s))
	}
}
