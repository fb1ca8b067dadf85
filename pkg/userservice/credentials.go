package userservice

import (
	"context"
	"time"
)

// Credentials is the storage that sign-in needs beside Store: looking a
// user up by email with their password hash, roles, the signing keys of
// access tokens, and failed logins. userstore.Store is one; every instance
// of the service shares it, so all sign with the same key and count the
// same failures.
type Credentials interface {
	// UserByEmail returns the user with email, case-insensitively, and
	// their password hash; ErrNotFound when there is none.
	UserByEmail(ctx context.Context, email string) (User, string, error)
	// SetRole changes the role of the user with id; ErrNotFound when there
	// is none.
	SetRole(ctx context.Context, id, role string) error
	// SigningKeys returns every signing key kept: the current one first,
	// then the retired ones, the most recently retired first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey stores k as the current key and, in the same
	// transaction, retires every other current key at k.CreatedAt.
	AddSigningKey(ctx context.Context, k SigningKey) error
	// LoginFailures returns when email's failed logins after since
	// happened, oldest first.
	LoginFailures(ctx context.Context, email string, since time.Time) ([]time.Time, error)
	// RecordLoginFailure notes a failed login for email at at, and forgets
	// every failure (of any email) from before forgetBefore.
	RecordLoginFailure(ctx context.Context, email string, at, forgetBefore time.Time) error
	// ClearLoginFailures forgets email's failed logins.
	ClearLoginFailures(ctx context.Context, email string) error
}

// SigningKey is an Ed25519 key that signs access tokens, as stored: the
// private key sealed with a key derived from SERVICE_SECRET (see
// NewKeySealer), so the database alone signs nothing.
type SigningKey struct {
	ID        string
	Public    []byte // ed25519.PublicKey
	Sealed    []byte // the private key, sealed
	CreatedAt time.Time
	// RetiredAt is when a newer key replaced it; zero for the current key.
	// A retired key is still published until every token it signed has
	// expired.
	RetiredAt time.Time
}
