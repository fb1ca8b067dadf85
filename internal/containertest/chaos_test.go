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
	report := t.TempDir()
	began := time.Now()
	run := exec.CommandContext(ctx, exe, "-target", "compose", "-image", w.s.image,
		"-compose-file", filepath.Join(root, "docker-compose.yml"),
		"-experiment", "kill-user", "-duration", "5s", "-rate", "40", "-report", report)
	run.Env = w.s.env
	run.WaitDelay = 10 * time.Second
	out, err := run.CombinedOutput()
	t.Logf("chaos -target compose -experiment kill-user: %s\n%s", time.Since(began).Round(100*time.Millisecond), out)
	if err != nil {
		t.Fatalf("chaos exited: %v", err)
	}
	var r struct {
		Target string
		Passed bool
		Checks []struct{ ID, Result string }
	}
	data, err := os.ReadFile(filepath.Join(report, "kill-user.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Target != "compose" || !r.Passed || len(r.Checks) != 10 {
		t.Fatalf("report: target %q, passed %v, %d checks", r.Target, r.Passed, len(r.Checks))
	}
}
