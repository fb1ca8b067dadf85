// Package authn verifies the bearer tokens of inbound requests, for the
// servers (every service and the gateway), as go-kit endpoint middleware
// in the manner of go-kit's auth/jwt; clients and the service packages do
// not import it. A request's token is verified
// once, in an endpoint middleware, and the caller it names is put in the
// context (auth.NewContext), where the services' access rules read it.
package authn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-kit/kit/endpoint"
	"github.com/golang-jwt/jwt/v4"

	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// MaxTokenBytes bounds a token: anything longer is refused unread.
const MaxTokenBytes = 4096

// Verifier verifies the shop's two kinds of token, each pinned to its
// algorithm and issuer: access tokens (EdDSA, auth.Issuer) against the
// keys of keys, service tokens (HS256, auth.InternalIssuer) against the
// service secret.
type Verifier struct {
	keys   *auth.KeySet
	secret []byte
}

// NewVerifier returns a Verifier over keys and the service secret.
func NewVerifier(keys *auth.KeySet, serviceSecret string) *Verifier {
	return &Verifier{keys: keys, secret: []byte(serviceSecret)}
}

// errRefused is the one answer to a token that does not verify, whatever
// the reason (which goes to the logs as the cause).
var errRefused = kitshop.NewError(kitshop.CodeUnauthenticated, "the access token is not valid")

// Verify returns the caller a valid token names. A token that does not
// verify is 401 unauthenticated; a key set that cannot be fetched (usersvc
// down, and the token's key not cached) is the fetch's own error.
func (v *Verifier) Verify(ctx context.Context, token string) (auth.Caller, error) {
	var caller auth.Caller
	_, err := v.Authenticate()(func(ctx context.Context, _ any) (any, error) {
		caller, _ = auth.FromContext(ctx)
		return nil, nil
	})(auth.ContextWithToken(ctx, token), nil)
	return caller, err
}

// Authenticate is the endpoint middleware that verifies the request's
// bearer token, if it has one, and puts the caller it names in the
// context. A request without a token goes on anonymous: the access rules
// decide whether that is enough.
func (v *Verifier) Authenticate() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			token, ok := auth.TokenFromContext(ctx)
			if !ok {
				return next(ctx, request)
			}
			claims, err := v.parse(ctx, token)
			if err != nil {
				return nil, refusal(err)
			}
			return next(auth.NewContext(ctx, claims.Caller()), request)
		}
	}
}

// parse verifies token with the parser its alg picks, each pinned to one
// method, key and claims type, as go-kit's auth/jwt NewParser is: EdDSA
// for access tokens (keys from the key set, by kid; auth.UserClaims),
// HS256 for service tokens (the service secret; auth.ServiceClaims). Any
// other alg, none included, is refused before any key is looked at.
//
// It is written here on golang-jwt, the library go-kit's parser wraps,
// rather than imported: go-kit's auth/jwt package also holds its gRPC
// metadata glue, which links grpc into every server (80 packages, +6.3 MB
// of binary and +3.5 MiB of idle memory, past the services' 20 MiB).
func (v *Verifier) parse(ctx context.Context, token string) (auth.Claims, error) {
	if len(token) > MaxTokenBytes {
		return auth.Claims{}, errors.New("token too long")
	}
	alg, err := peekAlg(token)
	if err != nil {
		return auth.Claims{}, err
	}
	switch alg {
	case jwt.SigningMethodEdDSA.Alg():
		var c auth.UserClaims
		err := parseWith(token, jwt.SigningMethodEdDSA, &c, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			return v.keys.Key(ctx, kid)
		})
		return c.Claims, err
	case jwt.SigningMethodHS256.Alg():
		if len(v.secret) == 0 {
			return auth.Claims{}, errors.New("no service secret to verify a service token")
		}
		var c auth.ServiceClaims
		err := parseWith(token, jwt.SigningMethodHS256, &c, func(*jwt.Token) (any, error) { return v.secret, nil })
		return c.Claims, err
	}
	return auth.Claims{}, errors.New("token signed with " + alg)
}

// parseWith parses token into claims, accepting method alone.
func parseWith(token string, method jwt.SigningMethod, claims jwt.Claims, key jwt.Keyfunc) error {
	parser := jwt.Parser{ValidMethods: []string{method.Alg()}}
	t, err := parser.ParseWithClaims(token, claims, key)
	if err != nil {
		return err
	}
	if !t.Valid {
		return errors.New("token not valid")
	}
	return nil
}

// peekAlg reads the alg of a token's header, and nothing else: the parser
// that alg picks reads the whole token, once.
func peekAlg(token string) (string, error) {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", errors.New("token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", fmt.Errorf("token header: %w", err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", fmt.Errorf("token header: %w", err)
	}
	return h.Alg, nil
}

// refusal is what a failed verification answers: the key set's own error
// when it could not be fetched (a 503 worth retrying), else 401.
func refusal(err error) error {
	var ve *jwt.ValidationError
	if errors.As(err, &ve) && ve.Inner != nil {
		err = ve.Inner
	}
	var e *kitshop.Error
	if errors.As(err, &e) && e.Code == kitshop.CodeDependencyUnavailable {
		return e
	}
	return errRefused.WithCause(err)
}
