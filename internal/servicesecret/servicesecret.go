// Package servicesecret makes SERVICE_SECRETs for the programs that start
// the shop's services themselves (the shop, the chaos runner, loadbench and
// the tests): random, and long enough for every service to accept.
package servicesecret

import (
	"crypto/rand"
	"encoding/hex"
)

// MinBytes is the shortest SERVICE_SECRET a service accepts.
const MinBytes = 32

// New returns a fresh random secret: 32 random bytes in hex.
func New() string {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		panic("servicesecret: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return hex.EncodeToString(raw)
}
