package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"modernc.org/sqlite"
)

// StorageRetryAfter is the Retry-After of a storage fault.
const StorageRetryAfter = 2 * time.Second

// Fault is how every store reports an unexpected storage error: a fault
// that passes (a full disk is cleared, a read-only file system remounted, a
// database server restarted; see IsUnavailable) is 503 unavailable with
// Retry-After, and so is storage that did not answer within the request's
// time (the deadline passed, or SQLite was interrupted for it); anything
// else is internal. The cause is kept for the logs.
func Fault(cause error) *kitshop.Error {
	if IsUnavailable(cause) || outOfTime(cause) {
		return kitshop.Unavailable(StorageRetryAfter, cause)
	}
	return kitshop.Internal(cause)
}

// outOfTime tells whether err is storage work cut short by the request's
// deadline.
func outOfTime(err error) bool {
	var sqliteErr *sqlite.Error
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqliteInterrupt
}

// SQLite's primary result codes that mean the storage, not the query,
// failed (extended codes carry them in their low byte).
const (
	sqliteBusy      = 5  // locked past busy_timeout
	sqliteInterrupt = 9  // interrupted: its context ended
	sqliteReadOnly  = 8  // a read-only file or file system
	sqliteIOErr     = 10 // the disk failed a read or write
	sqliteFull      = 13 // the disk (or max_page_count) is full
	sqliteCantOpen  = 14 // the file or its directory went away
)

// isSQLiteBusy reports whether err is SQLite's SQLITE_BUSY (any extended
// form).
func isSQLiteBusy(err error) bool {
	var sqliteErr *sqlite.Error
	return errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqliteBusy
}

// IsUnavailable reports whether err says the database cannot serve now,
// for reasons that pass: SQLite's full, read-only, I/O error, cannot open,
// busy past its timeout; PostgreSQL's connection failures (class 08),
// shutdowns (57P01..57P03), insufficient resources such as a full disk
// (class 53), a read-only transaction (25006), or a server that cannot be
// reached at all.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff {
		case sqliteBusy, sqliteReadOnly, sqliteIOErr, sqliteFull, sqliteCantOpen:
			return true
		}
		return false
	}
	if code := pgErrorCode(err); code != "" {
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") ||
			code == "57P01" || code == "57P02" || code == "57P03" || code == "25006"
	}
	var connectErr *pgconn.ConnectError
	var netErr *net.OpError
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn)
}

// probeTable holds the one row that readiness rewrites to prove the
// database takes writes.
const probeTable = "sqldb_write_probe"

func (db *DB) createProbe(ctx context.Context) error {
	create := `CREATE TABLE IF NOT EXISTS ` + probeTable + ` (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)`
	_, err := db.DB.ExecContext(ctx, create)
	var pgErr *pgconn.PgError
	if IsUniqueViolation(err) || errors.As(err, &pgErr) && (pgErr.Code == "42P07" || pgErr.Code == "42710") {
		// PostgreSQL: another instance created it at the same moment (IF
		// NOT EXISTS does not hold across concurrent sessions: the table's
		// row type or name may collide first).
		_, err = db.DB.ExecContext(ctx, create)
	}
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}

// PingContext checks that the database answers and takes a write: a disk
// that is full or read-only still answers reads, yet cannot serve the
// service. It rewrites one row of its own table; as soon as that works
// again, so does readiness, without a restart.
func (db *DB) PingContext(ctx context.Context) error {
	if err := db.DB.PingContext(ctx); err != nil {
		return err
	}
	q := `INSERT INTO ` + probeTable + ` (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = ` + probeTable + `.n + 1`
	if _, err := db.DB.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}
