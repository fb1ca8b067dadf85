package chaos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Contract point 8's thresholds.
const (
	instanceSuccess   = 99.5 // % of requests answered below 500, throughout
	slowInstanceShare = 10.0 // % of a dependency's calls a slow instance may take
	slowInstanceDelay = 300 * time.Millisecond
	// slowCallTimeout is the least CALL_TIMEOUT slow-instance runs with,
	// so that the slow instance answers (slowly) instead of timing out.
	slowCallTimeout = 2 * slowInstanceDelay
	// etcdPickUp is how soon an instance registered in etcd must take
	// traffic.
	etcdPickUp = time.Second
)

// marks are the moments a fault records for the checks to judge against:
// when an instance was added, which instances were slowed.
type marks struct {
	mu     sync.Mutex
	added  map[string]time.Time
	slowed []string
}

func (m *marks) add(name string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.added == nil {
		m.added = map[string]time.Time{}
	}
	m.added[name] = at
}

func (m *marks) snapshot() (map[string]time.Time, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	added := map[string]time.Time{}
	for k, v := range m.added {
		added[k] = v
	}
	return added, append([]string(nil), m.slowed...)
}

// instanceExperiments are contract point 8's: one instance of three
// faulted, instances added and removed, every instance restarted.
func instanceExperiments() []Experiment {
	return []Experiment{
		{
			Name:        "kill-instance",
			Description: "one instance of three of usersvc and of productsvc killed (SIGKILL) under load, then started again",
			Instances:   3,
			fault: func(st *stack, _ Settings, _ func() int64) fault {
				return both(killFault(st, st.users[1]), killFault(st, st.products[1]))
			},
		},
		{
			Name:        "hang-instance",
			Description: "one instance of three of usersvc and of productsvc frozen (SIGSTOP) under load, then thawed",
			Instances:   3,
			fault: func(st *stack, _ Settings, _ func() int64) fault {
				return both(hangFault(st.users[1]), hangFault(st.products[1]))
			},
		},
		{
			Name: "slow-instance",
			Description: fmt.Sprintf("one instance of three of usersvc and of productsvc answering %s late (toxiproxy latency, "+
				"under CALL_TIMEOUT, which is at least %s here)", fmtDur(slowInstanceDelay), fmtDur(slowCallTimeout)),
			Instances: 3,
			adjust: func(s Settings) Settings {
				s.CallTimeout = max(s.CallTimeout, slowCallTimeout)
				return s
			},
			fault: func(st *stack, _ Settings, _ func() int64) fault {
				slow := func(proxy, instance string) fault {
					f := toxicFault(st, proxy, Toxic{Name: "slow", Type: "latency", Stream: "downstream", Toxicity: 1,
						Attributes: map[string]any{"latency": slowInstanceDelay.Milliseconds()}})
					inject := f.inject
					f.inject = func(ctx context.Context) (string, error) {
						st.marks.mu.Lock()
						st.marks.slowed = append(st.marks.slowed, instance)
						st.marks.mu.Unlock()
						return inject(ctx)
					}
					return f
				}
				return both(slow("user-2", st.users[1].name), slow("product-2", st.products[1].name))
			},
		},
		{
			Name: "scale-out",
			Description: "instances found in etcd: a fourth usersvc and productsvc instance started (they register), " +
				"then a third one of each stopped (SIGTERM: it deregisters, drains, exits), under load",
			Instances: 3,
			Registry:  true,
			fault:     func(st *stack, s Settings, _ func() int64) fault { return scaleOutFault(st) },
		},
		{
			Name: "rolling-restart",
			Description: "every instance of usersvc, productsvc and ordersvc in turn stopped (SIGTERM: drain, exit) " +
				"and started again, under load through the gateway",
			Instances: 3,
			fault:     func(st *stack, _ Settings, _ func() int64) fault { return rollingRestartFault(st) },
		},
	}
}

// both injects and heals two faults at once.
func both(a, b fault) fault {
	return fault{
		inject: func(ctx context.Context) (string, error) {
			da, err := a.inject(ctx)
			if err != nil {
				return "", err
			}
			db, err := b.inject(ctx)
			return da + "; " + db, err
		},
		heal: func(ctx context.Context) error { return errors.Join(a.heal(ctx), b.heal(ctx)) },
	}
}

// terminator is a control that can stop its process as an orchestrator
// does: SIGTERM, then wait.
type terminator interface {
	Terminate() (string, error)
}

func terminate(svc *service) (string, error) {
	t, ok := svc.ctl.(terminator)
	if !ok {
		return "", fmt.Errorf("%s cannot be stopped gracefully on this target", svc.name)
	}
	return t.Terminate()
}

// scaleOutFault starts the spare instances (they register in etcd), then,
// halfway through the fault phase, stops the third instance of each
// service gracefully; the heal waits for that.
func scaleOutFault(st *stack) fault {
	var wg sync.WaitGroup
	var stopErr error
	return fault{
		inject: func(ctx context.Context) (string, error) {
			detail := ""
			for _, svc := range st.spare {
				if err := svc.ctl.Start(ctx); err != nil {
					return "", err
				}
				st.marks.add(svc.name, time.Now())
				detail += "started " + svc.name + "; "
			}
			wg.Go(func() {
				if stopErr = sleepCtx(ctx, scaleOutRemoveAfter); stopErr != nil {
					return
				}
				for _, svc := range []*service{st.users[2], st.products[2]} {
					if _, err := terminate(svc); err != nil {
						stopErr = errors.Join(stopErr, err)
					}
				}
			})
			return detail + fmt.Sprintf("%s and %s to stop in %s", st.users[2].name, st.products[2].name, fmtDur(scaleOutRemoveAfter)), nil
		},
		heal: func(context.Context) error {
			wg.Wait()
			return stopErr
		},
		length: 2 * scaleOutRemoveAfter,
	}
}

// scaleOutRemoveAfter is how long after the new instances start the old
// ones are stopped.
const scaleOutRemoveAfter = 3 * time.Second

// rollingRestartFault restarts every instance of usersvc, productsvc and
// ordersvc, one at a time, as a rolling deploy does: SIGTERM, wait for the
// exit (after its drain), start it again, wait until it is ready, next.
// The heal waits for the last one.
func rollingRestartFault(st *stack) fault {
	var wg sync.WaitGroup
	var rollErr error
	return fault{
		inject: func(ctx context.Context) (string, error) {
			all := append(append(append([]*service(nil), st.users...), st.products...), st.orders...)
			wg.Go(func() {
				for _, svc := range all {
					if _, err := terminate(svc); err != nil {
						rollErr = fmt.Errorf("stop %s: %w", svc.name, err)
						return
					}
					if err := st.restart(ctx, svc); err != nil {
						rollErr = fmt.Errorf("restart %s: %w", svc.name, err)
						return
					}
				}
			})
			return fmt.Sprintf("rolling restart of %d instances, one at a time", len(all)), nil
		},
		heal: func(context.Context) error {
			wg.Wait()
			return rollErr
		},
		length: time.Second,
	}
}

// instanceChecks are contract point 8's checks for an instance
// experiment.
func instanceChecks(o observations) []Check {
	checks := []Check{checkInstanceSuccess(o)}
	switch o.exp.Name {
	case "slow-instance":
		checks = append(checks, checkSlowInstanceShare(o)...)
	case "scale-out":
		checks = append(checks, checkPickUp(o)...)
	case "rolling-restart":
		checks = append(checks, checkNoFailure(o))
	}
	return checks
}

// loadAnswers are the load's first tries, every phase.
func loadAnswers(o observations) []Exchange {
	var out []Exchange
	for _, ex := range o.exchanges {
		if ex.Kind == kindLoad {
			out = append(out, ex)
		}
	}
	return out
}

// checkInstanceSuccess: one instance of three faulted, success stays at
// or above 99.5% throughout.
func checkInstanceSuccess(o observations) Check {
	all := loadAnswers(o)
	ok := 0
	for _, ex := range all {
		if ex.OK() {
			ok++
		}
	}
	c := Check{ID: "8a", Name: "success >= 99.5% throughout", Threshold: fmt.Sprintf(">= %g%%", instanceSuccess)}
	pct := 0.0
	if len(all) > 0 {
		pct = 100 * float64(ok) / float64(len(all))
	}
	c.Measured = fmt.Sprintf("%.2f%% (%d of %d)", pct, ok, len(all))
	c.Result = verdict(len(all) > 0 && pct >= instanceSuccess)
	c.Details = failedAnswers(all, 5)
	return c
}

// checkNoFailure: a rolling restart fails no request.
func checkNoFailure(o observations) Check {
	all := loadAnswers(o)
	failed := 0
	for _, ex := range all {
		if !ex.OK() {
			failed++
		}
	}
	c := Check{ID: "8d", Name: "rolling restart fails no request", Threshold: "0 failed",
		Measured: fmt.Sprintf("%d failed of %d", failed, len(all))}
	c.Result = verdict(len(all) > 0 && failed == 0)
	c.Details = failedAnswers(all, 5)
	return c
}

func failedAnswers(exs []Exchange, n int) []string {
	var out []string
	for _, ex := range exs {
		if !ex.OK() && len(out) < n {
			out = append(out, fmt.Sprintf("%s at %s: %s after %s", ex.RequestID, fmtSecs(ex.Start), outcome(ex), fmtDur(ex.Latency.D())))
		}
	}
	return out
}

// checkSlowInstanceShare: while an instance is slow, it takes at most 10%
// of its service's calls (from the services' access logs, over the fault
// phase).
func checkSlowInstanceShare(o observations) []Check {
	_, slowed := o.marks.snapshot()
	from, to := o.t0.Add(o.fault.From.D()), o.t0.Add(o.fault.To.D())
	var checks []Check
	for _, name := range slowed {
		service, _ := serviceOf(name)
		total := 0
		for i := 1; i <= o.exp.Instances; i++ {
			total += o.log.callsIn(fmt.Sprintf("%s-%d", service, i), from, to)
		}
		slow := o.log.callsIn(name, from, to)
		c := Check{ID: "8b", Name: "a slow instance takes <= 10% of calls", Threshold: fmt.Sprintf("<= %g%%", slowInstanceShare)}
		share := 0.0
		if total > 0 {
			share = 100 * float64(slow) / float64(total)
		}
		c.Measured = fmt.Sprintf("%s %.1f%% (%d of %d %s calls)", name, share, slow, total, service)
		c.Result = verdict(total > 0 && share <= slowInstanceShare)
		checks = append(checks, c)
	}
	return checks
}

// checkPickUp: an instance registered in etcd takes traffic within 1s.
func checkPickUp(o observations) []Check {
	added, _ := o.marks.snapshot()
	var checks []Check
	for _, name := range slices.Sorted(maps.Keys(added)) {
		at := added[name]
		c := Check{ID: "8c", Name: "an added instance takes traffic within 1s (etcd)", Threshold: "<= " + fmtDur(etcdPickUp)}
		first, ok := o.log.firstCall(name, at)
		if !ok {
			c.Result, c.Measured = Fail, name+" took no call"
		} else {
			took := first.Sub(at)
			c.Measured = fmt.Sprintf("%s: first call %s after it was ready", name, fmtDur(took))
			c.Result = verdict(took <= etcdPickUp)
		}
		checks = append(checks, c)
	}
	return checks
}
