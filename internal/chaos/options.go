package chaos

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
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
	// DefaultComposeFile and DefaultImage are the compose target's
	// defaults: the repository's file, and the image it names.
	DefaultComposeFile = "docker-compose.yml"
	DefaultImage       = "kitshop:local"

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
	// Target is what the services run as: TargetProcess (child processes)
	// or TargetCompose (containers of ComposeFile, running Image).
	Target      string
	ComposeFile string
	Image       string
	// Postgres, if set, is a PostgreSQL server on which the process target
	// creates fresh databases for each experiment (and drops them after).
	Postgres string
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
	fs.StringVar(&o.Target, "target", TargetProcess, "what the services run as: process (child processes on loopback) or compose (containers of -compose-file)")
	fs.StringVar(&o.ComposeFile, "compose-file", DefaultComposeFile, "the compose target's docker-compose.yml")
	fs.StringVar(&o.Image, "image", DefaultImage, "the compose target's image (build it first: scripts/docker-build-offline.sh, or docker compose build)")
	fs.StringVar(&o.Postgres, "postgres", "", "run the process target on this PostgreSQL server (postgres://user:pass@host:port/): fresh databases per experiment, dropped after")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: chaos -experiment NAME|all [-duration D] [-rate N] [-report DIR] [-target process|compose] [-postgres URL]\n"+
			"       chaos -list\n"+
			"       chaos usersvc|productsvc|ordersvc|gateway [service flags]   (runs that service)\n\nflags:\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\n"+tableHelp)
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
	case o.Target != TargetProcess && o.Target != TargetCompose:
		return o, fmt.Errorf("%w: -target %q: want %s or %s", errUsage, o.Target, TargetProcess, TargetCompose)
	case o.Target == TargetCompose && o.Postgres != "":
		return o, fmt.Errorf("%w: -postgres applies to -target %s only (docker-compose.postgres.yml runs the containers on PostgreSQL)", errUsage, TargetProcess)
	case o.Postgres != "" && !strings.HasPrefix(o.Postgres, "postgres://") && !strings.HasPrefix(o.Postgres, "postgresql://"):
		return o, fmt.Errorf("%w: -postgres: want a postgres:// URL", errUsage)
	}
	exps, err := selectExperiments(name)
	if err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if o.Target == TargetCompose {
		// Several instances of each service run as processes only; "all"
		// on compose is the dependency experiments.
		if name != "all" && exps[0].Instances > 0 {
			return o, fmt.Errorf("%w: -experiment %s runs on -target %s only", errUsage, name, TargetProcess)
		}
		exps = slices.DeleteFunc(exps, func(e Experiment) bool { return e.Instances > 0 })
	}
	o.Experiments = exps
	return o, nil
}

// tableHelp explains the per-phase table each experiment prints (and
// summary.txt holds). The README's chaos section shows the same text.
const tableHelp = `The table, one row per phase (steady: before the fault; fault: from the fault to the heal;
recovery: from the heal to the end of the load). A request counts in the phase in which its
answer came, so one cut short by the fault counts with the fault.
  span         when the phase ran, in seconds since the load started
  reqs         load requests answered in the phase (first tries; re-drives are not counted)
  ok%          answers below 500: a 201, or the 4xx a deliberately bad order deserves
  codes        answers by status, or by transport error (timeout, refused, reset, eof)
  p50 p99 max  latency at the client over every answer of the phase, refusals included
  retries/req  ordersvc's dependency_retries_total over the phase, per request
  open         fault row: from the fault to the first scrape showing the breaker open
  fast 503     fault row: from the fault to the first 503 answered in under 10ms
  recover      recovery row: from the heal to the start of the first 1s with >= 99% ok
Then one row per contract check: what was measured against what threshold, PASS or FAIL.
`
