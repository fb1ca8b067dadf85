// Package testkit holds the few helpers the project's tests share: a
// goroutine-safe log sink, a bounded poll, a request-like context and a
// one-shot HTTP client with the contract's error body. It is imported only
// by tests.
package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// LogSink collects output written from any goroutine: a logger's, or a
// child process's.
type LogSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (s *LogSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// String returns everything written so far.
func (s *LogSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Reset forgets everything written so far.
func (s *LogSink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
}

// Records decodes the JSON log lines written so far, failing t on a line
// that is not JSON.
func (s *LogSink) Records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// Eventually polls cond every few milliseconds until it holds, and fails t
// saying what did not happen if bound passes first.
func Eventually(t testing.TB, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", bound, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// RequestContext is a cancellable context, as a request's is, cancelled
// when tb ends. Under one, the SQLite driver and database/sql watch every
// statement, which is part of what a statement costs in a service: the
// storage benchmarks run under it for that reason.
func RequestContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return ctx
}
