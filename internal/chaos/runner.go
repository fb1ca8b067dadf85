package chaos

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Event is a moment of an experiment: the load starting, the fault, the
// heal.
type Event struct {
	At     Millis `json:"at_ms"`
	Name   string `json:"name"`
	Detail string `json:"detail,omitempty"`
}

// runConfig is what every experiment of a run shares.
type runConfig struct {
	opts       Options
	settings   Settings
	executable string // "" for this process's own
	stdout     io.Writer
	stderr     io.Writer
}

// Bounds of the waits after the load; generous, since each ends as soon as
// its condition holds.
func (s Settings) redriveBound() time.Duration {
	return s.orphanAge() + 2*s.RequestTimeout + s.BreakerOpenTimeout + 5*time.Second
}
func (s Settings) settleBound() time.Duration {
	return s.orphanAge() + 2*s.RequestTimeout + 5*time.Second
}

const goroutineBound = 10 * time.Second

// runExperiment starts a fresh stack, sets it up, probes it with 4xx,
// drives the load through the steady, fault and recovery phases, re-drives
// the undecided keys, waits for the shop to settle, reads its books and
// judges the checks. An error means the experiment could not run (a child
// that would not start or restart, ctx cancelled): no check was judged.
func runExperiment(ctx context.Context, exp Experiment, cfg runConfig) (*Report, error) {
	began := time.Now()
	logFile, err := os.Create(filepath.Join(cfg.opts.ReportDir, exp.Name+".log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	var out io.Writer = logFile
	if cfg.opts.Verbose {
		out = io.MultiWriter(logFile, cfg.stderr)
	}
	st, err := startStack(ctx, stackConfig{
		Target: cfg.opts.Target, Executable: cfg.executable, Postgres: cfg.opts.Postgres,
		ComposeFile: cfg.opts.ComposeFile, Image: cfg.opts.Image,
		Settings: cfg.settings, Output: out,
	})
	if err != nil {
		return nil, err
	}
	var closeOnce sync.Once
	var stopErr error
	closeStack := func() { closeOnce.Do(func() { stopErr = st.close() }) }
	defer closeStack()
	fmt.Fprint(cfg.stdout, st.describe())

	a := newAPI()
	defer a.close()
	cat, err := setup(ctx, a, st, cfg.opts.Seed)
	if err != nil {
		return nil, err
	}

	t0 := time.Now()
	since := func() Millis { return Millis(time.Since(t0)) }
	var events []Event
	event := func(name, detail string) { events = append(events, Event{At: since(), Name: name, Detail: detail}) }

	smp := startSampler(ctx, a, st.order.url+"/metrics", since)
	defer smp.Stop()
	gen := newLoadGen(st.order.url, cfg.settings.clientTimeout(), cfg.opts.Rate, since)
	defer gen.close()
	wl := newWorkload(exp.Name, cfg.opts.Seed, cat.users, cat.products, "prd_00000000000000000000000000")
	reqs := map[string]orderRequest{}

	probed := probe(ctx, gen, smp, wl, reqs)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	f := exp.fault(st, cfg.settings, gen.inFlight)
	p := planFor(cfg.opts.Duration, cfg.settings, f.length)
	fmt.Fprintf(cfg.stdout, "  plan: steady %s, fault %s, recovery %s at %d requests/s\n",
		fmtDur(p.steady), fmtDur(p.fault), fmtDur(p.recovery), cfg.opts.Rate)

	// The load runs in its own goroutine until stopLoad; reqs is only read
	// once it has returned.
	stop, loopDone := make(chan struct{}), make(chan struct{})
	var stopOnce sync.Once
	stopLoad := func() {
		stopOnce.Do(func() { close(stop) })
		<-loopDone
		gen.wait()
	}
	loadStart := since()
	event("load", fmt.Sprintf("%d requests/s", cfg.opts.Rate))
	go func() {
		defer close(loopDone)
		gen.openLoop(ctx, cfg.opts.Rate, stop, func() orderRequest {
			r := wl.next()
			reqs[r.Key] = r
			return r
		})
	}()
	defer stopLoad()

	faultAt, healAt, err := drivePhases(ctx, p, f, loadStart, since, event)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", exp.Name, err)
	}
	stopLoad()
	loadEnd := since()
	event("load end", "")
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	pending := undecided(gen.Exchanges())
	left := redrive(ctx, gen, reqs, pending, cfg.settings.redriveBound())
	event("re-drive", fmt.Sprintf("%d undecided keys asked again, %d still undecided", len(pending), len(left)))
	settled := settle(ctx, a, smp, st, cfg.settings.settleBound())
	settled.Undecided = len(left)
	settled.Recovered = st.log.recoveredOrders()
	event("settled", fmt.Sprintf("%d unresolved orders, %d held reservations", settled.Unresolved, settled.Held))
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	exchanges := gen.Exchanges()
	books, booksErr := readBooks(ctx, a, st, cat.initial)
	retrieved, getErr := retrieve(ctx, a, st, exchanges)
	if booksErr == nil {
		booksErr = getErr
	}
	// The runner's idle connections are not ordersvc's leak: close them
	// (the scrapes then use one connection, as during the baseline).
	gen.close()
	a.close()
	steady := Phase{Name: "steady", From: loadStart, To: faultAt}
	goroutines := waitGoroutines(ctx, smp, st.proxies, steady, goroutineBound)
	smp.Stop()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	closeStack()

	o := observations{
		exp: exp, settings: cfg.settings, exchanges: exchanges, samples: smp.Samples(), rate: cfg.opts.Rate,
		steady:   steady,
		fault:    Phase{Name: "fault", From: faultAt, To: healAt},
		recovery: Phase{Name: "recovery", From: healAt, To: loadEnd},
		probe:    probed, attempts: countAttempts(exchanges, st.log, cfg.settings.RetryMaxAttempts),
		served: st.log.servedIn, t0: t0,
		books: books, retrieved: retrieved, requests: reqs, settle: settled, goroutines: goroutines,
	}
	checks := evaluate(o)
	if booksErr != nil {
		for i := range checks {
			if checks[i].ID[0] == '6' {
				checks[i].Result = Fail
				checks[i].Details = append(checks[i].Details, "cannot read the books: "+booksErr.Error())
			}
		}
	}
	r := newReport(exp, cfg, o, checks, events)
	r.Started, r.Took = began, Millis(time.Since(began))
	r.Target, r.Stack = cfg.opts.Target, st.where
	r.Redrive = redriveResult{Keys: len(pending), Left: len(left)}
	if stopErr != nil {
		r.StopError = stopErr.Error()
	}
	return r, nil
}

// drivePhases waits out the steady phase, injects the fault, waits out the
// fault phase and heals; it returns the fault and heal moments.
func drivePhases(ctx context.Context, p plan, f fault, loadStart Millis, since func() Millis, event func(string, string)) (faultAt, healAt Millis, err error) {
	if err := sleepCtx(ctx, (loadStart + Millis(p.steady) - since()).D()); err != nil {
		return 0, 0, err
	}
	if f.prime != nil {
		event("prime", "")
		if err := f.prime(ctx); err != nil {
			return 0, 0, fmt.Errorf("prime the fault: %w", err)
		}
	}
	faultAt = since()
	detail, err := f.inject(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("inject the fault: %w", err)
	}
	event("fault", detail)
	if err := sleepCtx(ctx, (faultAt + Millis(p.fault) - since()).D()); err != nil {
		return 0, 0, err
	}
	event("heal", "")
	if err := f.heal(ctx); err != nil {
		return 0, 0, fmt.Errorf("heal the fault: %w", err)
	}
	healAt = since()
	event("healed", "")
	if err := sleepCtx(ctx, (healAt + Millis(p.recovery) - since()).D()); err != nil {
		return 0, 0, err
	}
	return faultAt, healAt, nil
}

// slowest returns the n slowest exchanges.
func slowest(exs []Exchange, n int) []Exchange {
	s := append([]Exchange(nil), exs...)
	sort.Slice(s, func(i, j int) bool { return s[i].Latency > s[j].Latency })
	return s[:min(n, len(s))]
}
