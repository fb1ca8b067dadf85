package ids

import (
	"sort"
	"testing"
	"time"
)

func TestNewIsValidUniqueAndOrdered(t *testing.T) {
	seen := map[string]bool{}
	var list []string
	for i := 0; i < 2000; i++ {
		id := New("usr")
		if !Valid("usr", id) {
			t.Fatalf("New made an invalid id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		list = append(list, id)
	}
	first := New("usr")
	time.Sleep(2 * time.Millisecond) // IDs order by millisecond: cross one.
	second := New("usr")
	if !(first < second) {
		t.Fatalf("ids out of creation order: %q then %q", first, second)
	}
	if !sort.StringsAreSorted([]string{list[0], second}) {
		t.Fatalf("earlier id %q sorts after later %q", list[0], second)
	}
}

func TestValidRejects(t *testing.T) {
	good := New("prd")
	for _, bad := range []string{"", "prd_", "usr" + good[3:], good + "x", good[:len(good)-1] + "U", good[:len(good)-1] + "i", "prd-" + good[4:]} {
		if Valid("prd", bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
}
