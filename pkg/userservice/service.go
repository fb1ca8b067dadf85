// Package userservice is the user service: accounts with a unique email and
// a bcrypt-hashed password. It is layered go-kit style:
//
//   - service.go: the Service interface, domain types, errors and the
//     business logic, with no HTTP in it;
//   - store.go: the storage interface; the SQL adapter (SQLite, PostgreSQL)
//     and its schema are package userstore, which only the server imports,
//     so a client links no database driver;
//   - endpoints.go: one go-kit endpoint per method, in a Set that is itself
//     a Service;
//   - transport_http.go: the HTTP JSON server; client.go: the HTTP client,
//     which returns a Service, so other programs use the user service as a
//     library;
//   - middleware.go: typed logging and instrumenting service middleware.
package userservice

import (
	"context"
	"fmt"
	"net/mail"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"golang.org/x/crypto/bcrypt"
)

// Service manages users.
type Service interface {
	// CreateUser validates and stores a new user. The email must be unique
	// regardless of case (ErrAlreadyExists); the password is stored only as
	// a bcrypt hash and is never returned.
	CreateUser(ctx context.Context, req CreateUserRequest) (User, error)
	// GetUser returns the user with id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (User, error)
	// ListUsers returns up to limit users in creation order, starting after
	// the user with ID after ("" for the first page). next is the ID to pass
	// as after for the following page, "" on the last page.
	ListUsers(ctx context.Context, after string, limit int) (users []User, next string, err error)
	// CreateSession signs a user in: the right email and password give an
	// access token good for the token TTL. A wrong email or password is
	// ErrBadCredentials, alike in answer and cost; more than
	// MaxLoginFailures failures for one email within LoginWindow make
	// every attempt ErrTooManyLogins, with a RetryAfter, until the window
	// has passed.
	CreateSession(ctx context.Context, req CreateSessionRequest) (Session, error)
	// JWKS returns the public keys that verify access tokens: the current
	// key, and retired ones until every token they signed has expired.
	JWKS(ctx context.Context) (auth.JWKS, error)
}

// User is an account, as every caller sees it: never with a password.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Role      string    `json:"role"` // auth.RoleCustomer or auth.RoleAdmin
	CreatedAt time.Time `json:"created_at"`
}

// CreateUserRequest is what a new account needs.
type CreateUserRequest struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Errors of the user service. They match remote errors of the same code
// under errors.Is, so callers of the HTTP client test them the same way.
var (
	ErrNotFound      = kitshop.NewError(kitshop.CodeNotFound, "user not found")
	ErrAlreadyExists = kitshop.NewError(kitshop.CodeAlreadyExists, "a user with this email already exists")
)

// IDPrefix starts every user ID.
const IDPrefix = "usr"

// Validation limits.
const (
	MaxNameLength     = 200 // characters
	MinPasswordLength = 8   // bytes
	MaxPasswordLength = 72  // bytes: bcrypt ignores anything longer
)

// Option configures the service.
type Option func(*service)

// WithBcryptCost sets the bcrypt work factor (default bcrypt.DefaultCost).
// Tests lower it to bcrypt.MinCost to run fast.
func WithBcryptCost(cost int) Option { return func(s *service) { s.bcryptCost = cost } }

// WithPasswordHasher replaces the bcrypt hashing of passwords, for tests
// that count or stub it; it takes precedence over WithBcryptCost.
func WithPasswordHasher(hash func(password []byte) ([]byte, error)) Option {
	return func(s *service) { s.hash = hash }
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *service) { s.now = now } }

type service struct {
	store      Store
	bcryptCost int
	hash       func(password []byte) ([]byte, error) // nil: bcrypt at bcryptCost
	now        func() time.Time
	tokens     *tokens // nil: no sign-in
}

// NewService returns the user service's business logic over store.
func NewService(store Store, opts ...Option) Service {
	s := &service{store: store, bcryptCost: bcrypt.DefaultCost, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.hash == nil {
		cost := s.bcryptCost
		s.hash = func(pw []byte) ([]byte, error) { return bcrypt.GenerateFromPassword(pw, cost) }
	}
	return s
}

func (s *service) CreateUser(ctx context.Context, req CreateUserRequest) (User, error) {
	if err := validateCreate(req); err != nil {
		return User{}, err
	}
	// A taken email is answered before the password is hashed: bcrypt is
	// the costliest thing the service does, and clients repeating a taken
	// email must not be able to make it spend both cores on it. This opens
	// no timing oracle worth having: the 409 itself already says the
	// email is taken, and a free email still costs a hash as before. The
	// check is only a shortcut; the store's unique constraint still
	// decides a race between two sign-ups (ErrAlreadyExists after hashing).
	taken, err := s.store.EmailTaken(ctx, req.Email)
	if err != nil {
		return User{}, err
	}
	if taken {
		return User{}, ErrAlreadyExists
	}
	hash, err := s.hash([]byte(req.Password))
	if err != nil {
		return User{}, kitshop.Internal(fmt.Errorf("hash password: %w", err))
	}
	u := User{
		ID:        ids.New(IDPrefix),
		Name:      req.Name,
		Email:     req.Email,
		Role:      auth.RoleCustomer,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond),
	}
	if err := s.store.CreateUser(ctx, u, string(hash)); err != nil {
		return User{}, err
	}
	return u, nil
}

func (s *service) GetUser(ctx context.Context, id string) (User, error) {
	if !ids.Valid(IDPrefix, id) {
		return User{}, ErrNotFound
	}
	return s.store.GetUser(ctx, id)
}

func (s *service) ListUsers(ctx context.Context, after string, limit int) ([]User, string, error) {
	return kitshop.ListPage(limit, func(n int) ([]User, error) {
		return s.store.ListUsers(ctx, after, n)
	}, func(u User) string { return u.ID })
}

func validateCreate(req CreateUserRequest) error {
	if err := kitshop.ValidateName("name", req.Name, MaxNameLength); err != nil {
		return err
	}
	if err := validateEmail(req.Email); err != nil {
		return err
	}
	switch {
	case len(req.Password) < MinPasswordLength:
		return kitshop.InvalidArgument("password", "must be at least %d bytes", MinPasswordLength)
	case len(req.Password) > MaxPasswordLength:
		return kitshop.InvalidArgument("password", "must be at most %d bytes", MaxPasswordLength)
	}
	return nil
}

// validateEmail accepts a bare address by net/mail's rules: no display
// name, no angle brackets, nothing around it.
func validateEmail(email string) error {
	if email == "" {
		return kitshop.InvalidArgument("email", "is required")
	}
	if len(email) > 254 {
		return kitshop.InvalidArgument("email", "must be at most 254 bytes")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return kitshop.InvalidArgument("email", "must be a bare email address such as ada@example.com")
	}
	return nil
}
