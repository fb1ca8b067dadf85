package discovery

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kitshop/kitshop/transport"
)

// Metrics holds the Prometheus vectors every instancer built with them
// reports to. One Metrics may serve several services.
type Metrics struct {
	errors    *prometheus.CounterVec
	instances *prometheus.GaugeVec
}

// NewMetrics makes the vectors and registers them on reg (never on the
// global default registry unless that is what reg is):
//
//	discovery_errors_total{service}  failed lookups: DNS resolutions, etcd reads and connection checks
//	discovery_instances{service}     instances known now, from the last successful lookup
//
// A service's series exist, at zero, from its NewInstancer on; its
// discovery_instances series goes when its instancer stops. A nil reg
// leaves them unregistered. If reg already holds identical vectors
// (NewMetrics called twice on one registry), those are reused; any other
// registration error is a programming error and panics, as
// prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "discovery_errors_total",
			Help: "Failed lookups of a service's instances: DNS resolutions, etcd reads and connection checks.",
		}, []string{"service"}),
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "discovery_instances",
			Help: "Instances of a service known now, from the last successful lookup.",
		}, []string{"service"}),
	}
	if reg != nil {
		m.errors = transport.RegisterOrReuse(reg, "discovery", m.errors)
		m.instances = transport.RegisterOrReuse(reg, "discovery", m.instances)
	}
	return m
}

// serviceMetrics are one service's series, resolved once. The zero value
// (no Metrics) records nothing.
type serviceMetrics struct {
	m         *Metrics
	service   string
	errors    prometheus.Counter
	instances prometheus.Gauge
}

// forService creates the service's series at zero; a nil m gives the
// zero serviceMetrics.
func (m *Metrics) forService(service string) serviceMetrics {
	if m == nil {
		return serviceMetrics{}
	}
	sm := serviceMetrics{
		m:         m,
		service:   service,
		errors:    m.errors.WithLabelValues(service),
		instances: m.instances.WithLabelValues(service),
	}
	sm.instances.Set(0)
	return sm
}

// forget deletes the instances series, once nothing keeps it up to date.
func (sm serviceMetrics) forget() {
	if sm.m != nil {
		sm.m.instances.DeleteLabelValues(sm.service)
	}
}

func (sm serviceMetrics) failed() {
	if sm.errors != nil {
		sm.errors.Inc()
	}
}

func (sm serviceMetrics) known(n int) {
	if sm.instances != nil {
		sm.instances.Set(float64(n))
	}
}
