package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kitshop/kitshop/internal/pgtest"
)

// pgApplied lists the values the migrations inserted, in insertion order.
func pgApplied(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT v FROM log ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func pgMigrations() fstest.MapFS {
	return fstest.MapFS{
		"001_create.sql": file("CREATE TABLE log (n BIGSERIAL PRIMARY KEY, v TEXT NOT NULL);\nINSERT INTO log (v) VALUES ('1');\n"),
		"002_second.sql": file("INSERT INTO log (v) VALUES ('2a');\n\nINSERT INTO log (v) VALUES ('2b');"),
		"010_tenth.sql":  file("CREATE TABLE u (k TEXT PRIMARY KEY);\nINSERT INTO log (v) VALUES ('10')"),
	}
}

func TestPostgresMigrationsAppliedOnce(t *testing.T) {
	url := pgtest.URL(t)
	migrations := pgMigrations()
	db := open(t, url, migrations)
	if db.Dialect != Postgres {
		t.Fatalf("dialect %q", db.Dialect)
	}
	if got := strings.Join(pgApplied(t, db), ","); got != "1,2a,2b,10" {
		t.Fatalf("applied %s", got)
	}
	db.Close()
	migrations["011_eleventh.sql"] = file("INSERT INTO log (v) VALUES ('11');")
	db = open(t, url, migrations)
	if got := strings.Join(pgApplied(t, db), ","); got != "1,2a,2b,10,11" {
		t.Fatalf("after re-open with 011: applied %s", got)
	}
	if got := strings.Join(versions(t, db), ","); got != "1,2,10,11" {
		t.Fatalf("schema_migrations %s", got)
	}
}

// Instances of a service that start at once on a new database: every one
// opens, and every migration runs once (pg_advisory_xact_lock).
func TestPostgresConcurrentOpens(t *testing.T) {
	url := pgtest.URL(t)
	const n = 8
	dbs := make([]*DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = Open(context.Background(), url, pgMigrations())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	if got := strings.Join(pgApplied(t, dbs[0]), ","); got != "1,2a,2b,10" {
		t.Fatalf("applied %s: a migration ran more than once", got)
	}
}

func TestPostgresFailedMigrationIsRolledBack(t *testing.T) {
	url := pgtest.URL(t)
	migrations := fstest.MapFS{
		"001_create.sql": file("CREATE TABLE log (n BIGSERIAL PRIMARY KEY, v TEXT NOT NULL);"),
		"002_broken.sql": file("INSERT INTO log (v) VALUES ('2');\nINSERT INTO nowhere VALUES (1);"),
	}
	if _, err := Open(context.Background(), url, migrations); err == nil || !strings.Contains(err.Error(), "002_broken.sql") {
		t.Fatalf("Open with a broken migration: %v", err)
	}
	migrations["002_broken.sql"] = file("INSERT INTO log (v) VALUES ('2');")
	db := open(t, url, migrations)
	if got := strings.Join(pgApplied(t, db), ","); got != "2" {
		t.Fatalf("applied %s: the failed attempt left rows behind", got)
	}
}

func TestPostgresUniqueViolation(t *testing.T) {
	db := open(t, pgtest.URL(t), pgMigrations())
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO u (k) VALUES (?)`), "a"); err != nil {
		t.Fatal(err)
	}
	_, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO u (k) VALUES (?)`), "a")
	if !IsUniqueViolation(err) || !IsUniqueViolation(fmt.Errorf("wrapped: %w", err)) {
		t.Fatalf("IsUniqueViolation(%v) = false", err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO nowhere VALUES (1)`)
	if err == nil || IsUniqueViolation(err) {
		t.Fatalf("IsUniqueViolation(%v) = true", err)
	}
	// The SQLSTATE decides, not the text.
	if IsUniqueViolation(errors.New("SQLSTATE 23505")) {
		t.Fatal("IsUniqueViolation matched a message")
	}
	if !IsUniqueViolation(&pgconn.PgError{Code: "23505"}) {
		t.Fatal("IsUniqueViolation(23505) = false")
	}
}

// Two transactions that lock two rows in opposite orders deadlock; the
// server aborts one (40P01), and InTx runs it again: both commit.
func TestPostgresInTxRetriesDeadlock(t *testing.T) {
	db := open(t, pgtest.URL(t), fstest.MapFS{
		"001_acct.sql": file("CREATE TABLE acct (id TEXT PRIMARY KEY, n BIGINT NOT NULL);\nINSERT INTO acct VALUES ('a', 0), ('b', 0);"),
	})
	ctx := context.Background()
	var runs atomic.Int32
	both := make(chan struct{})
	var arrived atomic.Int32
	transfer := func(first, second string) error {
		return db.InTx(ctx, func(tx *sql.Tx) error {
			run := runs.Add(1)
			if _, err := tx.ExecContext(ctx, `UPDATE acct SET n = n + 1 WHERE id = $1`, first); err != nil {
				return err
			}
			if run <= 2 { // the first two runs meet before their second lock
				if arrived.Add(1) == 2 {
					close(both)
				}
				<-both
			}
			_, err := tx.ExecContext(ctx, `UPDATE acct SET n = n + 1 WHERE id = $1`, second)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- transfer("a", "b") }()
	go func() { errs <- transfer("b", "a") }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("transfer: %v", err)
		}
	}
	if got := runs.Load(); got != 3 {
		t.Fatalf("%d runs, want 3 (one retried after the deadlock)", got)
	}
	var a, b int
	if err := db.QueryRow(`SELECT (SELECT n FROM acct WHERE id = 'a'), (SELECT n FROM acct WHERE id = 'b')`).Scan(&a, &b); err != nil || a != 2 || b != 2 {
		t.Fatalf("a=%d b=%d (%v), want 2 and 2: each transfer committed exactly once", a, b, err)
	}

	// Other errors are not retried, and retries are bounded.
	runs.Store(0)
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		runs.Add(1)
		_, err := tx.ExecContext(ctx, `INSERT INTO acct VALUES ('a', 0)`)
		return err
	})
	if !IsUniqueViolation(err) || runs.Load() != 1 {
		t.Fatalf("unique violation: %v after %d runs, want 1 run", err, runs.Load())
	}
	runs.Store(0)
	conflict := &pgconn.PgError{Code: "40001"}
	if err := db.InTx(ctx, func(*sql.Tx) error { runs.Add(1); return conflict }); !errors.Is(err, conflict) || runs.Load() != txAttempts {
		t.Fatalf("endless conflict: %v after %d runs, want %d runs", err, runs.Load(), txAttempts)
	}
}

func TestPostgresURLParameters(t *testing.T) {
	base := pgtest.URL(t)
	ctx := context.Background()
	db := open(t, base, fstest.MapFS{})
	var timeout string
	if err := db.QueryRowContext(ctx, `SHOW statement_timeout`).Scan(&timeout); err != nil || timeout != "30s" {
		t.Fatalf("default statement_timeout %q (%v), want 30s", timeout, err)
	}
	if got := db.Stats().MaxOpenConnections; got != defaultMaxConns {
		t.Fatalf("default pool size %d, want %d", got, defaultMaxConns)
	}

	db = open(t, withParams(t, base, "pool_max_conns=3&statement_timeout=100ms&application_name=kitshop-test"), fstest.MapFS{})
	if got := db.Stats().MaxOpenConnections; got != 3 {
		t.Fatalf("pool_max_conns=3: pool size %d", got)
	}
	var app string
	if err := db.QueryRowContext(ctx, `SHOW application_name`).Scan(&app); err != nil || app != "kitshop-test" {
		t.Fatalf("application_name %q (%v)", app, err)
	}
	_, err := db.ExecContext(ctx, `SELECT pg_sleep(2)`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("statement_timeout=100ms: pg_sleep(2) = %v, want query_canceled (57014)", err)
	}
	// The connection is fine after a timed-out statement.
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("ping after a timeout: %v", err)
	}
}

// A wrong DATABASE_URL fails Open at once (or within the connect timeout)
// with a one-line error that does not leak the password.
func TestPostgresOpenFailsFast(t *testing.T) {
	good, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held sync.WaitGroup
	held.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	})
	defer held.Wait()
	defer silent.Close()

	withUser := func(user, db string) string {
		u := *good
		u.User = url.UserPassword(user, "hunter2")
		if db != "" {
			u.Path = "/" + db
		}
		return u.String()
	}
	for _, tc := range []struct {
		name, url, mention string
		within             time.Duration
	}{
		{"refused", "postgres://kit:hunter2@127.0.0.1:1/shop?sslmode=disable", "connect", 2 * time.Second},
		{"silent server", "postgres://kit:hunter2@" + silent.Addr().String() + "/shop?sslmode=disable&connect_timeout=1", "connect timeout", 3 * time.Second},
		{"unknown database", withUser("postgres", "no_such_db"), "no_such_db", 2 * time.Second},
		{"unknown role", withUser("no_such_role", ""), "no_such_role", 2 * time.Second},
		{"bad pool size", withParams(t, good.String(), "pool_max_conns=lots"), "pool_max_conns", time.Second},
		{"unresolvable host", "postgres://kit:hunter2@host.invalid/shop?connect_timeout=1", "host.invalid", 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			db, err := Open(context.Background(), tc.url, fstest.MapFS{})
			took := time.Since(start)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if took > tc.within {
				t.Errorf("failed after %s, want within %s: %v", took, tc.within, err)
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error leaks the password: %s", msg)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !strings.Contains(msg, tc.mention) {
				t.Errorf("error %q does not mention %q", msg, tc.mention)
			}
		})
	}
}

// withParams adds query parameters to a URL.
func withParams(t *testing.T, raw, params string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	extra, err := url.ParseQuery(params)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range extra {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func TestCreateAndDropPostgresDatabases(t *testing.T) {
	admin := pgtest.AdminURL(t)
	ctx := context.Background()
	names := []string{"kitshop_cd_" + fmt.Sprint(time.Now().UnixNano()%1e9) + "_a", "kitshop_cd_" + fmt.Sprint(time.Now().UnixNano()%1e9) + "_b"}
	t.Cleanup(func() { _ = DropPostgresDatabases(context.Background(), admin, names...) })
	urls, err := CreatePostgresDatabases(ctx, admin, names...)
	if err != nil {
		t.Fatal(err)
	}
	// Creating again is no error, and gives the same URLs.
	again, err := CreatePostgresDatabases(ctx, admin, names...)
	if err != nil || fmt.Sprint(again) != fmt.Sprint(urls) {
		t.Fatalf("second create = %v, %v; want %v", again, err, urls)
	}
	// A session left open does not stop the drop.
	db := open(t, urls[names[0]], pgMigrations())
	if got := pgApplied(t, db); len(got) != 4 {
		t.Fatalf("migrations on the created database: %v", got)
	}
	if err := DropPostgresDatabases(ctx, admin, names...); err != nil {
		t.Fatal(err)
	}
	if err := DropPostgresDatabases(ctx, admin, names...); err != nil {
		t.Fatalf("dropping what is gone: %v", err)
	}
	conn, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var left int
	if err := conn.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d of %v still exist after the drop", left, names)
	}
}

// A session left idle inside a transaction, as a frozen instance leaves
// its own, is ended by the server after idle_in_transaction_session_timeout:
// its row locks go with it, so other instances wait for them no longer than
// that, and its transaction is rolled back, not half applied.
func TestPostgresFrozenTransactionReleasesItsLocks(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	frozen, other := open(t, url, fstest.MapFS{}), open(t, url, fstest.MapFS{})
	if _, err := other.ExecContext(ctx, `CREATE TABLE stock (id INT PRIMARY KEY, n INT NOT NULL); INSERT INTO stock VALUES (1, 10)`); err != nil {
		t.Fatal(err)
	}
	var timeout string
	if err := frozen.QueryRowContext(ctx, `SHOW idle_in_transaction_session_timeout`).Scan(&timeout); err != nil || timeout != "500ms" {
		t.Fatalf("default idle_in_transaction_session_timeout %q (%v), want 500ms", timeout, err)
	}
	tx, err := frozen.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stock SET n = n - 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	// The "frozen" transaction sends nothing more; another takes the row.
	began := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := other.ExecContext(waitCtx, `UPDATE stock SET n = n - 2 WHERE id = 1`); err != nil {
		t.Fatalf("update behind the idle transaction: %v", err)
	}
	if waited := time.Since(began); waited > 3*time.Second {
		t.Errorf("waited %s for the idle transaction's lock", waited)
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("the idle transaction committed after the server ended its session")
	}
	var n int
	if err := other.QueryRowContext(ctx, `SELECT n FROM stock WHERE id = 1`).Scan(&n); err != nil || n != 8 {
		t.Fatalf("stock %d (%v), want 8: only the second update applied", n, err)
	}
}
