package loadbench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// splitCPUs divides the allowed CPUs between the load generator (the first
// half, at least one) and the services (the rest). With fewer than two
// CPUs there is nothing to split: both are nil.
func splitCPUs(allowed []int) (loadgen, services []int) {
	if len(allowed) < 2 {
		return nil, nil
	}
	allowed = slices.Clone(allowed)
	slices.Sort(allowed)
	half := len(allowed) / 2
	return allowed[:half], allowed[half:]
}

// joinInts writes a CPU list as LOADBENCH_CPUS takes it: "1,3".
func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// parseInts reads a CPU list such as "1,3".
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("CPU list %q: want numbers such as 1,3", s)
		}
		out = append(out, n)
	}
	return out, nil
}
