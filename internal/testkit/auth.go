package testkit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/golang-jwt/jwt/v4"

	"github.com/kitshop/kitshop/internal/authn"
	"github.com/kitshop/kitshop/pkg/auth"
)

// Admin is the caller of the tests that are not about who may call what.
var Admin = auth.Caller{ID: "usr_test_admin", Role: auth.RoleAdmin}

// AsAdmin is endpoint middleware that makes every request come from Admin,
// as if its token had verified: for tests of what the endpoints and
// transports do. Who may call what is tested with real tokens (each
// service's access tests, the end-to-end tests).
var AsAdmin = AsCaller(Admin)

// AsCaller is AsAdmin for the caller c.
func AsCaller(c auth.Caller) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			return next(auth.NewContext(ctx, c), request)
		}
	}
}

// Tokens signs real access tokens with an Ed25519 key of its own, and
// verifies them (and service tokens over Secret) as the services do: for
// the tests of who may call what.
type Tokens struct {
	priv ed25519.PrivateKey
	jwks auth.JWKS
	// Secret is the service secret service tokens are signed with.
	Secret string
	// Verifier verifies what Tokens signs; Verifier.Authenticate() is the
	// authentication middleware of a handler under test.
	Verifier *authn.Verifier
}

// NewTokens makes the key and the verifier.
func NewTokens(t testing.TB) *Tokens {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks := auth.JWKS{Keys: []auth.JWK{auth.NewJWK("key_test", pub)}}
	const secret = "the tests' service secret, 32 bytes or more"
	return &Tokens{priv: priv, jwks: jwks, Secret: secret, Verifier: authn.NewVerifier(auth.StaticKeySet(jwks), secret)}
}

// User signs an access token for the user id with role.
func (k *Tokens) User(t testing.TB, id, role string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: auth.Issuer, Subject: id, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)), ID: "tok_test",
	}, Role: role})
	tok.Header["kid"] = "key_test"
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Service signs a service token for the service name.
func (k *Tokens) Service(t testing.TB, name string) string {
	t.Helper()
	s, err := auth.NewServiceToken(k.Secret, name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ServeJWKS serves the key set at /.well-known/jwks.json, as usersvc does,
// until the test ends, and returns the server's base URL: a service under
// test verifies Tokens' tokens with it as its USER_SERVICE_URL.
func (k *Tokens) ServeJWKS(t testing.TB) string {
	t.Helper()
	body, err := json.Marshal(k.jwks)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
