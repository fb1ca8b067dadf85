package loadbench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Phases of a run, in the order they run.
const (
	phaseChain   = "chain"   // in-process client chain benchmark
	phaseServer  = "server"  // usersvc vs raw net/http server
	phaseClient  = "client"  // resilient client vs raw http.Client
	phaseGateway = "gateway" // through the gateway vs direct
	phaseOrders  = "orders"  // POST /v1/orders end to end
	phaseBreaker = "breaker" // fast fail with usersvc killed (last: it kills usersvc)
)

var allPhases = []string{phaseChain, phaseServer, phaseClient, phaseGateway, phaseOrders, phaseBreaker}

// options are the command's flags.
type options struct {
	window     time.Duration
	warmup     time.Duration
	rounds     int
	workers    int
	openConns  int
	users      int
	products   int
	jsonPath   string
	pin        bool
	profileDir string
	phases     []string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: loadbench [flags]\n\n"+
			"Starts usersvc, productsvc, ordersvc, the gateway and a raw net/http reference server\n"+
			"on loopback, measures each hop against raw net/http, prints tables and writes JSON.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.DurationVar(&o.window, "duration", 3*time.Second, "length of each measured window (a run is about 27 windows plus set-up)")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured load before each window")
	fs.IntVar(&o.rounds, "rounds", 3, "alternating rounds of each comparison")
	fs.IntVar(&o.workers, "workers", 16, "concurrent workers of the closed-loop windows")
	fs.IntVar(&o.openConns, "open-conns", 64, "connections of the open-loop (fixed-rate) windows")
	fs.IntVar(&o.users, "users", 16, "users to create (bcrypt at the default cost: about 0.1s each)")
	fs.IntVar(&o.products, "products", 8, "products to create")
	fs.StringVar(&o.jsonPath, "json", "loadbench.json", "where to write the JSON report (\"\" for nowhere)")
	fs.BoolVar(&o.pin, "pin", true, "pin the load generator and the services to different CPUs when there are 2 or more")
	fs.StringVar(&o.profileDir, "profile", "", "directory for each child's CPU and allocation profiles (pprof), written when it stops")
	phases := fs.String("phases", strings.Join(allPhases, ","), "phases to run, comma-separated: "+strings.Join(allPhases, ", "))
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.window <= 0, o.warmup < 0:
		return o, errors.New("-duration must be positive and -warmup not negative")
	case o.rounds < 1, o.workers < 1, o.openConns < 1, o.users < 1, o.products < 1:
		return o, errors.New("-rounds, -workers, -open-conns, -users and -products must be at least 1")
	}
	for _, p := range strings.Split(*phases, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(allPhases, p) {
			return o, fmt.Errorf("-phases: unknown phase %q (want %s)", p, strings.Join(allPhases, ", "))
		}
		o.phases = append(o.phases, p)
	}
	return o, nil
}

func (o options) runs(phase string) bool { return slices.Contains(o.phases, phase) }

// estimate is roughly how long a run with these options takes.
func (o options) estimate() time.Duration {
	per := o.warmup + o.window
	var d time.Duration = 5 * time.Second // start, seed, stop
	if o.runs(phaseChain) {
		d += 3 * time.Second
	}
	for _, p := range []string{phaseServer, phaseClient, phaseGateway} {
		if o.runs(p) {
			d += time.Duration(2*o.rounds) * per
		}
	}
	if o.runs(phaseClient) { // and the clients at one fixed rate
		d += 4*o.warmup + 2*o.window
	}
	if o.runs(phaseOrders) {
		d += 3 * per
	}
	if o.runs(phaseBreaker) {
		d += 4*per + time.Second
	}
	return d
}
