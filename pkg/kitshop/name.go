package kitshop

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidateName is the one rule for a display name (a user's, a product's):
// valid UTF-8, not blank, no control characters, at most max characters.
// It refuses anything else with invalid_argument naming field.
func ValidateName(field, name string, max int) error {
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return InvalidArgument(field, "must be valid UTF-8")
	case strings.TrimSpace(name) == "":
		return InvalidArgument(field, "is required")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return InvalidArgument(field, "must not hold control characters")
	case n > max:
		return InvalidArgument(field, "must be at most %d characters, got %d", max, n)
	}
	return nil
}
