package userservice

import "context"

// Store is the user service's storage. Implementations guarantee that two
// users never share an email case-insensitively, even under concurrent
// creation, and return the service's typed errors.
type Store interface {
	// CreateUser stores u with its password hash; ErrAlreadyExists when the
	// email is taken.
	CreateUser(ctx context.Context, u User, passwordHash string) error
	// EmailTaken reports whether a user has email, case-insensitively.
	EmailTaken(ctx context.Context, email string) (bool, error)
	// GetUser returns the user with id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (User, error)
	// ListUsers returns up to limit users with IDs greater than after, in
	// ID order.
	ListUsers(ctx context.Context, after string, limit int) ([]User, error)
	// Ping checks that the store answers, for readiness.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}
