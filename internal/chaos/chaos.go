package chaos

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kitshop/kitshop/internal/cli"
)

// Exit statuses of Run.
const (
	ExitPass  = 0 // every check held
	ExitFail  = 1 // a check failed
	ExitNoRun = 2 // an experiment could not run (or bad usage, or interrupted)
)

// Run is the chaos command. When args[0] names a service (usersvc,
// productsvc, ordersvc, gateway) it runs that service instead, so that the
// runner can start the stack from its own executable. It returns the
// process exit status: 0 when every check held, 1 when one failed, 2 when
// an experiment could not run (bad usage, a child that would not start,
// ctx cancelled).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && slices.Contains(cli.ServiceNames(), args[0]) {
		if err := cli.RunService(ctx, args[0], args[1:], getenv, stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", args[0], oneLine(err.Error()))
			return cli.ExitCode(err)
		}
		return 0
	}
	return runChaos(ctx, args, getenv, stdout, stderr, "")
}

// runChaos runs the experiments; executable runs the services ("" for
// this process's own executable).
func runChaos(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, executable string) int {
	opts, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitPass
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaos: %s\n", oneLine(err.Error()))
		return ExitNoRun
	}
	if opts.List {
		for _, e := range experiments() {
			fmt.Fprintf(stdout, "%-14s %s\n", e.Name, e.Description)
		}
		return ExitPass
	}
	settings, err := settingsFromEnv(getenv, opts.Postgres != "")
	if err != nil {
		fmt.Fprintf(stderr, "chaos: %s\n", err)
		return ExitNoRun
	}
	if err := os.MkdirAll(opts.ReportDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "chaos: report dir: %s\n", oneLine(err.Error()))
		return ExitNoRun
	}
	cfg := runConfig{opts: opts, settings: settings, executable: executable, stdout: stdout, stderr: stderr}
	fmt.Fprintf(stdout, "chaos: %d experiment(s) on target %s, load %s at %d requests/s each, seed %d, reports in %s\n",
		len(opts.Experiments), opts.Target, opts.Duration, opts.Rate, opts.Seed, opts.ReportDir)
	fmt.Fprintf(stdout, "chaos: settings passed to the services: %v\n", settings.env())

	began := time.Now()
	var reports []*Report
	for _, exp := range opts.Experiments {
		fmt.Fprintf(stdout, "\n-- %s: %s\n", exp.Name, exp.Description)
		r, err := runExperiment(ctx, exp, cfg)
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "chaos: interrupted during %s; services stopped\n", exp.Name)
			return ExitNoRun
		}
		if err != nil {
			fmt.Fprintf(stderr, "chaos: %s could not run: %s\n", exp.Name, oneLine(err.Error()))
			return ExitNoRun
		}
		r.printTable(stdout)
		if err := r.writeFiles(opts.ReportDir); err != nil {
			fmt.Fprintf(stderr, "chaos: write report: %s\n", oneLine(err.Error()))
			return ExitNoRun
		}
		reports = append(reports, r)
	}
	took := time.Since(began)
	printSummary(stdout, reports, took)
	if err := writeSummary(opts.ReportDir, reports, took); err != nil {
		fmt.Fprintf(stderr, "chaos: write summary: %s\n", oneLine(err.Error()))
		return ExitNoRun
	}
	for _, r := range reports {
		if !r.Passed {
			fmt.Fprintf(stderr, "chaos: %s failed: %s\n", r.Experiment, strings.Join(r.FailedChecks(), "; "))
		}
	}
	for _, r := range reports {
		if !r.Passed {
			return ExitFail
		}
	}
	return ExitPass
}
