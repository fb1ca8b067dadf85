package loadbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/kitshop/kitshop/internal/cli"
)

// Run is the loadbench command. When args[0] names a service (usersvc,
// productsvc, ordersvc, gateway) or the raw reference server (rawusers),
// it runs that instead: the benchmark starts its children from its own
// executable. It returns the process exit status: 0 after a complete run
// (whether or not every goal was met: the report says), 1 when the run
// could not be completed, 2 for bad usage.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isChild(args[0]) {
		return runChild(ctx, args, getenv, stdout, stderr)
	}
	opts, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 2
	}
	if opts.profileDir != "" { // the load generator's own profile, beside the children's
		stop, err := startProfiles(opts.profileDir, "loadbench")
		if err != nil {
			fmt.Fprintf(stderr, "loadbench: %v\n", err)
			return 1
		}
		defer stop()
	}
	report, err := run(ctx, opts, "", stdout)
	if err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 1
	}
	report.Command = "loadbench " + strings.Join(args, " ")
	report.Print(stdout)
	if opts.jsonPath != "" {
		if err := report.WriteJSON(opts.jsonPath); err != nil {
			fmt.Fprintf(stderr, "loadbench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nJSON report: %s\n", opts.jsonPath)
	}
	return 0
}

func isChild(name string) bool {
	return name == rawName || name == kitName || slices.Contains(cli.ServiceNames(), name)
}

// runChild runs one service (or the raw reference) in this process,
// pinned to the CPUs in LOADBENCH_CPUS and profiled into
// LOADBENCH_PROFILE_DIR when those are set.
func runChild(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	name := args[0]
	if list := getenv(cpusEnv); list != "" {
		cpus, err := parseInts(list)
		if err == nil {
			err = pinSelf(cpus)
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 1
		}
	}
	if dir := getenv(profileEnv); dir != "" {
		stop, err := startProfiles(dir, name)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 1
		}
		defer stop()
	}
	run := RunRawUsers
	if name != rawName && name != kitName {
		run = cli.Services()[name]
	}
	if err := run(ctx, args[1:], getenv, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return cli.ExitCode(err)
	}
	return 0
}

// startProfiles starts a CPU profile of this process into dir; stop ends
// it and writes the allocation profile beside it.
func startProfiles(dir, name string) (stop func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(dir + "/" + name + ".cpu.pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		if a, err := os.Create(dir + "/" + name + ".allocs.pprof"); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(a, 0)
			_ = a.Close()
		}
	}, nil
}

// runner holds what the phases of one run share.
type runner struct {
	opts  options
	s     *stack
	out   io.Writer
	meter cpuMeter
}

// run runs the phases opts asks for and returns the report. exe runs the
// children ("" for this process's own executable).
func run(ctx context.Context, opts options, exe string, out io.Writer) (*Report, error) {
	rep := &Report{Started: time.Now().UTC(), Machine: describeMachine(), Settings: Settings{
		Duration: opts.window, Warmup: opts.warmup, Rounds: opts.rounds, Workers: opts.workers,
		OpenLoop: opts.openConns, Users: opts.users, Products: opts.products,
	}}
	m := rep.Machine
	fmt.Fprintf(out, "loadbench: %d CPUs (%s), %d MiB, %s %s; 1-minute load average %.2f\n",
		m.CPUs, m.CPUModel, m.MemoryMiB, m.GoVersion, m.OS, m.LoadBefore)
	if rep.Machine.LoadBefore > 0.5 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the machine was already loaded at the start (1-minute load average %.2f): other processes compete for the CPUs; see each window's 'others' CPU", rep.Machine.LoadBefore))
	}

	var serviceCPUs []int
	rep.Pinning = "none (-pin=false)"
	if opts.pin {
		allowed, err := allowedCPUs()
		loadgen, services := splitCPUs(allowed)
		switch {
		case err != nil:
			rep.Pinning = "none: " + err.Error()
		case loadgen == nil:
			rep.Pinning = fmt.Sprintf("none: only %d CPU available", len(allowed))
		default:
			if err := pinSelf(loadgen); err != nil {
				return nil, err
			}
			serviceCPUs = services
			rep.Pinning = fmt.Sprintf("load generator on CPU %s, services and raw reference on CPU %s (sched_setaffinity on every thread, GOMAXPROCS to match)",
				joinInts(loadgen), joinInts(services))
		}
	}
	fmt.Fprintf(out, "loadbench: pinning: %s\n", rep.Pinning)
	fmt.Fprintf(out, "loadbench: phases %s; about %s in all\n", strings.Join(opts.phases, ", "), opts.estimate().Round(time.Second))

	if opts.runs(phaseChain) {
		c, err := benchChain()
		if err != nil {
			return nil, err
		}
		rep.Chain = c
		fmt.Fprintf(out, "  chain: %.0f ns/op, %d allocs/op in process\n", c.NsPerOp, c.AllocsPerOp)
	}
	needStack := slices.ContainsFunc(opts.phases, func(p string) bool { return p != phaseChain })
	if needStack {
		if err := runStack(ctx, opts, exe, out, serviceCPUs, rep); err != nil {
			return nil, err
		}
	}
	rep.Machine.LoadAfter = loadAverage()
	rep.Finished = time.Now().UTC()
	rep.EvaluateGoals()
	return rep, nil
}

// runStack starts the services and runs the phases that need them.
func runStack(ctx context.Context, opts options, exe string, out io.Writer, cpus []int, rep *Report) (err error) {
	fmt.Fprintf(out, "  starting usersvc, productsvc, ordersvc, gateway\n")
	s, err := startStack(ctx, exe, cpus, opts.profileDir)
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := s.close(); stopErr != nil && err == nil && ctx.Err() == nil {
			// The breaker phase kills usersvc on purpose; only others count.
			if msg := stopErr.Error(); !strings.Contains(msg, userName+": signal: killed") || strings.Count(msg, "\n") > 0 {
				rep.Notes = append(rep.Notes, "stopping the services: "+strings.ReplaceAll(msg, "\n", "; "))
			}
		}
	}()
	idle := map[string]float64{}
	for _, name := range []string{userName, productName, orderName, gatewayName} {
		idle[name], _, _ = rss(s.pid(name))
	}
	fmt.Fprintf(out, "  seeding %d users (bcrypt) and %d products\n", opts.users, opts.products)
	if err := s.seed(ctx, opts.users, opts.products); err != nil {
		return err
	}
	if err := s.startRaw(ctx); err != nil {
		return err
	}
	idle[rawName], _, _ = rss(s.pid(rawName))
	idle[kitName], _, _ = rss(s.pid(kitName))

	r := &runner{opts: opts, s: s, out: out, meter: cpuMeter{all: s.allPIDs}}
	sampler := startRSSSampler(s, 200*time.Millisecond)
	if opts.runs(phaseServer) {
		rep.Comparisons = append(rep.Comparisons, r.compare(ctx, CompareServer,
			wireGetUsers("usersvc", s.addrs[userName], s.users, s.tokens, s.pids(userName)),
			wireGetUsers("raw net/http", s.addrs[rawName], s.users, s.tokens, s.pids(rawName))))
		rep.Comparisons = append(rep.Comparisons, r.compare(ctx, CompareKit,
			wireGetUsers("go-kit alone", s.addrs[kitName], s.users, s.tokens, s.pids(kitName)),
			wireGetUsers("raw net/http", s.addrs[rawName], s.users, s.tokens, s.pids(rawName))))
	}
	if opts.runs(phaseClient) {
		resilient, closeResilient, err := resilientGetUser("resilient client", s.url(userName), s.users, s.serviceTokens(), s.pids(userName))
		if err != nil {
			return err
		}
		raw, closeRaw := rawGetUser("raw http.Client", s.url(userName), s.users, s.serviceTokens(), max(opts.workers, opts.openConns), 0, s.pids(userName))
		rawTimeout, closeRawTimeout := rawGetUser("raw, Client.Timeout", s.url(userName), s.users, s.serviceTokens(), max(opts.workers, opts.openConns),
			time.Second, s.pids(userName)) // CALL_TIMEOUT's default, as resilientGetUser has
		c := r.compare(ctx, CompareClient, resilient, raw)
		// Here the clients are the subject: their CPU is the load generator's.
		c.CPURatio = ratio(c.Reference.LoadgenCPU, c.Subject.LoadgenCPU)
		// At saturation a p99 measures the server's queue; the clients'
		// latencies are compared at the same fixed rate, half the maximum.
		c.Open = r.compareOpen(ctx, resilient, raw, c.Reference.RPS/2)
		rep.Comparisons = append(rep.Comparisons, c)
		// The raw client above sets no per-call deadline; one that does, as
		// the resilient client must (CALL_TIMEOUT), pays for a timer too.
		ct := r.compare(ctx, CompareClientTimeout, resilient, rawTimeout)
		ct.CPURatio = ratio(ct.Reference.LoadgenCPU, ct.Subject.LoadgenCPU)
		rep.Comparisons = append(rep.Comparisons, ct)
		closeResilient()
		closeRaw()
		closeRawTimeout()
	}
	if opts.runs(phaseGateway) {
		rep.Comparisons = append(rep.Comparisons, r.compare(ctx, CompareGateway,
			wireGetUsers("via gateway", s.addrs[gatewayName], s.users, s.tokens, s.pids(gatewayName, userName)),
			wireGetUsers("direct", s.addrs[userName], s.users, s.tokens, s.pids(userName))))
	}
	if opts.runs(phaseOrders) {
		rep.Orders = r.orders(ctx)
	}
	loaded := sampler.stop()
	for _, name := range []string{userName, productName, orderName, gatewayName, rawName, kitName} {
		_, peak, _ := rss(s.pid(name))
		rep.Memory = append(rep.Memory, Memory{Process: name, Idle: idle[name], Loaded: loaded[name], Peak: peak})
	}
	if opts.runs(phaseBreaker) {
		b, err := r.breaker(ctx)
		if err != nil {
			return err
		}
		rep.Breaker = b
	}
	return ctx.Err()
}
