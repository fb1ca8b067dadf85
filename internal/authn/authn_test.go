package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

const secret = "a service secret of thirty-two bytes or more"

type fixture struct {
	pub     ed25519.PublicKey
	priv    ed25519.PrivateKey
	fetches atomic.Int64
	v       *Verifier
}

func newFixture(t testing.TB) *fixture {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pub: pub, priv: priv}
	keys := auth.NewKeySet(func(context.Context) (auth.JWKS, error) {
		f.fetches.Add(1)
		return auth.JWKS{Keys: []auth.JWK{auth.NewJWK("key_1", pub)}}, nil
	})
	f.v = NewVerifier(keys, secret)
	return f
}

func claims(iss, sub, role string, exp time.Duration) auth.Claims {
	now := time.Now()
	return auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: iss, Subject: sub,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(exp)), ID: "tok_1"}, Role: role}
}

func (f *fixture) signEdDSA(t testing.TB, c auth.Claims, kid string) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(f.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signHS256(t testing.TB, c auth.Claims, key []byte) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidTokensNameTheirCaller(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	user := f.signEdDSA(t, claims(auth.Issuer, "usr_1", auth.RoleCustomer, 15*time.Minute), "key_1")
	if c, err := f.v.Verify(ctx, user); err != nil || c != (auth.Caller{ID: "usr_1", Role: auth.RoleCustomer}) {
		t.Fatalf("customer token: %+v, %v", c, err)
	}
	svc, err := auth.NewServiceToken(secret, "ordersvc", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := f.v.Verify(ctx, svc); err != nil || c != (auth.Caller{ID: "ordersvc", Role: auth.RoleService}) {
		t.Fatalf("service token: %+v, %v", c, err)
	}
	// Up to auth.Leeway past exp still verifies.
	late := f.signEdDSA(t, claims(auth.Issuer, "usr_1", auth.RoleAdmin, -10*time.Second), "key_1")
	if _, err := f.v.Verify(ctx, late); err != nil {
		t.Fatalf("token 10s past exp: %v", err)
	}
	if n := f.fetches.Load(); n != 1 {
		t.Fatalf("%d key set fetches, want 1 (then cached)", n)
	}
}

// Every forged, stale or misplaced token is the same 401, whatever is wrong
// with it.
func TestBadTokensAreRefused(t *testing.T) {
	f := newFixture(t)
	valid := claims(auth.Issuer, "usr_1", auth.RoleCustomer, 15*time.Minute)
	tampered := func() string {
		tok := f.signEdDSA(t, valid, "key_1")
		parts := strings.Split(tok, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"customer"`, `"admin"`, 1)))
		return strings.Join(parts, ".")
	}
	none := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, valid).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	notYet := valid
	notYet.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Minute))
	futureIat := valid
	futureIat.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Minute))
	noSub := valid
	noSub.Subject = ""
	for name, token := range map[string]string{
		"alg none":                          none(),
		"HS256 signed with the public key":  signHS256(t, valid, f.pub),
		"HS256 user claims, service secret": signHS256(t, valid, []byte(secret)),
		"unknown kid":                       f.signEdDSA(t, valid, "key_2"),
		"no kid":                            f.signEdDSA(t, valid, ""),
		"expired past the leeway":           f.signEdDSA(t, claims(auth.Issuer, "usr_1", auth.RoleCustomer, -31*time.Second), "key_1"),
		"not valid yet":                     f.signEdDSA(t, notYet, "key_1"),
		"issued in the future":              f.signEdDSA(t, futureIat, "key_1"),
		"no subject":                        f.signEdDSA(t, noSub, "key_1"),
		"another issuer":                    f.signEdDSA(t, claims("evil", "usr_1", auth.RoleCustomer, time.Minute), "key_1"),
		"service claims, user key":          f.signEdDSA(t, claims(auth.InternalIssuer, "ordersvc", auth.RoleService, time.Minute), "key_1"),
		"service role, user issuer":         f.signEdDSA(t, claims(auth.Issuer, "ordersvc", auth.RoleService, time.Minute), "key_1"),
		"service token, wrong secret":       signHS256(t, claims(auth.InternalIssuer, "ordersvc", auth.RoleService, time.Minute), []byte("another secret entirely, 32 bytes+")),
		"service token for an hour":         signHS256(t, claims(auth.InternalIssuer, "ordersvc", auth.RoleService, time.Hour), []byte(secret)),
		"admin role, internal issuer":       signHS256(t, claims(auth.InternalIssuer, "ordersvc", auth.RoleAdmin, time.Minute), []byte(secret)),
		"tampered payload":                  tampered(),
		"8 KB of garbage":                   strings.Repeat("x", 8<<10),
		"three dots of garbage":             "a.b.c",
		"empty segments":                    "..",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := f.v.Verify(context.Background(), token)
			e := kitshop.AsError(err)
			if err == nil || e.Code != kitshop.CodeUnauthenticated || e.Message != "the access token is not valid" {
				t.Fatalf("Verify = %+v, %v; want 401 unauthenticated", c, err)
			}
		})
	}
	// The unknown kids fetched the key set once, not once per token.
	if n := f.fetches.Load(); n != 1 {
		t.Errorf("%d key set fetches, want 1", n)
	}
}

// Without a token a request goes on anonymous; what the endpoint answers
// (a business error, say) comes back as it is, not as a refusal.
func TestAuthenticatePassesAnonymousRequestsAndAnswersThrough(t *testing.T) {
	f := newFixture(t)
	notFound := kitshop.NewError(kitshop.CodeNotFound, "no such thing")
	ep := f.v.Authenticate()(func(ctx context.Context, _ any) (any, error) {
		if _, ok := auth.FromContext(ctx); ok {
			return "caller", notFound
		}
		return "anonymous", nil
	})
	if r, err := ep(context.Background(), nil); r != "anonymous" || err != nil {
		t.Fatalf("no token: %v, %v", r, err)
	}
	token := f.signEdDSA(t, claims(auth.Issuer, "usr_1", auth.RoleCustomer, time.Minute), "key_1")
	if r, err := ep(auth.ContextWithToken(context.Background(), token), nil); r != "caller" || !errors.Is(err, notFound) {
		t.Fatalf("with a token: %v, %v; want the endpoint's own answer", r, err)
	}
}

// A key set that cannot be fetched (usersvc down) is a 503 worth retrying,
// not a 401; a key fetched before keeps verifying.
func TestKeySetOutage(t *testing.T) {
	f := newFixture(t)
	down := atomic.Bool{}
	keys := auth.NewKeySet(func(context.Context) (auth.JWKS, error) {
		if down.Load() {
			return auth.JWKS{}, kitshop.DependencyUnavailable("user", time.Second, errors.New("connection refused"))
		}
		return auth.JWKS{Keys: []auth.JWK{auth.NewJWK("key_1", f.pub)}}, nil
	})
	v := NewVerifier(keys, secret)
	token := f.signEdDSA(t, claims(auth.Issuer, "usr_1", auth.RoleCustomer, time.Minute), "key_1")
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatalf("cached key with usersvc down: %v", err)
	}
	outage := NewVerifier(auth.NewKeySet(func(context.Context) (auth.JWKS, error) {
		return auth.JWKS{}, kitshop.DependencyUnavailable("user", time.Second, errors.New("connection refused"))
	}), secret)
	if _, err := outage.Verify(context.Background(), token); kitshop.ErrorCode(err) != kitshop.CodeDependencyUnavailable {
		t.Fatalf("no key and usersvc down: %v, want dependency_unavailable", err)
	}
}

// BenchmarkVerifyAccessToken is the cost a request pays for its token once
// the key set is cached: no network call, one Ed25519 verification.
func BenchmarkVerifyAccessToken(b *testing.B) {
	f := newFixture(b)
	token := f.signEdDSA(b, claims(auth.Issuer, "usr_1", auth.RoleCustomer, time.Hour), "key_1")
	ctx := context.Background()
	if _, err := f.v.Verify(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
	if n := f.fetches.Load(); n != 1 {
		b.Fatalf("%d fetches", n)
	}
}
