package transport

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: Serve
// and the test servers start goroutines, and all must be gone at the end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logSink collects log output from any goroutine.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// records decodes the JSON log lines written so far.
func (s *logSink) records(t *testing.T) []map[string]any {
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

// eventually polls cond every few milliseconds until it holds or the bound
// passes.
func eventually(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", bound, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// asError asserts that err is an *Error of the given code and status.
func asError(t *testing.T, err error, code Code, status int) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v (%T) is not a *transport.Error", err, err)
	}
	if e.Code != code || e.Status() != status {
		t.Fatalf("error %v: code %q status %d, want %q %d", e, e.Code, e.Status(), code, status)
	}
	return e
}
