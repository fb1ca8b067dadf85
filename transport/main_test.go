package transport

import (
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
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

// asError asserts that err is an *kitshop.Error of the given code and status.
func asError(t *testing.T, err error, code kitshop.Code, status int) *kitshop.Error {
	t.Helper()
	e, ok := err.(*kitshop.Error)
	if !ok {
		t.Fatalf("error %v (%T) is not a *kitshop.Error", err, err)
	}
	if e.Code != code || Status(err) != status {
		t.Fatalf("error %v: code %q status %d, want %q %d", e, e.Code, Status(err), code, status)
	}
	return e
}
