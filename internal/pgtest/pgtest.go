// Package pgtest gives tests throwaway PostgreSQL databases, so that the
// storage suites run on PostgreSQL as well as SQLite with a plain
// `go test ./...`.
//
// Where the databases come from, decided once per test binary:
//
//  1. KITSHOP_TEST_POSTGRES_URL set (postgres://user:pass@host:port/[db], a
//     role that may CREATE DATABASE; db, "postgres" if none, is where it
//     connects to create the others): every URL call creates a fresh
//     database kitshop_test_<random> on that server and drops it when the
//     test ends. The server is shared, so Local skips.
//  2. Otherwise, if PostgreSQL's server programs are installed (initdb and
//     postgres: KITSHOP_TEST_POSTGRES_BIN names their directory, else
//     pg_config --bindir, initdb on PATH, /usr/lib/postgresql/*/bin,
//     /usr/pgsql-*/bin, /usr/local/pgsql/bin, Homebrew's), the first URL
//     call starts a throwaway server for the whole test binary (about a
//     second): a fresh cluster (initdb) in a temporary directory, trust
//     authentication, listening on a free 127.0.0.1 port and a socket in
//     that directory, fsync off. As root it runs as the "postgres" OS user
//     (the server refuses root). Every URL call creates a database on it.
//     Main stops it and deletes its directory after the tests; should the
//     test binary die first, the kernel stops the server with it (Linux).
//  3. Otherwise the test is skipped, saying why; but with CI=true in the
//     environment it fails instead: CI must not pass by skipping the
//     PostgreSQL half of the suites. KITSHOP_TEST_POSTGRES=skip makes a
//     machine with PostgreSQL behave like one without (a quicker run).
//
// A server that is installed but will not start is a test failure, with
// the server's log, not a skip. PostgreSQL 13 or later (DROP DATABASE ...
// WITH (FORCE)).
//
// Wire it in with TestMain:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Main(m)) }
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable of an existing server to use.
const EnvURL = "KITSHOP_TEST_POSTGRES_URL"

// M is what TestMain runs: *testing.M, or what Main returns.
type M interface{ Run() int }

// Main wraps m so that running it also stops the throwaway server the
// tests may have started (before goleak looks for leftover goroutines).
func Main(m M) M { return mainRunner{m} }

type mainRunner struct{ m M }

func (r mainRunner) Run() int {
	code := r.m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// source is where this test binary gets its databases.
type source struct {
	admin string  // URL of the database to connect to to create others
	local *Server // the throwaway server, nil with EnvURL
}

var (
	mu      sync.Mutex
	current *source
	failure error // why there is no source, once decided; errUnavailable wraps a skip
)

// errUnavailable marks "no PostgreSQL here", which skips (or fails in CI);
// any other failure fails the test.
var errUnavailable = errors.New("no PostgreSQL for the tests")

func get() (*source, error) {
	mu.Lock()
	defer mu.Unlock()
	if current != nil || failure != nil {
		return current, failure
	}
	current, failure = open()
	return current, failure
}

func open() (*source, error) {
	if os.Getenv("KITSHOP_TEST_POSTGRES") == "skip" {
		return nil, fmt.Errorf("%w: KITSHOP_TEST_POSTGRES=skip", errUnavailable)
	}
	if u := os.Getenv(EnvURL); u != "" {
		parsed, err := url.Parse(u)
		if err != nil || !(strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")) {
			return nil, fmt.Errorf("%s must be a postgres:// URL", EnvURL)
		}
		if strings.Trim(parsed.Path, "/") == "" {
			u = withDatabase(u, "postgres") // somewhere to run CREATE DATABASE from
		}
		return &source{admin: u}, nil
	}
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	srv, err := startServer(bin)
	if err != nil {
		return nil, err
	}
	return &source{admin: srv.URL("postgres"), local: srv}, nil
}

func shutdown() error {
	mu.Lock()
	defer mu.Unlock()
	if current == nil || current.local == nil {
		return nil
	}
	err := current.local.destroy()
	current = nil
	failure = errors.New("pgtest: used after Main's tests ended")
	return err
}

// ci reports whether we run in CI, where a missing PostgreSQL is a failure.
func ci() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

func need(t testing.TB) *source {
	t.Helper()
	src, err := get()
	switch {
	case errors.Is(err, errUnavailable) && !ci():
		t.Skipf("PostgreSQL tests skipped: %v", err)
	case errors.Is(err, errUnavailable):
		t.Fatalf("CI=true and %v", err)
	case err != nil:
		t.Fatalf("PostgreSQL for the tests: %v", err)
	}
	return src
}

// URL returns the postgres:// URL of a new, empty database for t, dropped
// when t ends (after t's other cleanups, such as closing stores opened on
// it). It skips t when no PostgreSQL is available; see the package doc.
func URL(t testing.TB) string {
	t.Helper()
	src := need(t)
	name := "kitshop_test_" + randomHex(6)
	if err := adminExec(src.admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec(src.admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(src.admin, name)
}

// AdminURL returns the URL of the server's maintenance database, for tests
// that watch or disturb other sessions (pg_stat_activity,
// pg_terminate_backend); it skips t as URL does.
func AdminURL(t testing.TB) string {
	t.Helper()
	return need(t).admin
}

// Local returns the test binary's throwaway server, for tests that stop or
// restart it. It skips t when the databases come from a server named by
// KITSHOP_TEST_POSTGRES_URL: that one is not ours to restart. Such a test
// must leave the server running, and must not run in parallel with other
// tests of the package that use PostgreSQL.
func Local(t testing.TB) *Server {
	t.Helper()
	src := need(t)
	if src.local == nil {
		t.Skipf("the tests use the server of %s, which they do not restart", EnvURL)
	}
	return src.local
}

// adminExec runs one statement on the admin database, on a connection of
// its own (it outlives server restarts that way).
func adminExec(adminURL, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to the test server: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// withDatabase returns rawURL with its database (the URL path) replaced.
func withDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err) // checked in open
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
