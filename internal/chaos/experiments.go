package chaos

import (
	"fmt"
	"strings"
	"time"
)

// Experiment is one named chaos experiment.
type Experiment struct {
	Name        string
	Description string
	// Dependency is the dependency whose breaker the fault must open
	// (contract point 4); "" when the fault is not a dependency's.
	Dependency string
	// Instances, when set, is how many instances of each service the
	// experiment runs (contract point 8; a gateway in front of ordersvc's),
	// Registry whether they find each other through etcd.
	Instances int
	Registry  bool
	// adjust, if set, changes the runner's settings for this experiment.
	adjust func(Settings) Settings
	// fault builds the fault against a running stack.
	fault func(st *stack, s Settings, inflight func() int64) fault
}

// experiments is the catalogue, in the order "all" runs it.
func experiments() []Experiment {
	return append(dependencyExperiments(), instanceExperiments()...)
}

// dependencyExperiments fault a whole dependency of ordersvc (points 1-7).
func dependencyExperiments() []Experiment {
	return []Experiment{
		{
			Name:        "kill-user",
			Description: "usersvc killed under load (SIGKILL; docker kill), started again on the same port and database",
			Dependency:  "user",
			fault:       func(st *stack, _ Settings, _ func() int64) fault { return killFault(st, st.user) },
		},
		{
			Name:        "kill-product",
			Description: "productsvc killed under load (SIGKILL; docker kill), started again on the same port and database",
			Dependency:  "product",
			fault:       func(st *stack, _ Settings, _ func() int64) fault { return killFault(st, st.product) },
		},
		{
			Name:        "hang-user",
			Description: "usersvc frozen (SIGSTOP; docker pause): accepts connections, answers nothing; then thawed",
			Dependency:  "user",
			fault:       func(st *stack, _ Settings, _ func() int64) fault { return hangFault(st.user) },
		},
		{
			Name:        "slow-product",
			Description: "every productsvc answer delayed by 2 x CALL_TIMEOUT (toxiproxy latency)",
			Dependency:  "product",
			fault: func(st *stack, s Settings, _ func() int64) fault {
				return toxicFault(st, "product", Toxic{Name: "slow", Type: "latency", Stream: "downstream", Toxicity: 1,
					Attributes: map[string]any{"latency": (2 * s.CallTimeout).Milliseconds()}})
			},
		},
		{
			Name: "reset-product",
			Description: "every productsvc connection reset as its answer arrives (toxiproxy reset_peer " +
				"downstream: the call took effect, its answer is lost)",
			Dependency: "product",
			fault: func(st *stack, _ Settings, _ func() int64) fault {
				return toxicFault(st, "product", Toxic{Name: "reset", Type: "reset_peer", Stream: "downstream", Toxicity: 1,
					Attributes: map[string]any{"timeout": 0}})
			},
		},
		{
			Name: "restart-order",
			Description: "ordersvc killed (SIGKILL; docker kill) with orders mid-saga (product calls slowed by 80ms first), " +
				"started again on the same port and database: no order lost or duplicated",
			fault: func(st *stack, _ Settings, inflight func() int64) fault { return restartOrderFault(st, inflight) },
		},
	}
}

func experimentNames() []string {
	var names []string
	for _, e := range experiments() {
		names = append(names, e.Name)
	}
	return names
}

// selectExperiments returns the named experiment, or all of them.
func selectExperiments(name string) ([]Experiment, error) {
	if name == "all" {
		return experiments(), nil
	}
	for _, e := range experiments() {
		if e.Name == name {
			return []Experiment{e}, nil
		}
	}
	return nil, fmt.Errorf("unknown experiment %q (want one of %s, or all)", name, strings.Join(experimentNames(), ", "))
}

// plan is how long each phase of an experiment lasts.
type plan struct {
	steady, fault, recovery time.Duration
}

// planFor splits the load time d: a fifth steady, 40% fault (or the
// fault's own length; long enough that the fast 503s number about 100 at
// 40 requests/s in the short form, so that their p99 is not just their
// max), the rest recovery; recovery lasts at least
// BREAKER_OPEN_TIMEOUT + 3s, so that contract point 5 (recovery within
// BREAKER_OPEN_TIMEOUT + 2s, judged over a 1s window) can be decided; the
// load then runs longer than d.
func planFor(d time.Duration, s Settings, faultLength time.Duration) plan {
	p := plan{steady: d / 5, fault: d * 40 / 100}
	if faultLength > 0 {
		p.fault = faultLength
	}
	p.recovery = max(d-p.steady-p.fault, s.recoveryBound()+recoverWindow)
	return p
}

func (p plan) total() time.Duration { return p.steady + p.fault + p.recovery }
