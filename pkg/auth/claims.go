package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// Leeway is how far past its exp (or before its iat and nbf) a token still
// verifies, for clocks that disagree.
const Leeway = 30 * time.Second

// ServiceTokenTTL is how long a service token is good for; a service token
// whose exp is further ahead than this (and Leeway) is refused.
const ServiceTokenTTL = 5 * time.Minute

// Claims are a token's claims: iss, sub (the user ID, or the calling
// service's name), iat, exp, jti, and the role.
type Claims struct {
	jwt.RegisteredClaims
	Role string `json:"role"`
}

// Caller is who the claims name.
func (c Claims) Caller() Caller { return Caller{ID: c.Subject, Role: c.Role} }

// checkTimes checks exp (required), iat and nbf against now with Leeway.
func (c Claims) checkTimes(now time.Time) error {
	switch {
	case c.ExpiresAt == nil || !now.Add(-Leeway).Before(c.ExpiresAt.Time):
		return errors.New("token expired or has no exp")
	case c.IssuedAt != nil && c.IssuedAt.After(now.Add(Leeway)):
		return errors.New("token issued in the future")
	case c.NotBefore != nil && c.NotBefore.After(now.Add(Leeway)):
		return errors.New("token not valid yet")
	case c.Subject == "":
		return errors.New("token names no subject")
	}
	return nil
}

// UserClaims are the claims of an access token that usersvc signed
// (Issuer, EdDSA). Their Valid, which JWT parsers call, refuses any other
// issuer and any role but customer and admin, so a service token's claims
// in a user token do not pass.
type UserClaims struct{ Claims }

// Valid implements jwt.Claims.
func (c *UserClaims) Valid() error {
	if err := c.checkTimes(time.Now()); err != nil {
		return err
	}
	if c.Issuer != Issuer {
		return errors.New("access token of another issuer")
	}
	if c.Role != RoleCustomer && c.Role != RoleAdmin {
		return errors.New("access token with role " + c.Role)
	}
	return nil
}

// ServiceClaims are the claims of a service token (InternalIssuer, HS256
// over SERVICE_SECRET). Their Valid refuses any other issuer, any role but
// RoleService, and an exp further ahead than ServiceTokenTTL.
type ServiceClaims struct{ Claims }

// Valid implements jwt.Claims.
func (c *ServiceClaims) Valid() error {
	now := time.Now()
	if err := c.checkTimes(now); err != nil {
		return err
	}
	if c.Issuer != InternalIssuer || c.Role != RoleService {
		return errors.New("service token of another issuer or role")
	}
	if c.ExpiresAt.After(now.Add(ServiceTokenTTL + Leeway)) {
		return errors.New("service token good for longer than allowed")
	}
	return nil
}
