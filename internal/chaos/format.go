package chaos

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// fmtDur prints a duration with a precision that suits its size.
func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Microsecond).String()
}

// fmtCodes prints a status histogram as "201:95 422:5".
func fmtCodes(codes map[string]int) string {
	keys := slices.Collect(maps.Keys(codes))
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, codes[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// fmtStates prints breaker states as "product closed, user open".
func fmtStates(states map[string]int) string {
	names := []string{"closed", "half-open", "open"}
	var parts []string
	for _, dep := range slices.Sorted(maps.Keys(states)) {
		s := states[dep]
		name := fmt.Sprint(s)
		if s >= 0 && s < len(names) {
			name = names[s]
		}
		parts = append(parts, dep+" "+name)
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, ", ")
}
