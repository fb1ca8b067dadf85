// Package ids makes the server-generated IDs of every resource: a short type
// prefix and 26 characters of Crockford base32 holding a millisecond
// timestamp and 80 random bits, so IDs sort in creation order (to the
// millisecond) and never collide in practice.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// New returns a fresh ID such as "usr_01jd3k5x0r8f3m4c8q9w2e7t6y".
func New(prefix string) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(raw[6:])
	// 128 bits -> 26 base32 characters (the top two bits are zero).
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := binary.BigEndian.Uint64(raw[8:])
	out := make([]byte, len(prefix)+1+26)
	copy(out, prefix)
	out[len(prefix)] = '_'
	for i := len(out) - 1; i > len(prefix); i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// Valid reports whether id looks like an ID New(prefix) made, so malformed
// IDs can be rejected without touching storage.
func Valid(prefix, id string) bool {
	if len(id) != len(prefix)+27 || id[:len(prefix)] != prefix || id[len(prefix)] != '_' {
		return false
	}
	for i := len(prefix) + 1; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') || c == 'i' || c == 'l' || c == 'o' || c == 'u' {
			return false
		}
	}
	return true
}
