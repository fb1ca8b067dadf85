package discovery

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// instancer's stop, every deregister and every etcd server of the tests
// must release everything they started (the etcd client's gRPC
// connection included).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
