package kitshop_test

import (
	"errors"
	"fmt"
	"go/build"
	"slices"
	"strings"
	"testing"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

func TestErrorsMatchByCode(t *testing.T) {
	sentinel := kitshop.NewError(kitshop.CodeNotFound, "user not found")
	detailed := fmt.Errorf("get: %w", sentinel.WithMessage("user %s not found", "usr_1"))
	if !errors.Is(detailed, sentinel) {
		t.Errorf("%v does not match its sentinel", detailed)
	}
	if errors.Is(detailed, kitshop.NewError(kitshop.CodeAlreadyExists, "user not found")) {
		t.Errorf("%v matches another code", detailed)
	}
	if got := kitshop.ErrorCode(detailed); got != kitshop.CodeNotFound {
		t.Errorf("ErrorCode = %q", got)
	}
	if got := kitshop.ErrorCode(errors.New("disk on fire")); got != kitshop.CodeInternal {
		t.Errorf("ErrorCode(plain) = %q", got)
	}
	internal := kitshop.Internal(errors.New("disk on fire"))
	if internal.Message != "internal error" || !strings.Contains(internal.Error(), "disk on fire") {
		t.Errorf("Internal: message %q, Error %q", internal.Message, internal.Error())
	}
}

func TestListPage(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e"}
	fetch := func(after string) func(int) ([]string, error) {
		return func(n int) ([]string, error) {
			i := 0
			if after != "" {
				i = slices.Index(all, after) + 1
			}
			return all[i:min(i+n, len(all))], nil
		}
	}
	id := func(s string) string { return s }

	var got []string
	after, pages := "", 0
	for {
		page, next, err := kitshop.ListPage(2, fetch(after), id)
		if err != nil {
			t.Fatal(err)
		}
		got, pages = append(got, page...), pages+1
		if next == "" {
			break
		}
		after = next
	}
	if !slices.Equal(got, all) || pages != 3 {
		t.Errorf("pages %d gave %v", pages, got)
	}
	for _, limit := range []int{0, -1, kitshop.MaxPageLimit + 1} {
		_, _, err := kitshop.ListPage(limit, fetch(""), id)
		if kitshop.ErrorCode(err) != kitshop.CodeInvalidArgument || !strings.HasPrefix(kitshop.AsError(err).Message, "limit: ") {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
}

// The domain package is what a client or a future gRPC transport shares; it
// must not pull in HTTP, SQL or metrics.
func TestImportsNoWire(t *testing.T) {
	pkg, err := build.Import("github.com/kitshop/kitshop/pkg/kitshop", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "net/") || strings.Contains(imp, "sql") || strings.Contains(imp, "prometheus") || strings.Contains(imp, "go-kit") {
			t.Errorf("pkg/kitshop imports %s", imp)
		}
	}
}

// ValidateName takes a name as users write them and refuses, naming the
// field, what no display can show.
func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Ada Lovelace", true},
		{"Grâce « 💻 »", true}, // 12 characters in 19 bytes
		{"twelve chars", true},
		{"thirteen char", false},
		{"", false},
		{" \t ", false},
		{"tab\there", false},
		{"bad \xff utf-8", false},
	} {
		err := kitshop.ValidateName("name", tc.name, 12)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v; want ok %v", tc.name, err, tc.ok)
			continue
		}
		if err != nil {
			if e := kitshop.AsError(err); e.Code != kitshop.CodeInvalidArgument || !strings.HasPrefix(e.Message, "name: ") {
				t.Errorf("ValidateName(%q) = %+v; want invalid_argument on name", tc.name, e)
			}
		}
	}
}
