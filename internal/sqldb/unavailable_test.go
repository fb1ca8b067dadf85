package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// Storage that cannot take a write answers 503 unavailable with
// Retry-After, wherever a store wraps the error with kitshop.Internal.
func TestStorageFaultsAreUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := openSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (v TEXT)`); err != nil {
		t.Fatal(err)
	}
	faults := map[string]error{}
	// Read-only storage (the connection refuses writes as a read-only
	// file or mount does): SQLITE_READONLY.
	if _, err := db.ExecContext(ctx, `PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	_, faults["read-only"] = db.ExecContext(ctx, `INSERT INTO t VALUES ('x')`)
	if _, err := db.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		t.Fatal(err)
	}
	// A full disk: the database may not grow (SQLITE_FULL).
	var pages int
	if err := db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<16)
	_, faults["disk full"] = db.ExecContext(ctx, `INSERT INTO t VALUES (?)`, string(big))
	faults["pg admin shutdown"] = &pgconn.PgError{Code: "57P01"}
	faults["pg disk full"] = &pgconn.PgError{Code: "53100"}
	faults["pg read-only"] = &pgconn.PgError{Code: "25006"}
	faults["pg connection failure"] = &pgconn.PgError{Code: "08006"}
	for name, fault := range faults {
		if fault == nil {
			t.Fatalf("%s: the write succeeded", name)
		}
		if !IsUnavailable(fault) {
			t.Errorf("%s: %v not classified as unavailable", name, fault)
		}
		e := Fault(errors.Join(errors.New("insert"), fault))
		if e.Code != kitshop.CodeUnavailable || transport.Status(e) != http.StatusServiceUnavailable || e.RetryAfter <= 0 {
			t.Errorf("%s: %+v, want 503 unavailable with Retry-After", name, e)
		}
	}
	for _, other := range []error{errors.New("boom"), sql.ErrNoRows, &pgconn.PgError{Code: "23505"}, context.Canceled} {
		if IsUnavailable(other) || Fault(other).Code != kitshop.CodeInternal {
			t.Errorf("%v classified as unavailable", other)
		}
	}
}

// Readiness writes: a database that answers reads but refuses writes is
// not ready, and is again as soon as it takes writes, without a restart.
func TestPingWritesAndRecovers(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), fstest.MapFS{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err == nil || !IsUnavailable(err) {
		t.Fatalf("read-only: ping = %v, want an unavailable error", err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("after the fault: %v", err)
	}
}

// Storage work cut short by the request's deadline is 503 unavailable, not
// internal: on real SQLite the deadline interrupts the statement.
func TestFaultOutOfTimeIsUnavailable(t *testing.T) {
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "t.db"), fstest.MapFS{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// A query that runs far longer than the deadline.
	_, err = db.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 1000000000) SELECT count(*) FROM c`)
	if err == nil {
		t.Fatal("the long query finished within its deadline")
	}
	if e := Fault(fmt.Errorf("count: %w", err)); e.Code != kitshop.CodeUnavailable || e.RetryAfter <= 0 {
		t.Errorf("Fault(%v) = %+v, want unavailable with Retry-After", err, e)
	}
	if e := Fault(fmt.Errorf("get: %w", context.DeadlineExceeded)); e.Code != kitshop.CodeUnavailable {
		t.Errorf("Fault(deadline) = %+v, want unavailable", e)
	}
}
