// Package sqldb opens a service's own database from a DATABASE_URL and
// applies the service's embedded schema migrations. The same *DB runs the
// same SQL on SQLite (the embedded default, through modernc.org/sqlite, so
// binaries stay pure Go) and on PostgreSQL: queries are written with ?
// placeholders and Rebind turns them into $1, $2 ... where needed.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a service's database: a *sql.DB plus the dialect its SQL must speak.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// ParseURL checks a DATABASE_URL and returns its dialect: "sqlite:PATH" or
// "postgres://..." (also "postgresql://").
func ParseURL(url string) (Dialect, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		if strings.TrimPrefix(url, "sqlite:") == "" {
			return "", errors.New("database url: sqlite: needs a file path, e.g. sqlite:./data/users.db")
		}
		return SQLite, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return Postgres, nil
	}
	return "", fmt.Errorf("database url %q: unknown scheme (want sqlite:PATH or postgres://...)", redact(url))
}

// Open connects to url, checks the connection within ctx, and applies the
// migrations found in migrations (files named NNN_name.sql, applied in
// order, each once, each in its own transaction).
func Open(ctx context.Context, url string, migrations fs.FS) (*DB, error) {
	dialect, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	var db *DB
	switch dialect {
	case SQLite:
		db, err = openSQLite(strings.TrimPrefix(url, "sqlite:"))
	case Postgres:
		db, err = openPostgres(ctx, url)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx, migrations); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.createProbe(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openSQLite(path string) (*DB, error) {
	path, synchronous, err := sqliteParams(path)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create directory: %w", err)
		}
	}
	// WAL lets readers run beside the one writer; busy_timeout makes a
	// writer wait for the lock instead of failing; _txlock=immediate takes
	// the write lock at BEGIN, so two read-then-write transactions can never
	// deadlock on a lock upgrade. synchronous is FULL unless the URL says
	// otherwise (see sqliteParams). temp_store=MEMORY keeps SQLite's
	// temporary files (statement journals, sorts) in memory: the container
	// image has no temporary directory, and a disk I/O error there would
	// fail a reservation.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(" + synchronous + ")&_pragma=foreign_keys(1)&_pragma=temp_store(2)&_txlock=immediate"
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := pingSQLite(sqlDB); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &DB{DB: sqlDB, Dialect: SQLite}, nil
}

// walSwitchWait bounds how long opening waits for another instance that
// is turning a new file to WAL.
const walSwitchWait = 10 * time.Second

// pingSQLite opens the first connection. Instances that open a new file at
// once race to turn it to WAL, and SQLite answers the losers SQLITE_BUSY at
// once, not after busy_timeout: the switch upgrades a read lock to a write
// lock, which SQLite never waits for. Once one has switched, the file is in
// WAL mode for good and a new connection finds it so: try again.
func pingSQLite(db *sql.DB) error {
	deadline := time.Now().Add(walSwitchWait)
	for {
		err := db.Ping()
		if err == nil || !isSQLiteBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Duration(1+rand.IntN(10)) * time.Millisecond)
	}
}

// sqliteParams splits "PATH?synchronous=normal" into the path and the
// synchronous pragma. The default, FULL, syncs the WAL at every commit: an
// answered write survives a power loss. NORMAL syncs only at checkpoints,
// faster but the last commits before a power loss can be lost (never the
// database's consistency). Any other parameter is an error.
func sqliteParams(pathAndQuery string) (path, synchronous string, err error) {
	path, query, _ := strings.Cut(pathAndQuery, "?")
	if path == "" {
		return "", "", errors.New("database url: sqlite: needs a file path, e.g. sqlite:./data/users.db")
	}
	params, err := neturl.ParseQuery(query)
	if err != nil {
		return "", "", fmt.Errorf("database url: sqlite: parameters: %w", err)
	}
	synchronous = "FULL"
	for name, values := range params {
		if name != "synchronous" {
			return "", "", fmt.Errorf("database url: sqlite: unknown parameter %q (only synchronous=full|normal)", name)
		}
		if len(values) != 1 {
			return "", "", errors.New("database url: sqlite: synchronous given more than once")
		}
		switch v := strings.ToUpper(values[0]); v {
		case "FULL", "NORMAL":
			synchronous = v
		default:
			return "", "", fmt.Errorf("database url: sqlite: synchronous=%q: want full (the default) or normal", values[0])
		}
	}
	return path, synchronous, nil
}

// Rebind rewrites the ? placeholders of query for the DB's dialect.
func (db *DB) Rebind(query string) string {
	if db.Dialect != Postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (db *DB) migrate(ctx context.Context, migrations fs.FS) error {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Order by version number, not name, so 9_x runs before 10_y; two files
	// of one version would make the second silently skipped, so refuse them.
	versions := make(map[string]int, len(names))
	byVersion := make(map[int]string, len(names))
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		if other, dup := byVersion[version]; dup {
			return fmt.Errorf("migrations %s and %s: both are version %d", other, name, version)
		}
		versions[name], byVersion[version] = version, name
	}
	sort.Slice(names, func(i, j int) bool { return versions[names[i]] < versions[names[j]] })
	// Under the migration lock: two PostgreSQL sessions running CREATE TABLE
	// IF NOT EXISTS at once can both try to create it, and one fails.
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockMigrations(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("migrations: create table: %w", err)
	}
	for _, name := range names {
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if err := db.applyMigration(ctx, versions[name], string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, version int, body string) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		// Serialise instances that start at once.
		if err := db.lockMigrations(ctx, tx); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		for _, stmt := range splitStatements(body) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, time.Now().UnixMicro())
		return err
	})
}

// splitStatements splits a migration on semicolons at line ends.
func splitStatements(body string) []string {
	var out []string
	for _, s := range strings.Split(body, ";\n") {
		if s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";")); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise. On SQLite the transaction holds the write lock from its
// start (see openSQLite), so read-then-write logic inside fn is serialised.
// On PostgreSQL (READ COMMITTED) a transaction the server aborts for a
// serialization failure or a deadlock with another one did nothing, so it
// is run again, up to txAttempts times in all: fn must set anything it
// reports to its caller afresh on every call.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.inTxOnce(ctx, fn)
		if err == nil || attempt == txAttempts || !isTxConflict(err) {
			return err
		}
		// A short, jittered pause lets the other transaction finish.
		pause := time.Duration(attempt) * time.Duration(5+rand.IntN(10)) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// txAttempts bounds the runs of one InTx.
const txAttempts = 3

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation:
// SQLSTATE 23505 from PostgreSQL, or SQLite's constraint error.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if pgErrorCode(err) == sqlstateUniqueViolation {
		return true
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// passwordParam matches a password given as a parameter of a key=value
// connection string (password='...' or password=word); urlPasswordParam
// one in a URL query, which runs to the next & whatever it holds (an
// unescaped space or # included: people paste passwords as they are).
var (
	passwordParam    = regexp.MustCompile(`(?i)(password=)('[^']*'?|\S*)`)
	urlPasswordParam = regexp.MustCompile(`(?i)([?&]password=)([^&]*)`)
)

// redact hides passwords in a database URL for error messages: the one in
// the userinfo (with or without a scheme) and any password parameter.
func redact(url string) string {
	start := 0
	if scheme := strings.Index(url, "://"); scheme >= 0 {
		start = scheme + 3
	}
	if at := strings.LastIndexByte(url, '@'); at > start {
		userinfo := url[start:at]
		if colon := strings.IndexByte(userinfo, ':'); colon >= 0 {
			url = url[:start] + userinfo[:colon] + ":xxxxx" + url[at:]
		}
	}
	if start > 0 {
		return urlPasswordParam.ReplaceAllString(url, "${1}xxxxx")
	}
	return passwordParam.ReplaceAllString(url, "${1}xxxxx")
}
