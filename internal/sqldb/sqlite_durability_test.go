package sqldb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// pragmaOnEveryConn reads a PRAGMA on n connections held at once, so that
// each is a connection of its own.
func pragmaOnEveryConn(t *testing.T, db *DB, pragma string, n int) []string {
	t.Helper()
	ctx := context.Background()
	var values []string
	for i := 0; i < n; i++ {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var v string
		if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&v); err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	return values
}

// By default a commit is on disk when it returns (synchronous=FULL, in WAL
// mode); ?synchronous=normal trades that for speed.
func TestSQLiteSynchronous(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  string // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{"", "2"},
		{"?synchronous=full", "2"},
		{"?synchronous=FULL", "2"},
		{"?synchronous=normal", "1"},
	} {
		t.Run("params="+tc.query, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			db := open(t, "sqlite:"+path+tc.query, nil)
			for i, v := range pragmaOnEveryConn(t, db, "synchronous", 3) {
				if v != tc.want {
					t.Fatalf("connection %d: synchronous = %s, want %s", i, v, tc.want)
				}
			}
			if modes := pragmaOnEveryConn(t, db, "journal_mode", 1); modes[0] != "wal" {
				t.Fatalf("journal_mode = %s, want wal", modes[0])
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("database file: %v", err)
			}
		})
	}
}

func TestSQLiteParametersChecked(t *testing.T) {
	for _, query := range []string{"?synchronous=off", "?synchronous=", "?journal_mode=delete", "?synchronous=normal&synchronous=full"} {
		path := filepath.Join(t.TempDir(), "x.db")
		db, err := Open(context.Background(), "sqlite:"+path+query, fstest.MapFS{})
		if err == nil {
			db.Close()
			t.Fatalf("%s: opened, want an error", query)
		}
		if !strings.Contains(err.Error(), "synchronous") && !strings.Contains(err.Error(), "journal_mode") {
			t.Fatalf("%s: error %q does not name the parameter", query, err)
		}
	}
}
