package chaos

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Defaults of the runner's flags. The short form CI uses is
// -duration 8s -rate 40.
const (
	DefaultDuration  = 15 * time.Second
	DefaultRate      = 50
	DefaultReportDir = "./chaos-report"
	DefaultSeed      = 1

	minDuration = 3 * time.Second
	maxDuration = 30 * time.Minute
	maxRate     = 1000
)

// Options are the runner's parsed command line.
type Options struct {
	// List only names the experiments.
	List bool
	// Experiments are the experiments to run, in order.
	Experiments []Experiment
	// Duration is the load time of one experiment, over its three phases.
	Duration time.Duration
	// Rate is the load in requests per second.
	Rate int
	// ReportDir receives <experiment>.json, <experiment>.svg,
	// <experiment>.log and the summary.
	ReportDir string
	// Seed makes the load (users, products, quantities) repeatable.
	Seed int64
	// Verbose copies the services' output to stderr as well as to the log
	// file.
	Verbose bool
}

// errUsage marks errors of the command line: exit status 2.
var errUsage = errors.New("usage")

// parseOptions reads args. A -help request returns flag.ErrHelp; every other
// error is one line and wraps errUsage.
func parseOptions(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	var name string
	fs.BoolVar(&o.List, "list", false, "list the experiments and exit")
	fs.StringVar(&name, "experiment", "", "experiment to run, or \"all\" (see -list)")
	fs.DurationVar(&o.Duration, "duration", DefaultDuration, "load time of each experiment (steady, fault and recovery phases scale with it)")
	fs.IntVar(&o.Rate, "rate", DefaultRate, "requests per second, open loop")
	fs.StringVar(&o.ReportDir, "report", DefaultReportDir, "directory for the JSON reports, SVG charts, service logs and summary")
	fs.Int64Var(&o.Seed, "seed", DefaultSeed, "seed of the load's random choices")
	fs.BoolVar(&o.Verbose, "v", false, "also copy the services' output to stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: chaos -experiment NAME|all [-duration D] [-rate N] [-report DIR]\n"+
			"       chaos -list\n"+
			"       chaos usersvc|productsvc|ordersvc|gateway [service flags]   (runs that service)\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if o.List {
		return o, nil
	}
	switch {
	case name == "":
		return o, fmt.Errorf("%w: -experiment is required (one of %s, or all)", errUsage, strings.Join(experimentNames(), ", "))
	case o.Duration < minDuration || o.Duration > maxDuration:
		return o, fmt.Errorf("%w: -duration %s out of range [%s, %s]", errUsage, o.Duration, minDuration, maxDuration)
	case o.Rate < 1 || o.Rate > maxRate:
		return o, fmt.Errorf("%w: -rate %d out of range [1, %d]", errUsage, o.Rate, maxRate)
	case o.ReportDir == "":
		return o, fmt.Errorf("%w: -report is empty", errUsage)
	}
	exps, err := selectExperiments(name)
	if err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	o.Experiments = exps
	return o, nil
}
