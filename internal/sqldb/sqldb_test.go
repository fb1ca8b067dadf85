package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"go.uber.org/goleak"

	"github.com/kitshop/kitshop/internal/pgtest"
)

// TestMain checks that every *sql.DB the tests open is closed again: an
// open one keeps its connection-opener goroutine. pgtest.Main stops the
// PostgreSQL server the tests may have started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Main(m))
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url     string
		dialect Dialect
	}{
		{"sqlite:./data/users.db", SQLite},
		{"sqlite:/tmp/x.db", SQLite},
		{"sqlite:x.db", SQLite},
		{"postgres://kit:secret@localhost:5432/shop?sslmode=disable", Postgres},
		{"postgresql://localhost/shop", Postgres},
	} {
		got, err := ParseURL(tc.url)
		if err != nil || got != tc.dialect {
			t.Errorf("ParseURL(%q) = %q, %v; want %q", tc.url, got, err, tc.dialect)
		}
	}
	for _, tc := range []struct{ url, mention string }{
		{"sqlite:", "path"},
		{"", "unknown scheme"},
		{"./data/users.db", "unknown scheme"},
		{"mysql://kit:hunter2@localhost/shop", "unknown scheme"},
		{"sqlite3:x.db", "unknown scheme"},
		{"SQLITE:x.db", "unknown scheme"},
		{"postgres:/x", "unknown scheme"},
		{"host=localhost user=kit password=hunter2 dbname=shop", "unknown scheme"},
	} {
		_, err := ParseURL(tc.url)
		if err == nil {
			t.Errorf("ParseURL(%q): no error", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("ParseURL(%q): %v does not mention %q", tc.url, err, tc.mention)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q): error leaks the password: %v", tc.url, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseURL(%q): error is not one line: %q", tc.url, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://kit:hunter2@localhost:5432/shop":            "postgres://kit:xxxxx@localhost:5432/shop",
		"postgres://kit:hun@ter2@localhost/shop":                "postgres://kit:xxxxx@localhost/shop",
		"postgres://kit@localhost/shop":                         "postgres://kit@localhost/shop",
		"postgres://localhost/shop?sslmode=disable":             "postgres://localhost/shop?sslmode=disable",
		"postgres://localhost/shop?user=kit&password=hunter2":   "postgres://localhost/shop?user=kit&password=xxxxx",
		"postgres://kit:hunter2@localhost/shop?password=other":  "postgres://kit:xxxxx@localhost/shop?password=xxxxx",
		"host=localhost user=kit password=hunter2 dbname=shop":  "host=localhost user=kit password=xxxxx dbname=shop",
		"host=localhost password='hunter2 x' dbname=shop":       "host=localhost password=xxxxx dbname=shop",
		"mysql://kit:hunter2@localhost/shop":                    "mysql://kit:xxxxx@localhost/shop",
		"kit:hunter2@localhost/shop":                            "kit:xxxxx@localhost/shop",
		"sqlite:./data/users.db":                                "sqlite:./data/users.db",
		"postgres://kit:hunter2@localhost/shop?application=a@b": "",
	} {
		got := redact(in)
		if strings.Contains(got, "hunter2") || strings.Contains(got, "other") {
			t.Errorf("redact(%q) = %q leaks the password", in, got)
		}
		if want != "" && got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRebind(t *testing.T) {
	q := `INSERT INTO t (a, b, c) VALUES (?, ?, ?)`
	if got := (&DB{Dialect: SQLite}).Rebind(q); got != q {
		t.Errorf("SQLite Rebind = %q", got)
	}
	if got := (&DB{Dialect: Postgres}).Rebind(q); got != `INSERT INTO t (a, b, c) VALUES ($1, $2, $3)` {
		t.Errorf("Postgres Rebind = %q", got)
	}
	if got := (&DB{Dialect: Postgres}).Rebind(`SELECT 1`); got != `SELECT 1` {
		t.Errorf("Postgres Rebind without placeholders = %q", got)
	}
	// Ten and more placeholders number on.
	many := strings.TrimSuffix(strings.Repeat("?,", 11), ",")
	if got := (&DB{Dialect: Postgres}).Rebind(many); got != "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11" {
		t.Errorf("Postgres Rebind = %q", got)
	}
}

func sqliteURL(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "sub", "dir", "test.db")
}

func open(t *testing.T, url string, migrations fstest.MapFS) *DB {
	t.Helper()
	db, err := Open(context.Background(), url, migrations)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// applied lists the values the migrations inserted, in insertion order.
func applied(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT v FROM log ORDER BY rowid`)
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

func versions(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
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

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestMigrationsAppliedOnceAndInOrder(t *testing.T) {
	url := sqliteURL(t)
	migrations := fstest.MapFS{
		"003_third.sql":  file("INSERT INTO log (v) VALUES ('3');\n"),
		"001_create.sql": file("CREATE TABLE log (v TEXT NOT NULL);\nINSERT INTO log (v) VALUES ('1');\n"),
		"010_tenth.sql":  file("INSERT INTO log (v) VALUES ('10')"),
		"002_second.sql": file("INSERT INTO log (v) VALUES ('2a');\n\nINSERT INTO log (v) VALUES ('2b');"),
		"README.md":      file("not a migration"),
	}
	db := open(t, url, migrations)
	if db.Dialect != SQLite {
		t.Fatalf("dialect %q", db.Dialect)
	}
	if got := strings.Join(applied(t, db), ","); got != "1,2a,2b,3,10" {
		t.Fatalf("applied %s", got)
	}
	if got := strings.Join(versions(t, db), ","); got != "1,2,3,10" {
		t.Fatalf("schema_migrations %s", got)
	}
	db.Close()

	// A re-open applies nothing twice.
	db = open(t, url, migrations)
	if got := strings.Join(applied(t, db), ","); got != "1,2a,2b,3,10" {
		t.Fatalf("after re-open: applied %s", got)
	}
	db.Close()

	// A new migration is applied alone.
	migrations["011_eleventh.sql"] = file("INSERT INTO log (v) VALUES ('11');")
	db = open(t, url, migrations)
	if got := strings.Join(applied(t, db), ","); got != "1,2a,2b,3,10,11" {
		t.Fatalf("after adding 011: applied %s", got)
	}
	if got := strings.Join(versions(t, db), ","); got != "1,2,3,10,11" {
		t.Fatalf("schema_migrations %s", got)
	}
}

// Versions order as numbers, not as text: 9 runs before 10 however the
// names are padded.
func TestMigrationsOrderByVersionNumber(t *testing.T) {
	db := open(t, sqliteURL(t), fstest.MapFS{
		"1_create.sql": file("CREATE TABLE log (v TEXT NOT NULL);"),
		"9_nine.sql":   file("INSERT INTO log (v) VALUES ('9');"),
		"10_ten.sql":   file("INSERT INTO log (v) VALUES ('10');"),
	})
	if got := strings.Join(applied(t, db), ","); got != "9,10" {
		t.Fatalf("applied %s", got)
	}
}

func TestMigrationErrors(t *testing.T) {
	for name, migrations := range map[string]fstest.MapFS{
		"unnumbered": {"create.sql": file("CREATE TABLE log (v TEXT);")},
		"duplicate version": {
			"001_create.sql": file("CREATE TABLE log (v TEXT);"),
			"001_other.sql":  file("CREATE TABLE other (v TEXT);"),
		},
	} {
		db, err := Open(context.Background(), sqliteURL(t), migrations)
		if err == nil {
			db.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

func TestFailedMigrationIsRolledBack(t *testing.T) {
	url := sqliteURL(t)
	migrations := fstest.MapFS{
		"001_create.sql": file("CREATE TABLE log (v TEXT NOT NULL);"),
		"002_broken.sql": file("INSERT INTO log (v) VALUES ('2');\nINSERT INTO nowhere VALUES (1);"),
	}
	_, err := Open(context.Background(), url, migrations)
	if err == nil || !strings.Contains(err.Error(), "002_broken.sql") {
		t.Fatalf("Open with a broken migration: %v", err)
	}
	migrations["002_broken.sql"] = file("INSERT INTO log (v) VALUES ('2');")
	db := open(t, url, migrations)
	if got := strings.Join(applied(t, db), ","); got != "2" {
		t.Fatalf("applied %s: the failed attempt left rows behind", got)
	}
}

func TestOpenPostgresErrorRedacts(t *testing.T) {
	_, err := Open(context.Background(), "postgres://kit:hunter2@127.0.0.1:1/shop", fstest.MapFS{})
	if err == nil {
		t.Skip("a PostgreSQL adapter answered on port 1")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestInTxAndUniqueViolation(t *testing.T) {
	db := open(t, sqliteURL(t), fstest.MapFS{"001_create.sql": file("CREATE TABLE u (k TEXT PRIMARY KEY);")})
	ctx := context.Background()
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO u (k) VALUES ('a')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO u (k) VALUES ('b')`); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want the function's error", err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM u`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows (%v): the failed transaction was not rolled back", n, err)
	}
	_, err := db.ExecContext(ctx, `INSERT INTO u (k) VALUES ('a')`)
	if !IsUniqueViolation(err) {
		t.Fatalf("IsUniqueViolation(%v) = false", err)
	}
	if IsUniqueViolation(nil) || IsUniqueViolation(errors.New("no such table: u")) {
		t.Fatal("IsUniqueViolation true for other errors")
	}
}
