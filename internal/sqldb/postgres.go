package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL defaults a DATABASE_URL can override in its query string.
const (
	// defaultConnectTimeout bounds making one connection, and so how long a
	// service can take to find out at start that the database is wrong or
	// unreachable (URL: connect_timeout=SECONDS).
	defaultConnectTimeout = 5 * time.Second
	// defaultStatementTimeout is the server-side limit on one statement
	// (URL: statement_timeout=30s; 0 turns it off). Requests have their own,
	// shorter, deadlines; this one catches work that has none.
	defaultStatementTimeout = "30s"
	// defaultIdleInTransactionTimeout is how long the server lets a session
	// sit idle inside a transaction before it ends the session, rolling the
	// transaction back (URL: idle_in_transaction_session_timeout=...). The
	// services' transactions never wait on anything but the database, so a
	// session idle in one belongs to a process that is frozen (SIGSTOP, a
	// paused container) or cut off: without this, the row locks it holds
	// would stall every other instance that touches the same rows for as
	// long as it stays frozen. Shorter than the callers' per-attempt
	// timeout, so that a blocked attempt still succeeds.
	defaultIdleInTransactionTimeout = "500ms"
	// defaultMaxConns is the pool size (URL: pool_max_conns=N).
	defaultMaxConns = 10
)

// openPostgres connects to a PostgreSQL DATABASE_URL through a pgx
// connection pool, which the shared SQL code sees as a *sql.DB.
//
// The URL takes libpq's parameters (sslmode, connect_timeout, ...), pgx's
// pool settings (pool_max_conns, pool_min_conns, pool_max_conn_lifetime,
// pool_max_conn_idle_time, pool_health_check_period), and any server
// setting, which is applied to every session: statement_timeout,
// lock_timeout, application_name, ... For example
//
//	postgres://kit:secret@db:5432/kitshop_products?sslmode=disable&pool_max_conns=20&statement_timeout=10s
//
// Open fails, within the connect timeout, when the server cannot be
// reached or refuses the credentials or the database: a bad DATABASE_URL is
// an error at start, not a hang and not a service that is never ready.
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	fail := func(what string, err error) error {
		return fmt.Errorf("database url %s: %s: %s", redact(dsn), what, oneLine(scrub(err.Error(), dsn)))
	}
	config, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors quote the URL again: ours, redacted, says it.
		return nil, fail("invalid", errors.New(parsePrefix.ReplaceAllString(err.Error(), "")))
	}
	params := urlParams(dsn)
	if !params.Has("connect_timeout") {
		config.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if !params.Has("pool_max_conns") {
		config.MaxConns = defaultMaxConns
	}
	if _, set := config.ConnConfig.RuntimeParams["statement_timeout"]; !set && !strings.Contains(params.Get("options"), "statement_timeout") {
		config.ConnConfig.RuntimeParams["statement_timeout"] = defaultStatementTimeout
	}
	if _, set := config.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !set &&
		!strings.Contains(params.Get("options"), "idle_in_transaction_session_timeout") {
		config.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = defaultIdleInTransactionTimeout
	}

	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, fail("connect", err)
	}
	// The first connection proves the URL, credentials and database; one
	// connect timeout in all, whatever number of addresses the host has.
	pingCtx, cancel := context.WithTimeout(ctx, config.ConnConfig.ConnectTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		if ctx.Err() == nil && (pingCtx.Err() != nil || pgconn.Timeout(err)) {
			err = fmt.Errorf("no answer within the connect timeout (%s): %w", config.ConnConfig.ConnectTimeout, err)
		}
		return nil, fail("connect", err)
	}
	// stdlib.OpenDBFromPool, with the pool closed by the *sql.DB's Close,
	// and one difference: OpenDBFromPool keeps no idle connection in
	// database/sql (so as not to starve other users of the pool; there are
	// none here), which makes every query acquire and wrap a pool
	// connection anew, and every *sql.Stmt prepare and deallocate itself
	// on each use: a Get took four times as long (BenchmarkOrderStorage).
	// So database/sql keeps its connections, each one a pool connection it
	// holds, with the pool's size and lifetimes; a connection idle for over
	// a second is pinged before reuse (pgx's stdlib ResetSession), as the
	// pool itself would.
	sqlDB := sql.OpenDB(poolConnector{Connector: stdlib.GetPoolConnector(pool), pool: pool})
	sqlDB.SetMaxOpenConns(int(config.MaxConns))
	sqlDB.SetMaxIdleConns(int(config.MaxConns))
	sqlDB.SetConnMaxIdleTime(config.MaxConnIdleTime)
	sqlDB.SetConnMaxLifetime(config.MaxConnLifetime)
	return &DB{DB: sqlDB, Dialect: Postgres}, nil
}

// poolConnector is pgx's pool connector that also closes the pool when
// the *sql.DB is closed (database/sql closes a Connector that is an
// io.Closer), so that closing a store leaves no pool goroutine behind.
type poolConnector struct {
	driver.Connector
	pool *pgxpool.Pool
}

func (c poolConnector) Close() error {
	c.pool.Close()
	return nil
}

// urlParams returns the query parameters of a postgres:// URL.
func urlParams(dsn string) url.Values {
	u, err := url.Parse(dsn)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// scrub removes the URL's password from msg, in case a driver message
// quotes it: the decoded one, and the one as written, which is all there
// is when the URL does not parse (an unescaped @, %, / or space in it).
func scrub(msg, dsn string) string {
	var passwords []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			passwords = append(passwords, pw)
		}
	}
	if scheme := strings.Index(dsn, "://"); scheme >= 0 {
		rest := dsn[scheme+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				passwords = append(passwords, pw)
			}
		}
	}
	for _, pw := range passwords {
		if pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// parsePrefix is how pgx's ParseConfigError starts: "cannot parse `URL`: ".
var parsePrefix = regexp.MustCompile("^cannot parse `[^`]*`: ")

// oneLine joins a multi-line driver message (pgx lists one line per
// address and TLS mode it tried, often the same) into one line.
func oneLine(msg string) string {
	var b strings.Builder
	var seen []string
	for _, line := range strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if line = strings.TrimSpace(line); line == "" || slices.Contains(seen, line) {
			continue
		}
		switch s := b.String(); {
		case s == "":
		case strings.HasSuffix(s, ":"):
			b.WriteString(" ")
		default:
			b.WriteString("; ")
		}
		b.WriteString(line)
		seen = append(seen, line)
	}
	return b.String()
}

// pgErrorCode returns the SQLSTATE of a PostgreSQL error in err's chain,
// or "".
func pgErrorCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// SQLSTATEs the code acts on.
const (
	sqlstateUniqueViolation      = "23505"
	sqlstateSerializationFailure = "40001"
	sqlstateDeadlockDetected     = "40P01"
)

// isTxConflict reports whether err is PostgreSQL aborting a transaction
// because of concurrent ones (a serialization failure or a deadlock): the
// transaction did nothing and may simply run again.
func isTxConflict(err error) bool {
	switch pgErrorCode(err) {
	case sqlstateSerializationFailure, sqlstateDeadlockDetected:
		return true
	}
	return false
}

// migrationLockID is the advisory lock that serialises the migrations of
// instances starting at once on one database.
const migrationLockID = 7283461

// lockMigrations takes the migration lock until the end of tx (nothing to
// do on SQLite, whose transactions already hold the write lock).
func (db *DB) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if db.Dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockID)
	return err
}
