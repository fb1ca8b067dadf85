package loadbench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the benchmark's children too: started
// with a service name as its first argument, it runs that service, as
// cmd/loadbench does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && isChild(os.Args[1]) {
		os.Exit(Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestSmokeRun runs every phase briefly against the real services and
// checks that each measured something, without errors, and that the table
// and the JSON came out.
func TestSmokeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and loads them for several seconds")
	}
	// The run pins this process; put it back for the tests after this one.
	allowed, _ := allowedCPUs()
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		if len(allowed) > 0 {
			_ = pinSelf(allowed)
		}
		runtime.GOMAXPROCS(procs)
	})

	jsonPath := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := Run(ctx, []string{"-duration", "300ms", "-warmup", "100ms", "-rounds", "1", "-workers", "4",
		"-open-conns", "4", "-users", "2", "-products", "2", "-json", jsonPath}, os.Getenv, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr.String(), stdout.String())
	}
	out := stdout.String()
	for _, want := range []string{CompareServer, CompareKit, CompareClient, CompareClientTimeout, CompareGateway, "POST /v1/orders end to end", "-- goals", "JSON report"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	r := readReport(t, jsonPath)
	if len(r.Comparisons) != 5 {
		t.Fatalf("%d comparisons, want 5", len(r.Comparisons))
	}
	measured := func(what string, s Summary) {
		if s.Requests == 0 || s.Errors != 0 {
			t.Errorf("%s (%s): %d requests, %d errors", what, s.Target, s.Requests, s.Errors)
		}
	}
	for _, c := range r.Comparisons {
		measured(c.Name, c.Subject)
		measured(c.Name, c.Reference)
	}
	client, _ := r.comparison(CompareClient)
	if o := client.Open; o == nil {
		t.Errorf("%s: no fixed-rate comparison", client.Name)
	} else {
		measured("clients at a fixed rate", o.Subject)
		measured("clients at a fixed rate", o.Reference)
	}
	measured("orders", r.Orders.Max)
	if len(r.Orders.Open) != 2 {
		t.Errorf("orders: %d open-loop windows, want 2", len(r.Orders.Open))
	}
	for _, o := range r.Orders.Open {
		measured("orders open loop", o.Summary)
	}
	measured("breaker", r.Breaker.Max)
	if len(r.Breaker.Open) != 2 || r.Breaker.OpenedAfter <= 0 {
		t.Errorf("breaker: %+v", r.Breaker)
	}
	if r.Breaker.Floor == nil {
		t.Error("breaker: no raw floor")
	} else {
		measured("raw floor", r.Breaker.Floor.Summary)
	}
	for _, o := range r.Breaker.Open {
		measured("breaker open loop", o.Summary)
		if o.ServerSide == nil || o.ServerSide.Count == 0 {
			t.Errorf("breaker open loop %.0f%%: no server-side histogram", o.Fraction*100)
		}
	}
	if len(r.Memory) != 6 {
		t.Errorf("memory of %d processes, want 6 (four services, two references)", len(r.Memory))
	}
	for _, m := range r.Memory {
		if m.Idle <= 0 || m.Peak < m.Idle {
			t.Errorf("memory %+v", m)
		}
	}
	if r.Chain.NsPerOp <= 0 || len(r.Goals) == 0 {
		t.Errorf("chain %+v, %d goals", r.Chain, len(r.Goals))
	}
}
