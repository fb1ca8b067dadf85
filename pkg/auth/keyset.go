package auth

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"
)

// RefetchInterval bounds how often a KeySet asks for the key set again
// because a token named a key it did not know.
const RefetchInterval = 10 * time.Second

// KeySet keeps usersvc's public keys in memory, as fetched on first need
// (through fetch: the user service client's JWKS, behind the resilient
// chain) and again when a token names an unknown kid, at most once per
// RefetchInterval. A key once fetched keeps verifying while usersvc is
// down. It is safe for concurrent use.
type KeySet struct {
	fetch func(ctx context.Context) (JWKS, error)
	now   func() time.Time

	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey
	lastFetch time.Time
}

// NewKeySet returns a KeySet over fetch.
func NewKeySet(fetch func(ctx context.Context) (JWKS, error)) *KeySet {
	return &KeySet{fetch: fetch, now: time.Now, keys: map[string]ed25519.PublicKey{}}
}

// StaticKeySet is a KeySet of fixed keys that never fetches, for tests and
// for a service that signs the keys itself.
func StaticKeySet(keys JWKS) *KeySet {
	ks := NewKeySet(func(context.Context) (JWKS, error) { return keys, nil })
	ks.store(keys)
	ks.lastFetch = ks.now()
	return ks
}

// ErrUnknownKey is the cause of a refusal when a token names a key the key
// set does not have (and a fetch has just been made, or failed).
type ErrUnknownKey struct{ KeyID string }

// Error names the key.
func (e ErrUnknownKey) Error() string { return fmt.Sprintf("token signed by unknown key %q", e.KeyID) }

// Key returns the public key kid. An unknown kid makes the KeySet fetch
// the set again unless it did less than RefetchInterval ago; a failed
// fetch is returned as it is (a dependency_unavailable error through the
// resilient client).
func (k *KeySet) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[kid]; ok {
		return key, nil
	}
	if !k.lastFetch.IsZero() && k.now().Sub(k.lastFetch) < RefetchInterval {
		return nil, ErrUnknownKey{kid}
	}
	k.lastFetch = k.now()
	set, err := k.fetch(ctx)
	if err != nil {
		return nil, err
	}
	k.store(set)
	if key, ok := k.keys[kid]; ok {
		return key, nil
	}
	return nil, ErrUnknownKey{kid}
}

// store adds the usable keys of set (keys no longer published are kept:
// the tokens they signed are refused by their exp soon enough).
func (k *KeySet) store(set JWKS) {
	for _, jwk := range set.Keys {
		pub, err := jwk.PublicKey()
		if err != nil {
			continue // a key of a kind we do not use verifies nothing
		}
		k.keys[jwk.KeyID] = pub
	}
}
