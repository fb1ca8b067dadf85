package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs the README's walk-through block verbatim, with
// only the gateway's address changed, and checks what it prints.
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
	out, err := exec.Command("bash", "-euo", "pipefail", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through failed: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`user usr_[0-9a-z]{26}`),
		regexp.MustCompile(`product prd_[0-9a-z]{26}`),
		regexp.MustCompile(`HTTP/1.1 201 Created`),
		regexp.MustCompile(`"total_cents":250000,"status":"confirmed"`),
		regexp.MustCompile(`HTTP/1.1 409 Conflict`),
		regexp.MustCompile(`"code":"insufficient_stock","message":"insufficient stock for product prd_[0-9a-z]{26}: 1 left, 2 requested"`),
		regexp.MustCompile(`"stock":1,`),
	} {
		if !want.MatchString(text) {
			t.Errorf("walk-through output lacks %s:\n%s", want, text)
		}
	}
	// The replayed order is the same order: exactly one order in the list.
	ids := regexp.MustCompile(`"id":"(ord_[0-9a-z]{26})"`).FindAllStringSubmatch(text, -1)
	seen := map[string]bool{}
	for _, m := range ids {
		seen[m[1]] = true
	}
	if len(seen) != 1 {
		t.Errorf("walk-through shows %d distinct orders, want 1:\n%s", len(seen), text)
	}
}
