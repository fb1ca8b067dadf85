package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEShowsThisProgram keeps the README's library example and this
// program the same, so that the README's compiles.
func TestREADMEShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)### Using the services as a library.*?```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no Go block under \"Using the services as a library\"")
	}
	prog, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(m[1]) != string(prog) {
		t.Errorf("README's library example differs from examples/shopclient/main.go:\n%s", m[1])
	}
}

// A client of the services links no storage: the program's import graph,
// and the order service's client package's, reach no database driver, no
// SQL store and no SQL helper. (database/sql itself comes in through
// Prometheus's collectors package, which is no driver.)
func TestClientsLinkNoDatabaseDriver(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".", "github.com/kitshop/kitshop/pkg/orderservice").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := regexp.MustCompile(`^(modernc\.org/sqlite|github\.com/jackc/pgx|github\.com/lib/pq|github\.com/mattn/go-sqlite3|` +
		`github\.com/kitshop/kitshop/internal/sqldb$|github\.com/kitshop/kitshop/pkg/\w+/\w+store$)`)
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %v", deps)
	}
	for _, dep := range deps {
		if forbidden.MatchString(dep) {
			t.Errorf("a client links %s", dep)
		}
	}
}
