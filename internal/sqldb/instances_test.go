package sqldb

// Several instances of a service on one SQLite file, as CONTRACT.md's
// "Several instances" allows: each instance its own *DB (connection pool),
// or its own OS process. SQLite keeps the locks of one process's
// connections in memory and takes the file's locks (fcntl) for the process
// as a whole, so only separate processes exercise the file locks. Either
// way, writers wait for each other (WAL, busy_timeout, BEGIN IMMEDIATE at
// every transaction's start) instead of failing with SQLITE_BUSY, and no
// read-then-write transaction loses another's update.

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kitshop/kitshop/internal/testkit"
)

// counterSchema is one counter that writers increment by reading it and
// writing it back (a lost update would show), and a log table that every
// increment adds a row to outside any transaction (autocommit writes wait
// for the lock too).
var counterSchema = fstest.MapFS{
	"1_counter.sql": {Data: []byte("CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);\n" +
		"INSERT INTO counter (id, n) VALUES (1, 0);\n" +
		"CREATE TABLE increments (writer TEXT NOT NULL, i BIGINT NOT NULL, PRIMARY KEY (writer, i));\n")},
}

// Writers per instance and increments per writer: 3 instances of 8 writers
// is more writers at once than the pool of one instance (8 connections).
const (
	writersPerInstance   = 8
	incrementsPerWriter  = 15
	incrementsByInstance = writersPerInstance * incrementsPerWriter
)

// increment runs writersPerInstance writers on db at once, each making
// incrementsPerWriter read-then-write increments, and returns the first
// error any of them met.
func increment(ctx context.Context, db *DB, instance string) error {
	var wg sync.WaitGroup
	errs := make(chan error, writersPerInstance)
	for w := range writersPerInstance {
		writer := fmt.Sprintf("%s/%d", instance, w)
		wg.Go(func() {
			for i := range incrementsPerWriter {
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					var n int64
					if err := tx.QueryRowContext(ctx, `SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `UPDATE counter SET n = ? WHERE id = 1`, n+1)
					return err
				})
				if err == nil {
					_, err = db.ExecContext(ctx, `INSERT INTO increments (writer, i) VALUES (?, ?)`, writer, i)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %s, increment %d: %w (unavailable: %v)", writer, i, err, IsUnavailable(err))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// checkCounter fails t unless instances made all their increments, each
// once.
func checkCounter(t *testing.T, db *DB, instances int) {
	t.Helper()
	var n, rows int64
	if err := db.QueryRow(`SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM increments`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	want := int64(instances * incrementsByInstance)
	if n != want || rows != want {
		t.Fatalf("counter = %d, logged increments = %d; want %d each (no update lost, none failed)", n, rows, want)
	}
}

// Three pools (three instances in one process) opened at once on a new
// file, so their migrations race too, then writing at once.
func TestSQLiteWritersOfSeveralPoolsWait(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	const instances = 3
	dbs := make([]*DB, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() { dbs[i], errs[i] = Open(context.Background(), url, counterSchema) })
	}
	wg.Wait()
	for i := range instances {
		if errs[i] != nil {
			t.Fatalf("instance %d: open: %v", i, errs[i])
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, db := range dbs {
		wg.Go(func() { errs[i] = increment(ctx, db, fmt.Sprintf("pool%d", i)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	checkCounter(t, dbs[0], instances)
}

// Instances started together on a new file all open it: each first
// connection turns the file to WAL, and SQLite refuses all but one of
// those switches at once, with SQLITE_BUSY, busy_timeout or not. Opening
// waits for the winner instead of failing (about one round in ten failed
// before it did).
func TestSQLiteNewFileOpenedByManyAtOnce(t *testing.T) {
	const rounds, instances = 40, 4
	for round := range rounds {
		url := "sqlite:" + filepath.Join(t.TempDir(), fmt.Sprintf("new%d.db", round))
		var wg sync.WaitGroup
		errs := make([]error, instances)
		for i := range instances {
			wg.Go(func() {
				db, err := Open(context.Background(), url, fstest.MapFS{})
				if err == nil {
					db.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, instance %d: %v", round, i, err)
			}
		}
	}
}

// childEnv makes this test binary a child instance of
// TestSQLiteWritersOfSeveralProcessesWait: its value is the database URL.
const childEnv = "KITSHOP_SQLDB_TEST_CHILD"

// Three OS processes (this test binary run again as a child) open one new
// file at once and write at once, each with its own pool.
func TestSQLiteWritersOfSeveralProcessesWait(t *testing.T) {
	if url := os.Getenv(childEnv); url != "" {
		runWriterChild(t, url)
		return
	}
	url := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	const instances = 3
	children := make([]*testkit.Child, instances)
	for i := range children {
		children[i] = testkit.StartChild(t, childEnv, url)
	}
	// Every child has opened the database (and so migrated it) before any
	// writes: then they all start at once.
	for _, c := range children {
		c.Expect(t, "ready")
	}
	for _, c := range children {
		if _, err := io.WriteString(c.Stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range children {
		c.Expect(t, "done")
		if err := c.Wait(); err != nil {
			t.Errorf("child: %v\n%s", err, c.Stderr())
		}
	}
	checkCounter(t, open(t, url, counterSchema), instances)
}

// runWriterChild is the child's side: open, say ready, wait for go, write,
// say done (or fail, which the parent sees in the exit status and stderr).
func runWriterChild(t *testing.T, url string) {
	db, err := Open(context.Background(), url, counterSchema)
	if err != nil {
		t.Fatalf("child: open: %v", err)
	}
	defer db.Close()
	fmt.Println("ready")
	if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || line != "go\n" {
		t.Fatalf("child: waiting for go: %q, %v", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := increment(ctx, db, fmt.Sprintf("pid%d", os.Getpid())); err != nil {
		t.Fatalf("child: %v", err)
	}
	fmt.Println("done")
}
