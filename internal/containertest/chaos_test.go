package containertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// chaosAgainstCompose runs cmd/chaos's kill-user experiment against a
// compose project of its own, on the image the test built: usersvc's
// container is killed under load and started again, and every check of
// the contract is judged on the containers.
//
// As in the chaos package's own experiment test, the p99 < 10ms of the
// refused requests is not held against the test (the breaker must still
// open within 1s): with about a hundred refusals, p99 is their max, and one
// scheduling stall of the shared machine, or of Docker's port forwarding,
// decides it. CI's full run against the containers judges it.
func (w *walk) chaosAgainstCompose(ctx context.Context, t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "chaos")
	build := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/chaos")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/chaos: %v\n%s", err, out)
	}
	// The walk's stack is done with: its healthchecks (a process started
	// in each container every 2s) would compete for the two cores.
	w.s.must(ctx, "down", "-v", "--remove-orphans", "-t", "5")
	report := t.TempDir()
	began := time.Now()
	run := exec.CommandContext(ctx, exe, "-target", "compose", "-image", w.s.image,
		"-compose-file", filepath.Join(root, "docker-compose.yml"),
		"-experiment", "kill-user", "-duration", "5s", "-rate", "40", "-report", report)
	run.Env = w.s.env
	run.WaitDelay = 10 * time.Second
	out, err := run.CombinedOutput()
	t.Logf("chaos -target compose -experiment kill-user: %s\n%s", time.Since(began).Round(100*time.Millisecond), out)
	if exit, ok := err.(*exec.ExitError); err != nil && (!ok || exit.ExitCode() != 1) {
		t.Fatalf("chaos could not run the experiment: %v", err)
	}
	var r struct {
		Target string
		Checks []struct{ ID, Name, Result, Measured string }
		Phases []struct {
			TimeToOpen *float64 `json:"time_to_open_ms"`
		}
	}
	data, err := os.ReadFile(filepath.Join(report, "kill-user.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Target != "compose" || len(r.Checks) != 10 || len(r.Phases) != 3 {
		t.Fatalf("report: target %q, %d checks, %d phases", r.Target, len(r.Checks), len(r.Phases))
	}
	if open := r.Phases[1].TimeToOpen; open == nil || *open > 1000 {
		t.Errorf("the user breaker did not open within 1s of the kill (time to open: %v ms)", open)
	}
	for _, c := range r.Checks {
		switch {
		case c.Result == "PASS" || c.Result == "SKIP":
		case c.ID == "4" && c.Result == "FAIL":
			t.Logf("check 4 not held against the test (see its doc): %s", c.Measured)
		default:
			t.Errorf("check %s %s: %s (%s)", c.ID, c.Name, c.Result, c.Measured)
		}
	}
}
