package pgtest

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(Main(m))
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Every URL is a database of its own, empty, and gone after its test.
func TestURLGivesFreshDatabases(t *testing.T) {
	var first string
	t.Run("first", func(t *testing.T) {
		first = URL(t)
		conn := connect(t, first)
		if _, err := conn.Exec(context.Background(), `CREATE TABLE t (v TEXT)`); err != nil {
			t.Fatal(err)
		}
	})
	second := URL(t)
	if second == first {
		t.Fatalf("the same database twice: %s", first)
	}
	conn := connect(t, second)
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("second database has table t (%d, %v)", n, err)
	}
	var exists bool
	admin := connect(t, AdminURL(t))
	u, err := url.Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if err := admin.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || exists {
		t.Fatalf("database %s of the ended test still exists (%v)", name, err)
	}
}

// A restart keeps the data and the port.
func TestRestartKeepsDataAndPort(t *testing.T) {
	srv := Local(t)
	dbURL := URL(t)
	conn := connect(t, dbURL)
	if _, err := conn.Exec(context.Background(), `CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	port := srv.Port()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(context.Background(), dbURL); err == nil {
		t.Fatal("connected to a stopped server")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if srv.Port() != port {
		t.Fatalf("port %d after restart, was %d", srv.Port(), port)
	}
	var v string
	if err := connect(t, dbURL).QueryRow(context.Background(), `SELECT v FROM kept`).Scan(&v); err != nil || v != "x" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
}

// Without KITSHOP_TEST_POSTGRES_URL and without the server programs, the
// tests learn that PostgreSQL is unavailable (a skip, or a failure in CI),
// not some other error.
func TestNoServerProgramsIsUnavailable(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("KITSHOP_TEST_POSTGRES_BIN", "")
	saved := installDirs
	installDirs = []string{filepath.Join(t.TempDir(), "*", "bin")}
	defer func() { installDirs = saved }()
	_, err := findBinaries()
	if !errors.Is(err, errUnavailable) || !strings.Contains(err.Error(), EnvURL) {
		t.Fatalf("findBinaries() = %v, want errUnavailable naming %s", err, EnvURL)
	}
	dir := t.TempDir()
	t.Setenv("KITSHOP_TEST_POSTGRES_BIN", dir)
	if _, err := findBinaries(); err == nil || errors.Is(err, errUnavailable) {
		t.Fatalf("a wrong KITSHOP_TEST_POSTGRES_BIN: %v, want a failure, not a skip", err)
	}
}
