package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs the README's walk-through block verbatim, with
// only the gateway's address and the admin's password file changed, twice against the same shop and
// databases (as a reader who pastes it again does), and checks what each
// run prints.
func TestREADMEWalkthrough(t *testing.T) {
	s := startStack(t, nil)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)## Walk-through.*?```sh\n(.*?)```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README has no walk-through block")
	}
	script := strings.ReplaceAll(string(block[1]), "localhost:8080", strings.TrimPrefix(s.gateway, "http://"))
	// The stack keeps its admin's password where the shop does, in its
	// own data directory.
	script = strings.ReplaceAll(script, "data/admin-password", filepath.Join(s.data, "admin-password"))
	var users []string
	for run := 1; run <= 2; run++ {
		out, err := exec.Command("bash", "-euo", "pipefail", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: walk-through failed: %v\n%s", run, err, out)
		}
		users = append(users, checkWalkthrough(t, run, string(out)))
	}
	if users[0] == users[1] {
		t.Errorf("both runs show user %s, want a new user each run", users[0])
	}
}

// checkWalkthrough checks one run's output against what the README says it
// shows, and returns the user it made.
func checkWalkthrough(t *testing.T, run int, text string) string {
	t.Helper()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`user usr_[0-9a-z]{26}`),
		regexp.MustCompile(`product prd_[0-9a-z]{26}`),
		regexp.MustCompile(`HTTP/1.1 201 Created`),
		regexp.MustCompile(`"total_cents":250000,"status":"confirmed"`),
		regexp.MustCompile(`HTTP/1.1 409 Conflict`),
		regexp.MustCompile(`"code":"insufficient_stock","message":"insufficient stock for product prd_[0-9a-z]{26}: 98 left, 1000 requested"`),
		regexp.MustCompile(`"stock":98,`),
		regexp.MustCompile(`order ord_[0-9a-z]{26} again`),
		regexp.MustCompile(`Grace reads Ada's order: 404`),
		regexp.MustCompile(`no token: 401`),
	} {
		if !want.MatchString(text) {
			t.Errorf("run %d: walk-through output lacks %s:\n%s", run, want, text)
		}
	}
	if strings.Contains(text, "no id in the answer") {
		t.Errorf("run %d: an ID could not be read:\n%s", run, text)
	}
	// The replayed order is the same order: exactly one order in the list.
	ids := regexp.MustCompile(`"id":"(ord_[0-9a-z]{26})"`).FindAllStringSubmatch(text, -1)
	seen := map[string]bool{}
	for _, m := range ids {
		seen[m[1]] = true
	}
	if len(seen) != 1 {
		t.Errorf("run %d: walk-through shows %d distinct orders, want 1:\n%s", run, len(seen), text)
	}
	if m := regexp.MustCompile(`user (usr_[0-9a-z]{26})`).FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}
