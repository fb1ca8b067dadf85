package orderservice_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/transport/resilience"
)

// countingServer answers every request 500 and counts them.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, `{"error":{"code":"internal","message":"down"}}`, http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// Built the ordinary way (clients over resilience dependencies, no
// WithGates), the service refuses at once while the user breaker is open:
// no call to either dependency, no store access.
func TestOrdinaryWiringRefusesWhileBreakerOpen(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 10)
	userSrv, userHits := countingServer(t)
	productSrv, productHits := countingServer(t)
	settings := resilience.Settings{MaxAttempts: 1, ConsecutiveFailures: 1, BreakerOpenTimeout: time.Hour}
	userDep, err := resilience.NewDependency(orderservice.DependencyUser, []string{userSrv.URL}, settings)
	if err != nil {
		t.Fatal(err)
	}
	productDep, err := resilience.NewDependency(orderservice.DependencyProduct, []string{productSrv.URL}, settings)
	if err != nil {
		t.Fatal(err)
	}
	httpClient := &http.Client{}
	t.Cleanup(httpClient.CloseIdleConnections)

	users := orderservice.NewUsersClient(userDep, httpClient)
	counting := &countingStore{Store: s.store}
	orders := orderservice.NewService(counting, users, orderservice.NewProductsClient(productDep, httpClient))

	// One failed call opens the user breaker.
	if _, err := users.GetUser(context.Background(), u.ID); err == nil {
		t.Fatal("GetUser against a failing server succeeded")
	}
	if userDep.Available() == nil {
		t.Fatal("user breaker not open")
	}
	userHits.Store(0)

	_, err = orders.CreateOrder(context.Background(), order(u.ID, "k", line(p, 1)))
	e := wantCode(t, err, kitshop.CodeDependencyUnavailable)
	if e.Dependency != orderservice.DependencyUser || e.RetryAfter <= 0 {
		t.Fatalf("error = %+v", e)
	}
	if counting.calls != 0 || userHits.Load() != 0 || productHits.Load() != 0 {
		t.Fatalf("store calls %d, user calls %d, product calls %d: want none",
			counting.calls, userHits.Load(), productHits.Load())
	}
}
