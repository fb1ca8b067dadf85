// Package auth is the shop's identity vocabulary, shared by the service
// that issues tokens (usersvc), the services and the gateway that verify
// them, and their library clients: roles, the claims of an access token,
// and the JSON Web Key Set that publishes the keys verifying them. It
// imports no HTTP and no storage.
package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
)

// Roles a token can carry.
const (
	// RoleCustomer is everyone who signs up.
	RoleCustomer = "customer"
	// RoleAdmin is the account usersvc makes (or promotes) from
	// ADMIN_EMAIL and ADMIN_PASSWORD.
	RoleAdmin = "admin"
	// RoleService is a service calling another with a service token.
	RoleService = "service"
)

// Issuers, each pinned to one signing algorithm, so that a token of one
// kind never passes for the other.
const (
	// Issuer signs access tokens, with Ed25519 (EdDSA).
	Issuer = "kitshop"
	// InternalIssuer signs service tokens, with HS256 over SERVICE_SECRET.
	InternalIssuer = "kitshop-internal"
)

// JWK is one Ed25519 public key in JSON Web Key form (RFC 8037).
type JWK struct {
	KeyType string `json:"kty"` // "OKP"
	Curve   string `json:"crv"` // "Ed25519"
	X       string `json:"x"`   // the public key, base64url without padding
	KeyID   string `json:"kid"`
	Alg     string `json:"alg"` // "EdDSA"
	Use     string `json:"use"` // "sig"
}

// JWKS is a JSON Web Key Set: the body of GET /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// NewJWK is the JWK of public key pub, named kid.
func NewJWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{KeyType: "OKP", Curve: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
		KeyID: kid, Alg: "EdDSA", Use: "sig"}
}

// PublicKey decodes k, refusing anything but an Ed25519 signing key.
func (k JWK) PublicKey() (ed25519.PublicKey, error) {
	if k.KeyType != "OKP" || k.Curve != "Ed25519" || (k.Alg != "" && k.Alg != "EdDSA") || (k.Use != "" && k.Use != "sig") {
		return nil, fmt.Errorf("key %q: not an Ed25519 signing key (kty %q, crv %q, alg %q, use %q)", k.KeyID, k.KeyType, k.Curve, k.Alg, k.Use)
	}
	raw, err := base64.RawURLEncoding.DecodeString(k.X)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("key %q: x is not a base64url Ed25519 public key", k.KeyID)
	}
	return ed25519.PublicKey(raw), nil
}
