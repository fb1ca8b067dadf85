package userservice

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// The storage suite holds for the cache in front of a store, with a cache
// small enough to evict during it.
func TestCachedStore(t *testing.T) {
	testStore(t, func(t *testing.T) Store { return NewCachedStore(openSQLiteStore(t), 2) })
}

// countingStore counts the GetUser calls that reach the store.
type countingStore struct {
	Store
	gets atomic.Int64
}

func (c *countingStore) GetUser(ctx context.Context, id string) (User, error) {
	c.gets.Add(1)
	return c.Store.GetUser(ctx, id)
}

func TestCachedStoreServesRepeatsEvictsAndForgetsMisses(t *testing.T) {
	ctx := context.Background()
	inner := &countingStore{Store: openSQLiteStore(t)}
	s := NewCachedStore(inner, 2)
	reaches := func(id string, want int64) {
		t.Helper()
		before := inner.gets.Load()
		if _, err := s.GetUser(ctx, id); err != nil {
			t.Fatalf("GetUser(%s): %v", id, err)
		}
		if got := inner.gets.Load() - before; got != want {
			t.Fatalf("GetUser(%s) reached the store %d times, want %d", id, got, want)
		}
	}
	var users []User
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		u := newUser(email)
		if err := inner.CreateUser(ctx, u, "h"); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	a, b, c := users[0].ID, users[1].ID, users[2].ID
	reaches(a, 1)
	reaches(a, 0) // cached
	reaches(b, 1)
	reaches(a, 0) // a is now the most recently used
	reaches(c, 1) // evicts b, the least recently used
	reaches(a, 0)
	reaches(b, 1)

	// A miss is not remembered: the user may exist a moment later.
	late := newUser("late@example.com")
	if _, err := s.GetUser(ctx, late.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := inner.CreateUser(ctx, late, "h"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUser(ctx, late.ID); err != nil || got.Email != late.Email {
		t.Fatalf("user created after a miss: %+v, %v", got, err)
	}

	// A cached user is still refused to a caller that has given up.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.GetUser(cancelled, a); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetUser with a cancelled context: %v", err)
	}
}

func TestCachedStoreOfSizeZeroIsTheStore(t *testing.T) {
	inner := openSQLiteStore(t)
	if s := NewCachedStore(inner, 0); s != inner {
		t.Fatal("size 0 wrapped the store")
	}
}
