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
	if exp.adjust != nil {
		cfg.settings = exp.adjust(cfg.settings)
	}
	x := &experimentRun{exp: exp, cfg: cfg, began: time.Now(), reqs: map[string]orderRequest{}}
	defer x.cleanup()
	if err := x.start(ctx); err != nil {
		return nil, err
	}
	if err := x.load(ctx); err != nil {
		return nil, err
	}
	if err := x.afterLoad(ctx); err != nil {
		return nil, err
	}
	return x.judge(), nil
}

// experimentRun is one experiment as it goes: what each step needs from
// the one before, and what cleanup must undo.
type experimentRun struct {
	exp   Experiment
	cfg   runConfig
	began time.Time

	logFile *os.File
	st      *stack
	a       *api
	cat     catalogue
	t0      time.Time
	events  []Event
	smp     *sampler
	gen     *loadGen
	reqs    map[string]orderRequest

	closeOnce sync.Once
	stopErr   error
	stopLoad  func() // nil until the load has started

	// What the load and the steps after it found.
	probed                  probeResult
	steady, fault, recovery Phase
	pending, left           []string
	settled                 settleResult
	exchanges               []Exchange
	books                   Books
	booksErr                error
	retrieved               map[string]bool
	goroutines              goroutineResult
}

func (x *experimentRun) since() Millis { return Millis(time.Since(x.t0)) }

func (x *experimentRun) event(name, detail string) {
	x.events = append(x.events, Event{At: x.since(), Name: name, Detail: detail})
}

// closeStack stops the services, once; what went wrong is kept for the
// report.
func (x *experimentRun) closeStack() {
	x.closeOnce.Do(func() { x.stopErr = x.st.close() })
}

// cleanup undoes whatever start and load set up, in reverse order.
func (x *experimentRun) cleanup() {
	if x.stopLoad != nil {
		x.stopLoad()
	}
	if x.gen != nil {
		x.gen.close()
	}
	if x.smp != nil {
		x.smp.Stop()
	}
	if x.a != nil {
		x.a.close()
	}
	if x.st != nil {
		x.closeStack()
	}
	if x.logFile != nil {
		x.logFile.Close()
	}
}

// start opens the experiment's log, starts the stack and sets up its
// users and products.
func (x *experimentRun) start(ctx context.Context) error {
	cfg := x.cfg
	logFile, err := os.Create(filepath.Join(cfg.opts.ReportDir, x.exp.Name+".log"))
	if err != nil {
		return err
	}
	x.logFile = logFile
	var out io.Writer = logFile
	if cfg.opts.Verbose {
		out = io.MultiWriter(logFile, cfg.stderr)
	}
	x.st, err = startStack(ctx, stackConfig{
		Target: cfg.opts.Target, Executable: cfg.executable, Postgres: cfg.opts.Postgres,
		ComposeFile: cfg.opts.ComposeFile, Image: cfg.opts.Image,
		Settings: cfg.settings, Output: out,
		Replicas: x.exp.Instances, Registry: x.exp.Registry,
	})
	if err != nil {
		return err
	}
	fmt.Fprint(cfg.stdout, x.st.describe())
	x.a = newAPI()
	x.cat, err = setup(ctx, x.a, x.st, cfg.opts.Seed)
	return err
}

// load probes with 4xx, then drives the open-loop load through the steady,
// fault and recovery phases.
func (x *experimentRun) load(ctx context.Context) error {
	cfg := x.cfg
	x.t0 = time.Now()
	x.smp = startSampler(ctx, x.a, x.st.order.url+"/metrics", x.since)
	x.gen = newLoadGen(x.st.front().url, cfg.settings.clientTimeout(), cfg.opts.Rate, x.since)
	wl := newWorkload(x.exp.Name, cfg.opts.Seed, x.cat.users, x.cat.admin, x.cat.products, "prd_00000000000000000000000000")

	x.probed = probe(ctx, x.gen, x.smp, wl, x.reqs)
	if err := ctx.Err(); err != nil {
		return err
	}
	f := x.exp.fault(x.st, cfg.settings, x.gen.inFlight)
	p := planFor(cfg.opts.Duration, cfg.settings, f.length)
	fmt.Fprintf(cfg.stdout, "  plan: steady %s, fault %s, recovery %s at %d requests/s\n",
		fmtDur(p.steady), fmtDur(p.fault), fmtDur(p.recovery), cfg.opts.Rate)

	// The load runs in its own goroutine until stopLoad; reqs is only read
	// once it has returned.
	stop, loopDone := make(chan struct{}), make(chan struct{})
	var stopOnce sync.Once
	x.stopLoad = func() {
		stopOnce.Do(func() { close(stop) })
		<-loopDone
		x.gen.wait()
	}
	loadStart := x.since()
	x.event("load", fmt.Sprintf("%d requests/s", cfg.opts.Rate))
	go func() {
		defer close(loopDone)
		x.gen.openLoop(ctx, cfg.opts.Rate, stop, func() orderRequest {
			r := wl.next()
			x.reqs[r.Key] = r
			return r
		})
	}()

	faultAt, healAt, err := drivePhases(ctx, p, f, loadStart, x.since, x.event)
	if err != nil {
		return fmt.Errorf("%s: %w", x.exp.Name, err)
	}
	x.stopLoad()
	loadEnd := x.since()
	x.event("load end", "")
	x.steady = Phase{Name: "steady", From: loadStart, To: faultAt}
	x.fault = Phase{Name: "fault", From: faultAt, To: healAt}
	x.recovery = Phase{Name: "recovery", From: healAt, To: loadEnd}
	return ctx.Err()
}

// afterLoad re-drives the undecided keys, waits for the shop to settle,
// reads its books, waits for ordersvc's goroutines and stops the stack.
func (x *experimentRun) afterLoad(ctx context.Context) error {
	s := x.cfg.settings
	x.pending = undecided(x.gen.Exchanges())
	x.left = redrive(ctx, x.gen, x.reqs, x.pending, s.redriveBound())
	x.event("re-drive", fmt.Sprintf("%d undecided keys asked again, %d still undecided", len(x.pending), len(x.left)))
	x.settled = settle(ctx, x.a, x.smp, x.st, s.settleBound())
	x.settled.Undecided = len(x.left)
	x.settled.Recovered = x.st.log.recoveredOrders()
	x.event("settled", fmt.Sprintf("%d unresolved orders, %d held reservations", x.settled.Unresolved, x.settled.Held))
	if err := ctx.Err(); err != nil {
		return err
	}

	x.exchanges = x.gen.Exchanges()
	x.books, x.booksErr = readBooks(ctx, x.a, x.st, x.cat.initial)
	var getErr error
	x.retrieved, getErr = retrieve(ctx, x.a, x.st, x.exchanges)
	if x.booksErr == nil {
		x.booksErr = getErr
	}
	// The runner's idle connections are not ordersvc's leak: close them
	// (the scrapes then use one connection, as during the baseline).
	x.gen.close()
	x.a.close()
	x.goroutines = waitGoroutines(ctx, x.smp, x.st.proxies, x.steady, goroutineBound)
	x.smp.Stop()
	if err := ctx.Err(); err != nil {
		return err
	}
	x.closeStack()
	return nil
}

// judge evaluates the checks over what was observed and writes the report.
func (x *experimentRun) judge() *Report {
	cfg := x.cfg
	o := observations{
		exp: x.exp, settings: cfg.settings, exchanges: x.exchanges, samples: x.smp.Samples(), rate: cfg.opts.Rate,
		steady: x.steady, fault: x.fault, recovery: x.recovery,
		probe: x.probed, attempts: countAttempts(x.exchanges, x.st.log, cfg.settings.RetryMaxAttempts),
		served: x.st.log.servedIn, t0: x.t0,
		books: x.books, retrieved: x.retrieved, requests: x.reqs, settle: x.settled, goroutines: x.goroutines,
		log: x.st.log, marks: &x.st.marks,
	}
	checks := evaluate(o)
	if x.booksErr != nil {
		for i := range checks {
			if checks[i].ID[0] == '6' {
				checks[i].Result = Fail
				checks[i].Details = append(checks[i].Details, "cannot read the books: "+x.booksErr.Error())
			}
		}
	}
	r := newReport(x.exp, cfg, o, checks, x.events)
	r.Started, r.Took = x.began, Millis(time.Since(x.began))
	r.Target, r.Stack = cfg.opts.Target, x.st.where
	r.Redrive = redriveResult{Keys: len(x.pending), Left: len(x.left)}
	if x.stopErr != nil {
		r.StopError = x.stopErr.Error()
	}
	return r
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
