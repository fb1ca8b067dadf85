package userservice

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

const testSecret = "a service secret of thirty-two bytes or more"

// clock is a settable clock for the sign-in tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// signIn is a user service with sign-in on over store, on a clock the test
// moves.
type signIn struct {
	svc   Service
	store SQLStore
	clock *clock
}

func newSignIn(t *testing.T, store SQLStore, secret string) *signIn {
	t.Helper()
	sealer, err := NewKeySealer(secret)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Now().UTC()}
	svc := NewService(store, WithBcryptCost(bcrypt.MinCost), WithClock(c.Now), WithTokens(store, sealer, DefaultTokenTTL))
	return &signIn{svc: svc, store: store, clock: c}
}

// eachStore runs test on a fresh SQLite store and a fresh PostgreSQL one.
func eachStore(t *testing.T, test func(t *testing.T, store SQLStore)) {
	t.Run("SQLite", func(t *testing.T) { test(t, openSQLiteStore(t)) })
	t.Run("Postgres", func(t *testing.T) { test(t, openStore(t, pgtest.URL(t))) })
}

// verify checks token against keys as a verifying service would: EdDSA
// only, a kid that names a published key, the shop's issuer.
func verify(t *testing.T, token string, keys auth.JWKS, now time.Time) auth.Claims {
	t.Helper()
	var claims auth.Claims
	// The claims are checked against the test's clock, not the machine's.
	parser := jwt.Parser{ValidMethods: []string{"EdDSA"}, SkipClaimsValidation: true}
	_, err := parser.ParseWithClaims(token, &claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		for _, k := range keys.Keys {
			if k.KeyID == kid {
				return k.PublicKey()
			}
		}
		return nil, errors.New("unknown kid " + kid)
	})
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	if claims.Issuer != auth.Issuer || claims.ID == "" || claims.IssuedAt == nil || claims.ExpiresAt == nil ||
		!claims.VerifyExpiresAt(now, true) || !claims.VerifyIssuedAt(now.Add(time.Second), true) {
		t.Fatalf("claims %+v at %s", claims, now)
	}
	return claims
}

func (s *signIn) signUp(t *testing.T, email, password string) User {
	t.Helper()
	u, err := s.svc.CreateUser(context.Background(), CreateUserRequest{Name: "Ada", Email: email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSignInGivesATokenTheJWKSVerifies(t *testing.T) {
	eachStore(t, func(t *testing.T, store SQLStore) {
		s := newSignIn(t, store, testSecret)
		ctx := context.Background()
		u := s.signUp(t, "ada@example.com", "correct horse")
		if u.Role != auth.RoleCustomer {
			t.Fatalf("new user's role %q", u.Role)
		}
		sess, err := s.svc.CreateSession(ctx, CreateSessionRequest{Email: "ADA@example.com", Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		if sess.TokenType != "Bearer" || sess.ExpiresIn != int64(DefaultTokenTTL/time.Second) || sess.User != u {
			t.Fatalf("session %+v, want a Bearer token for %+v", sess, u)
		}
		keys, err := s.svc.JWKS(ctx)
		if err != nil || len(keys.Keys) != 1 {
			t.Fatalf("JWKS = %+v, %v; want one key", keys, err)
		}
		claims := verify(t, sess.AccessToken, keys, s.clock.Now())
		if claims.Subject != u.ID || claims.Role != auth.RoleCustomer || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != DefaultTokenTTL {
			t.Fatalf("claims %+v", claims)
		}
		// A restart (a new service over the same database and secret)
		// signs with the same key: no token is invalidated.
		again := newSignIn(t, store, testSecret)
		keys2, err := again.svc.JWKS(ctx)
		if err != nil || len(keys2.Keys) != 1 || keys2.Keys[0] != keys.Keys[0] {
			t.Fatalf("JWKS after a restart = %+v, %v; want %+v", keys2, err, keys)
		}
	})
}

func TestWrongEmailAndWrongPasswordAreAlike(t *testing.T) {
	s := newSignIn(t, openSQLiteStore(t), testSecret)
	s.signUp(t, "ada@example.com", "correct horse")
	ctx := context.Background()
	_, wrongPassword := s.svc.CreateSession(ctx, CreateSessionRequest{Email: "ada@example.com", Password: "wrong horse"})
	_, noSuchEmail := s.svc.CreateSession(ctx, CreateSessionRequest{Email: "grace@example.com", Password: "correct horse"})
	for _, err := range []error{wrongPassword, noSuchEmail} {
		if !errors.Is(err, ErrBadCredentials) || transport.Status(err) != http.StatusUnauthorized {
			t.Fatalf("err = %v, want 401 unauthenticated", err)
		}
	}
	if wrongPassword.Error() != noSuchEmail.Error() {
		t.Fatalf("the two failures differ: %q and %q", wrongPassword, noSuchEmail)
	}
	for _, req := range []CreateSessionRequest{{Password: "x"}, {Email: "a@example.com"}, {Email: "a@example.com", Password: strings.Repeat("x", 73)}} {
		if _, err := s.svc.CreateSession(ctx, req); kitshop.ErrorCode(err) != kitshop.CodeInvalidArgument {
			t.Errorf("CreateSession(%+v) = %v, want invalid_argument", req, err)
		}
	}
}

// After five failed logins for an email within 15 minutes every login for
// it, even with the right password, is 429 with Retry-After until the
// oldest failure leaves the window; another email is not affected; a
// successful login forgets earlier failures.
func TestFailedLoginsAreThrottledPerEmail(t *testing.T) {
	eachStore(t, func(t *testing.T, store SQLStore) {
		s := newSignIn(t, store, testSecret)
		ctx := context.Background()
		s.signUp(t, "ada@example.com", "correct horse")
		s.signUp(t, "grace@example.com", "correct horse")
		right := CreateSessionRequest{Email: "ada@example.com", Password: "correct horse"}
		wrong := CreateSessionRequest{Email: "Ada@example.com", Password: "wrong horse"}

		for range 4 {
			if _, err := s.svc.CreateSession(ctx, wrong); !errors.Is(err, ErrBadCredentials) {
				t.Fatal(err)
			}
		}
		if _, err := s.svc.CreateSession(ctx, right); err != nil {
			t.Fatalf("the right password after 4 failures: %v", err)
		}
		// The success forgot them: five more failures are needed.
		for i := range 5 {
			s.clock.Advance(time.Minute)
			if _, err := s.svc.CreateSession(ctx, wrong); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		s.clock.Advance(time.Minute) // the oldest failure was 5 minutes ago
		_, err := s.svc.CreateSession(ctx, right)
		e := kitshop.AsError(err)
		if transport.Status(err) != http.StatusTooManyRequests || e.RetryAfter <= 0 || e.RetryAfter > 10*time.Minute+time.Second || e.RetryAfter < 10*time.Minute-time.Second {
			t.Fatalf("the 6th attempt = %v (retry after %s), want 429 after 10m", err, e.RetryAfter)
		}
		if _, err := s.svc.CreateSession(ctx, CreateSessionRequest{Email: "grace@example.com", Password: "correct horse"}); err != nil {
			t.Fatalf("another email: %v", err)
		}
		s.clock.Advance(e.RetryAfter)
		if _, err := s.svc.CreateSession(ctx, right); err != nil {
			t.Fatalf("after Retry-After: %v", err)
		}
	})
}

// A rotation makes a new current key; the old one stays published until
// the tokens it signed have expired, and those keep verifying meanwhile.
func TestRotatedKeyStaysPublishedUntilItsTokensExpire(t *testing.T) {
	eachStore(t, func(t *testing.T, store SQLStore) {
		s := newSignIn(t, store, testSecret)
		ctx := context.Background()
		s.signUp(t, "ada@example.com", "correct horse")
		login := CreateSessionRequest{Email: "ada@example.com", Password: "correct horse"}
		before, err := s.svc.CreateSession(ctx, login)
		if err != nil {
			t.Fatal(err)
		}
		sealer, _ := NewKeySealer(testSecret)
		kid, err := RotateSigningKey(ctx, store, sealer, s.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(KeyReload) // when every instance has read the new key
		after, err := s.svc.CreateSession(ctx, login)
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := s.svc.JWKS(ctx)
		if len(keys.Keys) != 2 || keys.Keys[0].KeyID != kid {
			t.Fatalf("JWKS after rotation: %+v, want the new key %s first and the old one", keys, kid)
		}
		verify(t, before.AccessToken, keys, s.clock.Now())
		if c := verify(t, after.AccessToken, keys, s.clock.Now()); c.ExpiresAt.Before(s.clock.Now()) {
			t.Fatal("new token already expired")
		}
		if tok, _, _ := new(jwt.Parser).ParseUnverified(after.AccessToken, &auth.Claims{}); tok.Header["kid"] != kid {
			t.Fatalf("new token signed by %v, want %s", tok.Header["kid"], kid)
		}
		s.clock.Advance(DefaultTokenTTL + TokenLeeway)
		keys, _ = s.svc.JWKS(ctx)
		if len(keys.Keys) != 1 || keys.Keys[0].KeyID != kid {
			t.Fatalf("JWKS once the old key's tokens expired: %+v", keys)
		}
	})
}

// The private keys are stored sealed: the same database with another
// SERVICE_SECRET signs nothing, and says why.
func TestSigningKeysNeedTheirServiceSecret(t *testing.T) {
	store := openSQLiteStore(t)
	s := newSignIn(t, store, testSecret)
	s.signUp(t, "ada@example.com", "correct horse")
	login := CreateSessionRequest{Email: "ada@example.com", Password: "correct horse"}
	if _, err := s.svc.CreateSession(context.Background(), login); err != nil {
		t.Fatal(err)
	}
	keys, err := store.SigningKeys(context.Background())
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	if len(keys[0].Sealed) < ed25519.SeedSize || strings.Contains(string(keys[0].Sealed), string(keys[0].Public)) {
		t.Fatalf("stored key does not look sealed")
	}
	other := newSignIn(t, store, testSecret+" but another")
	_, err = other.svc.CreateSession(context.Background(), login)
	if kitshop.ErrorCode(err) != kitshop.CodeInternal || !strings.Contains(errors.Unwrap(err).Error(), "SERVICE_SECRET") {
		t.Fatalf("err = %v (%v), want internal naming SERVICE_SECRET", err, errors.Unwrap(err))
	}
}

func TestBootstrapAdminCreatesOrPromotes(t *testing.T) {
	s := newSignIn(t, openSQLiteStore(t), testSecret)
	ctx := context.Background()
	admin, err := BootstrapAdmin(ctx, s.svc, s.store, "admin@kitshop.local", "admin password")
	if err != nil || admin.Role != auth.RoleAdmin {
		t.Fatalf("BootstrapAdmin = %+v, %v", admin, err)
	}
	if again, err := BootstrapAdmin(ctx, s.svc, s.store, "admin@kitshop.local", "another password"); err != nil || again.ID != admin.ID {
		t.Fatalf("second BootstrapAdmin = %+v, %v; want the same admin", again, err)
	}
	sess, err := s.svc.CreateSession(ctx, CreateSessionRequest{Email: "admin@kitshop.local", Password: "admin password"})
	if err != nil {
		t.Fatalf("the admin's first password no longer works: %v", err)
	}
	keys, _ := s.svc.JWKS(ctx)
	if c := verify(t, sess.AccessToken, keys, s.clock.Now()); c.Role != auth.RoleAdmin {
		t.Fatalf("admin token role %q", c.Role)
	}
	ada := s.signUp(t, "ada@example.com", "correct horse")
	if promoted, err := BootstrapAdmin(ctx, s.svc, s.store, "ada@example.com", "ignored"); err != nil || promoted.ID != ada.ID || promoted.Role != auth.RoleAdmin {
		t.Fatalf("promotion = %+v, %v", promoted, err)
	}
	if u, _ := s.svc.GetUser(ctx, ada.ID); u.Role != auth.RoleAdmin {
		t.Fatalf("promoted user reads as %+v", u)
	}
}

// Over HTTP: 201 with the token and Cache-Control: no-store; 401 with
// WWW-Authenticate: Bearer; 429 with Retry-After; the JWKS at its
// well-known path; and the HTTP client gets the same answers back typed.
func TestSessionsOverHTTP(t *testing.T) {
	s := newSignIn(t, openSQLiteStore(t), testSecret)
	s.signUp(t, "ada@example.com", "correct horse")
	srv := httptest.NewServer(NewHTTPHandler(NewEndpointSet(s.svc), transport.Ops{Cursors: testCursors}))
	defer srv.Close()
	post := func(body string) *http.Response {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/sessions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := post(`{"email":"ada@example.com","password":"correct horse"}`)
	var sess Session
	if err := json.NewDecoder(resp.Body).Decode(&sess); err != nil || resp.StatusCode != http.StatusCreated ||
		resp.Header.Get("Cache-Control") != "no-store" || sess.AccessToken == "" || sess.User.Role != auth.RoleCustomer {
		t.Fatalf("sign-in: %d %+v, Cache-Control %q, %v", resp.StatusCode, sess, resp.Header.Get("Cache-Control"), err)
	}
	keysResp, err := http.Get(srv.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer keysResp.Body.Close()
	var keys auth.JWKS
	if err := json.NewDecoder(keysResp.Body).Decode(&keys); err != nil || keysResp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS: %d %v", keysResp.StatusCode, err)
	}
	verify(t, sess.AccessToken, keys, s.clock.Now())

	resp = post(`{"email":"ada@example.com","password":"wrong horse"}`)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("wrong password: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	for range MaxLoginFailures - 1 {
		post(`{"email":"ada@example.com","password":"wrong horse"}`)
	}
	resp = post(`{"email":"ada@example.com","password":"correct horse"}`)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d failures: %d, Retry-After %q", MaxLoginFailures, resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	client := NewHTTPClient(transport.Direct(srv.URL), nil)
	if _, err := client.CreateSession(context.Background(), CreateSessionRequest{Email: "ada@example.com", Password: "correct horse"}); !errors.Is(err, ErrTooManyLogins) {
		t.Fatalf("client sign-in while throttled: %v", err)
	}
	if got, err := client.JWKS(context.Background()); err != nil || len(got.Keys) != 1 || got.Keys[0] != keys.Keys[0] {
		t.Fatalf("client JWKS = %+v, %v", got, err)
	}
}
