package userservice

import (
	"context"
	"net/http"
	"testing"

	"github.com/kitshop/kitshop/internal/pgtest"
)

// A database that stops taking writes (a read-only file system; SQLite
// says SQLITE_READONLY, as on a full disk it says SQLITE_FULL) makes a
// sign-up 503 unavailable with Retry-After and /readyz 503; once writes
// work again, both recover without a restart, and nothing was half
// written.
func TestHTTPStorageFaultIsUnavailableAndRecovers(t *testing.T) {
	testStorageFault(t, newStack(t), "PRAGMA query_only = 1", "PRAGMA query_only = 0")
}

// On PostgreSQL a read-only session refuses writes with SQLSTATE 25006, as
// a server in recovery or one set read-only by its administrator does.
func TestHTTPStorageFaultIsUnavailableAndRecoversOnPostgres(t *testing.T) {
	st := newStackOn(t, openStore(t, pgtest.URL(t)))
	testStorageFault(t, st, "SET default_transaction_read_only = on", "SET default_transaction_read_only = off")
}

func testStorageFault(t *testing.T, st *stack, fault, lift string) {
	ctx := context.Background()
	db := st.store.DB()
	db.SetMaxOpenConns(1) // the setting below holds on the one connection left
	setReadOnly := func(on bool) {
		t.Helper()
		q := lift
		if on {
			q = fault
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	body := `{"name":"Ada","email":"ada@example.com","password":"correct horse"}`

	setReadOnly(true)
	rec := st.do(http.MethodPost, "/v1/users", "application/json", body)
	if code, _ := decodeError(t, rec); rec.Code != http.StatusServiceUnavailable || code != "unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("write during the fault: %d %s, Retry-After %q; want 503 unavailable with Retry-After", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	if rec := st.do(http.MethodGet, "/readyz", "", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the fault: %d %s", rec.Code, rec.Body)
	}

	setReadOnly(false)
	if rec := st.do(http.MethodGet, "/readyz", "", ""); rec.Code != http.StatusOK {
		t.Fatalf("/readyz after the fault: %d %s", rec.Code, rec.Body)
	}
	if rec := st.do(http.MethodPost, "/v1/users", "application/json", body); rec.Code != http.StatusCreated {
		t.Fatalf("the same sign-up after the fault: %d %s (a half-written user would make it 409)", rec.Code, rec.Body)
	}
}
