package userstore_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/pkg/userservice/userstore"
)

// TestMain fails the tests if a connection pool outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The behaviour every userservice.Store keeps is tested by the suite in
// package userservice, which runs on this store over SQLite and PostgreSQL;
// the tests here are of opening one.

func newUser(email string) userservice.User {
	return userservice.User{ID: ids.New(userservice.IDPrefix), Name: "Grace Hopper", Email: email,
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 678901000, time.UTC)}
}

func TestOpenRejectsBadURL(t *testing.T) {
	for _, url := range []string{"", "sqlite:", "mysql://x"} {
		if s, err := userstore.Open(context.Background(), url); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", url)
		}
	}
}

// Re-opening a store keeps its users: migrations are not re-applied.
func TestSQLStoreReopen(t *testing.T) {
	url := "sqlite:" + t.TempDir() + "/users.db"
	s, err := userstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	u := newUser("keep@example.com")
	if err := s.CreateUser(context.Background(), u, "h"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = userstore.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("re-open: %v", err)
	}
	defer s.Close()
	if _, err := s.GetUser(context.Background(), u.ID); err != nil {
		t.Fatalf("user lost on re-open: %v", err)
	}
}
