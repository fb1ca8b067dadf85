package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/kitshop/kitshop/internal/ids"
)

// NewServiceToken signs a service token for the calling service: HS256
// over secret (SERVICE_SECRET), iss InternalIssuer, sub service, role
// RoleService, good for ServiceTokenTTL from now.
func NewServiceToken(secret, service string, now time.Time) (string, error) {
	now = now.UTC().Truncate(time.Second)
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    InternalIssuer,
			Subject:   service,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ServiceTokenTTL)),
			ID:        ids.New("tok"),
		},
		Role: RoleService,
	})
	s, err := t.SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("service token: %w", err)
	}
	return s, nil
}

// ServiceTokenSource returns a token source for a library client that
// calls as service: it mints a service token and reuses it until a minute
// before it expires.
func ServiceTokenSource(secret, service string) func(ctx context.Context) (string, error) {
	var mu sync.Mutex
	var token string
	var renewAt time.Time
	return func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if token == "" || !now.Before(renewAt) {
			t, err := NewServiceToken(secret, service, now)
			if err != nil {
				return "", err
			}
			token, renewAt = t, now.Add(ServiceTokenTTL-time.Minute)
		}
		return token, nil
	}
}
