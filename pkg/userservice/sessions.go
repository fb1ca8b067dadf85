package userservice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// CreateSessionRequest is a sign-in.
type CreateSessionRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Session is a signed-in user's access token: a JWT signed with Ed25519
// (see auth.Claims), sent as "Authorization: Bearer <access_token>".
type Session struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"` // "Bearer"
	ExpiresIn   int64  `json:"expires_in"` // seconds
	User        User   `json:"user"`
}

// Sign-in errors. A wrong email and a wrong password are the same error,
// and cost the same bcrypt comparison, so neither the answer nor its
// latency tells whether an email has an account.
var (
	ErrBadCredentials = kitshop.NewError(kitshop.CodeUnauthenticated, "wrong email or password")
	ErrTooManyLogins  = kitshop.NewError(kitshop.CodeTooManyRequests, "too many failed logins for this email; try again later")
)

// Sign-in throttling: more than MaxLoginFailures failed logins for one
// email within LoginWindow, and every login for it is refused with
// ErrTooManyLogins until the oldest of them leaves the window.
const (
	MaxLoginFailures = 5
	LoginWindow      = 15 * time.Minute
)

// DefaultTokenTTL is how long an access token is good for (TOKEN_TTL).
const DefaultTokenTTL = 15 * time.Minute

// tokens is what sign-in needs, set by WithTokens.
type tokens struct {
	creds Credentials
	keys  *keyring
	ttl   time.Duration

	dummyOnce sync.Once
	dummy     []byte // a hash no password matches, compared for unknown emails
}

// WithTokens turns sign-in on: sessions are checked against creds and
// their tokens signed with keys kept there, sealed by sealer, each good
// for ttl. Without it CreateSession and JWKS fail with an internal error.
func WithTokens(creds Credentials, sealer *KeySealer, ttl time.Duration) Option {
	return func(s *service) {
		s.tokens = &tokens{creds: creds, ttl: ttl, keys: &keyring{creds: creds, sealer: sealer, ttl: ttl}}
	}
}

var errNoTokens = kitshop.Internal(errors.New("sign-in is not configured (userservice.WithTokens)"))

func (s *service) CreateSession(ctx context.Context, req CreateSessionRequest) (Session, error) {
	t := s.tokens
	if t == nil {
		return Session{}, errNoTokens
	}
	switch {
	case req.Email == "":
		return Session{}, kitshop.InvalidArgument("email", "is required")
	case req.Password == "":
		return Session{}, kitshop.InvalidArgument("password", "is required")
	case len(req.Password) > MaxPasswordLength:
		return Session{}, kitshop.InvalidArgument("password", "must be at most %d bytes", MaxPasswordLength)
	}
	now := s.now()
	failures, err := t.creds.LoginFailures(ctx, req.Email, now.Add(-LoginWindow))
	if err != nil {
		return Session{}, err
	}
	if len(failures) >= MaxLoginFailures {
		e := ErrTooManyLogins.WithMessage("too many failed logins for this email; try again later")
		e.RetryAfter = failures[len(failures)-MaxLoginFailures].Add(LoginWindow).Sub(now)
		return Session{}, e
	}
	u, hash, err := t.creds.UserByEmail(ctx, req.Email)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, err
	}
	if !found {
		hash = string(s.dummyHash())
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(req.Password)) != nil || !found {
		if err := t.creds.RecordLoginFailure(ctx, req.Email, now, now.Add(-LoginWindow)); err != nil {
			return Session{}, err
		}
		return Session{}, ErrBadCredentials
	}
	if len(failures) > 0 {
		if err := t.creds.ClearLoginFailures(ctx, req.Email); err != nil {
			return Session{}, err
		}
	}
	issued := now.UTC().Truncate(time.Second)
	token, err := t.keys.sign(ctx, now, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    auth.Issuer,
			Subject:   u.ID,
			IssuedAt:  jwt.NewNumericDate(issued),
			ExpiresAt: jwt.NewNumericDate(issued.Add(t.ttl)),
			ID:        ids.New("tok"),
		},
		Role: u.Role,
	})
	if err != nil {
		return Session{}, err
	}
	return Session{AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(t.ttl / time.Second), User: u}, nil
}

// dummyHash is a hash of the service's cost that no password matches, so
// an unknown email costs the same comparison as a known one.
func (s *service) dummyHash() []byte {
	t := s.tokens
	t.dummyOnce.Do(func() {
		h, err := s.hash([]byte(ids.New("nopassword")))
		if err != nil {
			h, _ = bcrypt.GenerateFromPassword([]byte(ids.New("nopassword")), bcrypt.DefaultCost)
		}
		t.dummy = h
	})
	return t.dummy
}

func (s *service) JWKS(ctx context.Context) (auth.JWKS, error) {
	if s.tokens == nil {
		return auth.JWKS{}, errNoTokens
	}
	return s.tokens.keys.jwks(ctx, s.now())
}

// BootstrapAdmin makes the account with email an admin (ADMIN_EMAIL and
// ADMIN_PASSWORD at usersvc's start): it signs it up through svc with
// password when there is none, and promotes it when there is (its password
// is left as it is). It returns the admin.
func BootstrapAdmin(ctx context.Context, svc Service, creds Credentials, email, password string) (User, error) {
	u, _, err := creds.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		u, err = svc.CreateUser(ctx, CreateUserRequest{Name: "Administrator", Email: email, Password: password})
		if errors.Is(err, ErrAlreadyExists) { // another instance, starting too
			u, _, err = creds.UserByEmail(ctx, email)
		}
	}
	if err != nil {
		return User{}, fmt.Errorf("admin %s: %w", email, err)
	}
	if u.Role != auth.RoleAdmin {
		if err := creds.SetRole(ctx, u.ID, auth.RoleAdmin); err != nil {
			return User{}, fmt.Errorf("admin %s: %w", email, err)
		}
		u.Role = auth.RoleAdmin
	}
	return u, nil
}
