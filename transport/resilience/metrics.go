package resilience

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kitshop/kitshop/transport"
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
		m.breakerState = transport.RegisterOrReuse(reg, "resilience", m.breakerState)
		m.retries = transport.RegisterOrReuse(reg, "resilience", m.retries)
		m.timeouts = transport.RegisterOrReuse(reg, "resilience", m.timeouts)
		m.shortCircuits = transport.RegisterOrReuse(reg, "resilience", m.shortCircuits)
	}
	return m
}

// dependencyMetrics are one dependency's series, resolved once so that the
// hot path does no label lookups. All nil without Metrics.
type dependencyMetrics struct {
	retries, timeouts, shortCircuits prometheus.Counter
	name                             string
	states                           *prometheus.GaugeVec // by dependency and instance
}

// forDependency creates the dependency's counters at zero; each
// instance's state series is created by addInstance when it appears.
func (m *Metrics) forDependency(name string) dependencyMetrics {
	if m == nil {
		return dependencyMetrics{}
	}
	return dependencyMetrics{
		retries:       m.retries.WithLabelValues(name),
		timeouts:      m.timeouts.WithLabelValues(name),
		shortCircuits: m.shortCircuits.WithLabelValues(name),
		name:          name,
		states:        m.breakerState,
	}
}

// addInstance creates an instance's state series at zero (closed) and
// returns it; nil without Metrics.
func (dm dependencyMetrics) addInstance(instance string) prometheus.Gauge {
	if dm.states == nil {
		return nil
	}
	g := dm.states.WithLabelValues(dm.name, instance)
	g.Set(0)
	return g
}

// removeInstance deletes a vanished instance's state series. A state change
// of its breaker still under way afterwards sets a gauge no longer exported.
func (dm dependencyMetrics) removeInstance(instance string) {
	if dm.states != nil {
		dm.states.DeleteLabelValues(dm.name, instance)
	}
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
func setState(g prometheus.Gauge, s gobreaker.State) {
	if g != nil {
		g.Set(float64(s))
	}
}
