package userservice

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// countingHasher hashes with bcrypt's cheapest cost and counts its calls.
type countingHasher struct{ calls atomic.Int64 }

func (h *countingHasher) hash(password []byte) ([]byte, error) {
	h.calls.Add(1)
	return bcrypt.GenerateFromPassword(password, bcrypt.MinCost)
}

// A sign-up with a taken email is answered before any password is hashed:
// bcrypt is the costliest thing the service does, and a client repeating a
// taken email must not be able to make it spend that.
func TestCreateUserTakenEmailHashesNothing(t *testing.T) {
	h := &countingHasher{}
	svc := NewService(openSQLiteStore(t), WithPasswordHasher(h.hash))
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, validRequest("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	if n := h.calls.Load(); n != 1 {
		t.Fatalf("%d hashes for one sign-up, want 1", n)
	}
	for _, email := range []string{"ada@example.com", "ADA@Example.com"} {
		if _, err := svc.CreateUser(ctx, validRequest(email)); !errors.Is(err, ErrAlreadyExists) {
			t.Fatalf("CreateUser(%s) = %v, want ErrAlreadyExists", email, err)
		}
	}
	if n := h.calls.Load(); n != 1 {
		t.Fatalf("%d hashes after two sign-ups with a taken email, want still 1", n)
	}
}

// The early check is an optimisation, not the guarantee: when the email
// is taken between the check and the insert, the store's unique
// constraint still answers ErrAlreadyExists.
func TestCreateUserRaceAfterTheCheck(t *testing.T) {
	store := openSQLiteStore(t)
	var svc Service
	raced := false
	hash := func(pw []byte) ([]byte, error) {
		if !raced { // someone else signs up with the same email meanwhile
			raced = true
			if err := store.CreateUser(context.Background(), newUser("eve@example.com"), "h"); err != nil {
				return nil, err
			}
		}
		return bcrypt.GenerateFromPassword(pw, bcrypt.MinCost)
	}
	svc = NewService(store, WithPasswordHasher(hash))
	if _, err := svc.CreateUser(context.Background(), validRequest("EVE@example.com")); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("CreateUser = %v, want ErrAlreadyExists", err)
	}
}
