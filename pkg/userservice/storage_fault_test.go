package userservice

import (
	"context"
	"net/http"
	"testing"
)

// A database that stops taking writes (a read-only file system; SQLite
// says SQLITE_READONLY, as on a full disk it says SQLITE_FULL) makes a
// sign-up 503 unavailable with Retry-After and /readyz 503; once writes
// work again, both recover without a restart, and nothing was half
// written.
func TestHTTPStorageFaultIsUnavailableAndRecovers(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	db := st.store.db
	db.SetMaxOpenConns(1) // the pragma below holds on the one connection left
	setReadOnly := func(on bool) {
		t.Helper()
		v := "0"
		if on {
			v = "1"
		}
		if _, err := db.ExecContext(ctx, "PRAGMA query_only = "+v); err != nil {
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
