package transport

import (
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/testkit"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: Serve
// and the test servers start goroutines, and all must be gone at the end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logSink collects log output from any goroutine.
type logSink = testkit.LogSink

// eventually polls cond until it holds or the bound passes.
func eventually(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, bound, what, cond)
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
