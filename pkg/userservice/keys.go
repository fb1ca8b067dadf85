package userservice

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// KeyIDPrefix starts every signing key's ID (the tokens' kid).
const KeyIDPrefix = "key"

// TokenLeeway is how far past its exp a token still verifies, for clocks
// that disagree; a retired key stays published this much longer too.
const TokenLeeway = 30 * time.Second

// KeyReload bounds how long an instance signs with a key another instance
// (or usersvc -rotate-signing-key) has retired.
const KeyReload = 10 * time.Second

// KeySealer seals signing keys for storage: AES-256-GCM under a key derived
// from SERVICE_SECRET, so a copy of the database alone signs no token.
type KeySealer struct{ aead cipher.AEAD }

// NewKeySealer derives the sealing key from secret (SERVICE_SECRET).
func NewKeySealer(secret string) (*KeySealer, error) {
	if secret == "" {
		return nil, errors.New("signing keys: no service secret to seal them with")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("kitshop signing-key sealing v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	return &KeySealer{aead: aead}, nil
}

func (s *KeySealer) seal(kid string, priv ed25519.PrivateKey) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, priv.Seed(), []byte(kid))
}

func (s *KeySealer) open(k SigningKey) (ed25519.PrivateKey, error) {
	n := s.aead.NonceSize()
	if len(k.Sealed) < n {
		return nil, fmt.Errorf("signing key %s: sealed key too short", k.ID)
	}
	seed, err := s.aead.Open(nil, k.Sealed[:n], k.Sealed[n:], []byte(k.ID))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key %s cannot be opened with this SERVICE_SECRET (was it changed? "+
			"usersvc -rotate-signing-key makes a new key)", k.ID)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// RotateSigningKey makes a new current signing key and retires the
// others, which stay published until the tokens they signed have expired.
// It returns the new key's ID.
func RotateSigningKey(ctx context.Context, creds Credentials, sealer *KeySealer, now time.Time) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	kid := ids.New(KeyIDPrefix)
	k := SigningKey{ID: kid, Public: pub, Sealed: sealer.seal(kid, priv), CreatedAt: now.UTC().Truncate(time.Microsecond)}
	if err := creds.AddSigningKey(ctx, k); err != nil {
		return "", err
	}
	return kid, nil
}

// keyring signs access tokens with the current key and publishes the keys
// that verify them, reading both from Credentials at most every KeyReload.
type keyring struct {
	creds  Credentials
	sealer *KeySealer
	ttl    time.Duration

	mu      sync.Mutex
	loaded  time.Time
	kid     string
	private ed25519.PrivateKey
	public  auth.JWKS
}

// load reads the keys again when they are older than KeyReload, making
// the first key when there is none.
func (k *keyring) load(ctx context.Context, now time.Time) error {
	if !k.loaded.IsZero() && now.Sub(k.loaded) < KeyReload && now.After(k.loaded) {
		return nil
	}
	keys, err := k.creds.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		if _, err := RotateSigningKey(ctx, k.creds, k.sealer, now); err != nil {
			return err
		}
		if keys, err = k.creds.SigningKeys(ctx); err != nil {
			return err
		}
		if len(keys) == 0 {
			return kitshop.Internal(errors.New("signing keys: none after making one"))
		}
	}
	current := keys[0] // the current key comes first
	private, err := k.sealer.open(current)
	if err != nil {
		return kitshop.Internal(err)
	}
	var public auth.JWKS
	for _, key := range keys {
		if key.RetiredAt.IsZero() || now.Before(key.RetiredAt.Add(k.ttl+TokenLeeway)) {
			public.Keys = append(public.Keys, auth.NewJWK(key.ID, ed25519.PublicKey(key.Public)))
		}
	}
	k.loaded, k.kid, k.private, k.public = now, current.ID, private, public
	return nil
}

// sign signs claims with the current key, its ID in the header.
func (k *keyring) sign(ctx context.Context, now time.Time, claims auth.Claims) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.load(ctx, now); err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = k.kid
	signed, err := t.SignedString(k.private)
	if err != nil {
		return "", kitshop.Internal(fmt.Errorf("sign token: %w", err))
	}
	return signed, nil
}

// jwks is the key set that verifies the tokens signed now or not expired.
func (k *keyring) jwks(ctx context.Context, now time.Time) (auth.JWKS, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.load(ctx, now); err != nil {
		return auth.JWKS{}, err
	}
	return auth.JWKS{Keys: append([]auth.JWK(nil), k.public.Keys...)}, nil
}
