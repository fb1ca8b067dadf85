package sqldb

import (
	"context"
	"strings"
	"testing"
	"time"
)

// awkwardPasswords are passwords written into a DATABASE_URL as a person
// would, unescaped: each breaks a naive URL parser somewhere.
var awkwardPasswords = []string{"p@ss", "a:b@c", "%zz", "pa/ss", "x?y#z", "two words", "pässwörd€", "s3cr3t"}

// TestOpenErrorsNeverQuoteThePassword opens unreachable, unparseable and
// unknown-scheme URLs with awkward passwords: no error may contain the
// password or any distinctive piece of it.
func TestOpenErrorsNeverQuoteThePassword(t *testing.T) {
	for _, pw := range awkwardPasswords {
		for _, raw := range []string{
			"postgres://kit:" + pw + "@127.0.0.1:1/shop?connect_timeout=1",
			"postgresql://kit:" + pw + "@127.0.0.1:1/shop?sslmode=disable&connect_timeout=1",
			"postgres://kit:" + pw + "@[::1/shop",
			"mysql://kit:" + pw + "@localhost/shop",
			"postgres://127.0.0.1:1/shop?connect_timeout=1&password=" + pw,
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := Open(ctx, raw, nil)
			cancel()
			if err == nil {
				t.Fatalf("Open(%q) succeeded", raw)
			}
			if leaks(err.Error(), pw) {
				t.Errorf("password %q: Open error leaks it: %v", pw, err)
			}
			if got := redact(raw); leaks(got, pw) {
				t.Errorf("redact(%q) = %q leaks the password", raw, got)
			}
		}
	}
}

// leaks reports whether msg holds pw or a piece of it of three bytes or
// more that is not ordinary URL text.
func leaks(msg, pw string) bool {
	for _, piece := range strings.FieldsFunc(pw, func(r rune) bool { return strings.ContainsRune("@:/?# ", r) }) {
		if len(piece) >= 3 || (len(piece) >= 2 && piece == pw) {
			if strings.Contains(msg, piece) {
				return true
			}
		}
	}
	return strings.Contains(msg, pw)
}

func TestScrubUnparseableURL(t *testing.T) {
	for _, pw := range awkwardPasswords {
		dsn := "postgres://kit:" + pw + "@db/shop"
		if got := scrub("driver said "+dsn, dsn); leaks(got, pw) {
			t.Errorf("scrub with password %q = %q", pw, got)
		}
	}
}
