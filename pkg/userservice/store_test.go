package userservice

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/pgtest"
)

// storeFactory returns an empty Store for one test; the factory arranges
// for it to be closed.
type storeFactory func(t *testing.T) Store

// The storage suite is written once and run against every implementation.
func TestSQLiteStore(t *testing.T) {
	testStore(t, func(t *testing.T) Store { return openSQLiteStore(t) })
}

// TestPostgresStore runs the same suite on PostgreSQL, each subtest on a
// database of its own: see internal/pgtest for where the server comes from
// (KITSHOP_TEST_POSTGRES_URL, or a throwaway local one).
func TestPostgresStore(t *testing.T) {
	testStore(t, func(t *testing.T) Store { return openStore(t, pgtest.URL(t)) })
}

func testStore(t *testing.T, newStore storeFactory) {
	t.Run("CreateThenGet", func(t *testing.T) { testStoreCreateThenGet(t, newStore(t)) })
	t.Run("GetUnknown", func(t *testing.T) { testStoreGetUnknown(t, newStore(t)) })
	t.Run("EmailUniqueIgnoringCase", func(t *testing.T) { testStoreEmailUnique(t, newStore(t)) })
	t.Run("EmailTaken", func(t *testing.T) { testStoreEmailTaken(t, newStore(t)) })
	t.Run("ConcurrentSameEmail", func(t *testing.T) { testStoreConcurrentSameEmail(t, newStore(t)) })
	t.Run("ListInIDOrder", func(t *testing.T) { testStoreList(t, newStore(t)) })
	t.Run("PingAndClose", func(t *testing.T) { testStorePing(t, newStore(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testStoreCancelled(t, newStore(t)) })
}

func newUser(email string) User {
	return User{ID: ids.New(IDPrefix), Name: "Grace Hopper", Email: email,
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 678901000, time.UTC)}
}

func testStoreCreateThenGet(t *testing.T, s Store) {
	ctx := context.Background()
	u := newUser("Grace@Example.com")
	u.Name = "Grâce « Amazing » Hopper 💻"
	if err := s.CreateUser(ctx, u, "$2a$04$hash"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if got.ID != u.ID || got.Name != u.Name || got.Email != u.Email || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("GetUser = %+v, want %+v", got, u)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at in %s, want UTC", got.CreatedAt.Location())
	}
}

func testStoreGetUnknown(t *testing.T, s Store) {
	_, err := s.GetUser(context.Background(), ids.New(IDPrefix))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetUser(unknown) = %v, want ErrNotFound", err)
	}
}

func testStoreEmailUnique(t *testing.T, s Store) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, newUser("ada@example.com"), "h"); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.Com"} {
		if err := s.CreateUser(ctx, newUser(email), "h"); !errors.Is(err, ErrAlreadyExists) {
			t.Errorf("CreateUser(%s) = %v, want ErrAlreadyExists", email, err)
		}
	}
	if err := s.CreateUser(ctx, newUser("ada2@example.com"), "h"); err != nil {
		t.Errorf("another email: %v", err)
	}
	users, err := s.ListUsers(ctx, "", 10)
	if err != nil || len(users) != 2 {
		t.Fatalf("ListUsers = %d users, %v; want 2", len(users), err)
	}
}

func testStoreConcurrentSameEmail(t *testing.T, s Store) {
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			email := "race@example.com"
			if i%2 == 1 {
				email = "RACE@example.COM"
			}
			errs[i] = s.CreateUser(context.Background(), newUser(email), "h")
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrAlreadyExists):
			t.Errorf("creator %d: %v, want ErrAlreadyExists", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creators won, want exactly 1", won)
	}
	users, err := s.ListUsers(context.Background(), "", 100)
	if err != nil || len(users) != 1 {
		t.Fatalf("ListUsers = %d users, %v; want 1", len(users), err)
	}
}

func testStoreList(t *testing.T, s Store) {
	ctx := context.Background()
	var want []string
	for i := range 7 {
		u := newUser(fmt.Sprintf("user%d@example.com", i))
		if err := s.CreateUser(ctx, u, "h"); err != nil {
			t.Fatal(err)
		}
		want = append(want, u.ID)
	}
	sort.Strings(want)
	all, err := s.ListUsers(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := userIDs(all); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ListUsers = %v, want %v", got, want)
	}
	page, err := s.ListUsers(ctx, "", 3)
	if err != nil || fmt.Sprint(userIDs(page)) != fmt.Sprint(want[:3]) {
		t.Fatalf("first 3 = %v, %v", userIDs(page), err)
	}
	page, err = s.ListUsers(ctx, want[2], 3)
	if err != nil || fmt.Sprint(userIDs(page)) != fmt.Sprint(want[3:6]) {
		t.Fatalf("3 after %s = %v, %v", want[2], userIDs(page), err)
	}
	page, err = s.ListUsers(ctx, want[6], 3)
	if err != nil || len(page) != 0 {
		t.Fatalf("after the last = %v, %v", userIDs(page), err)
	}
	// after need not be a stored ID.
	page, err = s.ListUsers(ctx, want[3]+"0", 100)
	if err != nil || fmt.Sprint(userIDs(page)) != fmt.Sprint(want[4:]) {
		t.Fatalf("after a gap = %v, %v", userIDs(page), err)
	}
}

func testStorePing(t *testing.T, s Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping after Close: no error")
	}
}

func testStoreCancelled(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CreateUser(ctx, newUser("late@example.com"), "h"); err == nil {
		t.Fatal("CreateUser with a cancelled context succeeded")
	} else if errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("cancelled CreateUser reported %v", err)
	}
	if _, err := s.GetUser(context.Background(), ids.New(IDPrefix)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("store unusable after a cancelled call: %v", err)
	}
}

func userIDs(users []User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// The SQL store keeps only the bcrypt hash the service made, never the
// password, and the hash verifies the password.
func TestSQLStoreKeepsOnlyTheHash(t *testing.T) {
	svc, store := newTestService(t)
	const password = "correct horse battery"
	u, err := svc.CreateUser(context.Background(), CreateUserRequest{Name: "Ada", Email: "ada@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	var hash string
	if err := store.DB().QueryRow(`SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if hash == password || bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		t.Fatalf("stored %q is not a bcrypt hash of the password", hash)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != bcrypt.MinCost {
		t.Fatalf("hash cost %d, %v; want the configured %d", cost, err, bcrypt.MinCost)
	}
}

func testStoreEmailTaken(t *testing.T, s Store) {
	ctx := context.Background()
	if taken, err := s.EmailTaken(ctx, "ada@example.com"); err != nil || taken {
		t.Fatalf("EmailTaken before sign-up = %v, %v", taken, err)
	}
	if err := s.CreateUser(ctx, newUser("Ada@Example.com"), "h"); err != nil {
		t.Fatal(err)
	}
	if taken, err := s.EmailTaken(ctx, "ada@EXAMPLE.com"); err != nil || !taken {
		t.Fatalf("EmailTaken after sign-up = %v, %v", taken, err)
	}
}
