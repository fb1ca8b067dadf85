package userservice

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// SQLStore is what this package's tests need of the SQL adapter, package
// userstore. userstore imports this package, so only the external test
// package can import it: its TestMain (main_external_test.go) sets
// OpenSQLStore before any test runs.
type SQLStore interface {
	Store
	Credentials
	// DB is the store's connection pool, for tests that look at the rows.
	DB() *sql.DB
}

// OpenSQLStore opens userstore's Store at url; see SQLStore.
var OpenSQLStore func(ctx context.Context, url string) (SQLStore, error)

// openStore opens the SQL store at url, closed when the test ends.
func openStore(t testing.TB, url string) SQLStore {
	t.Helper()
	s, err := OpenSQLStore(context.Background(), url)
	if err != nil {
		t.Fatalf("open store %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openSQLiteStore opens a fresh SQLite store in the test's temporary
// directory, closed when the test ends.
func openSQLiteStore(t testing.TB) SQLStore {
	t.Helper()
	return openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "users.db"))
}

// fixedNow is the clock of the tests' services.
var fixedNow = time.Date(2025, 3, 1, 12, 30, 45, 123456789, time.FixedZone("CET", 3600))

// newTestService is the service over a fresh SQLite store, hashing at the
// lowest bcrypt cost so tests run fast.
func newTestService(t testing.TB) (Service, SQLStore) {
	t.Helper()
	store := openSQLiteStore(t)
	return newTestServiceOn(store), store
}

// newTestServiceOn is the service over store, hashing at the lowest bcrypt
// cost.
func newTestServiceOn(store Store) Service {
	return NewService(store, WithBcryptCost(bcrypt.MinCost), WithClock(func() time.Time { return fixedNow }))
}

func validRequest(email string) CreateUserRequest {
	return CreateUserRequest{Name: "Ada Lovelace", Email: email, Password: "analytical-engine"}
}

// logSink collects log output from any goroutine.
type logSink = testkit.LogSink

// eventually polls cond until it holds or the bound passes.
func eventually(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, bound, what, cond)
}

// wantInvalid asserts err is a 400 invalid_argument naming field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var e *kitshop.Error
	if !errors.As(err, &e) || e.Code != kitshop.CodeInvalidArgument || transport.Status(e) != 400 {
		t.Fatalf("error %v (%T), want invalid_argument on %s", err, err, field)
	}
	if !strings.HasPrefix(e.Message, field+": ") {
		t.Fatalf("message %q does not name %s", e.Message, field)
	}
}

// memStore is an in-memory Store, for tests that need to see or break what
// the service hands to its store.
type memStore struct {
	mu     sync.Mutex
	users  map[string]User
	hashes map[string]string
	keys   map[string]bool
	err    error // returned by every call when set
}

func newMemStore() *memStore {
	return &memStore{users: map[string]User{}, hashes: map[string]string{}, keys: map[string]bool{}}
}

func (m *memStore) CreateUser(_ context.Context, u User, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if m.keys[strings.ToLower(u.Email)] {
		return ErrAlreadyExists
	}
	m.keys[strings.ToLower(u.Email)] = true
	m.users[u.ID], m.hashes[u.ID] = u, hash
	return nil
}

func (m *memStore) EmailTaken(_ context.Context, email string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys[strings.ToLower(email)], m.err
}

func (m *memStore) GetUser(_ context.Context, id string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return User{}, m.err
	}
	u, ok := m.users[id]
	if !ok {
		return User{}, ErrNotFound
	}
	return u, nil
}

func (m *memStore) ListUsers(_ context.Context, after string, limit int) ([]User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var out []User
	for _, u := range m.users {
		if u.ID > after {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memStore) Ping(context.Context) error { return m.err }
func (m *memStore) Close() error               { return nil }
