package loadbench

import (
	"strings"
	"sync"
)

// tailWriter keeps the last lines written to it (the children's output:
// one Write per line) and drops the rest: under load the services log
// several lines per request, which nobody reads unless a start fails.
type tailWriter struct {
	mu    sync.Mutex
	lines [][]byte // reused, so that a line costs no allocation
	next  int
	full  bool
}

func newTailWriter(n int) *tailWriter { return &tailWriter{lines: make([][]byte, n)} }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.lines[t.next] = append(t.lines[t.next][:0], p...)
	t.next = (t.next + 1) % len(t.lines)
	t.full = t.full || t.next == 0
	t.mu.Unlock()
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	if t.full {
		for _, l := range t.lines[t.next:] {
			b.Write(l)
		}
	}
	for _, l := range t.lines[:t.next] {
		b.Write(l)
	}
	return b.String()
}
