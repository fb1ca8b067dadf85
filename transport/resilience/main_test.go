package resilience

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// package starts none, and the tests' servers, proxies and clients must all
// be shut down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
