package containertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/compose"
)

// scaleOut runs three instances of usersvc and productsvc (`up --scale`),
// which ordersvc finds through Docker's DNS (dns+http://, re-resolved every
// DISCOVERY_INTERVAL); then one instance of each is killed while orders
// keep coming, and no order fails.
func (w *walk) scaleOut(ctx context.Context, t *testing.T) {
	w.s.must(ctx, "up", "-d", "--no-recreate", "--scale", "usersvc=3", "--scale", "productsvc=3")
	w.s.waitHealthyN(ctx, 8, 60*time.Second)
	w.untilInstances(ctx, t, 3)
	for i := range 20 {
		if a := w.order(ctx, t); a.status != http.StatusCreated {
			t.Fatalf("order %d with three instances: %s", i+1, a)
		}
	}
	for _, service := range []string{"usersvc", "productsvc"} {
		ids := strings.Fields(w.s.must(ctx, "ps", "-q", service))
		if len(ids) != 3 {
			t.Fatalf("%s: want 3 containers, got %v", service, ids)
		}
		if _, err := compose.Docker(ctx, "kill", ids[1]); err != nil {
			t.Fatal(err)
		}
	}
	killed := time.Now()
	failed := 0
	var first answer
	for i := 0; i < 40 || time.Since(killed) < 3*time.Second; i++ {
		a := w.order(ctx, t)
		if a.status != http.StatusCreated {
			if failed == 0 {
				first = a
			}
			failed++
		}
		if a.took > boundedAnswer {
			t.Fatalf("order %d after the kill took %s, over REQUEST_TIMEOUT+100ms", i+1, a.took)
		}
	}
	if failed > 0 {
		t.Fatalf("%d orders failed with one instance of usersvc and productsvc killed; the first: %s", failed, first)
	}
	// Docker's DNS drops the dead containers, and ordersvc their breakers.
	w.untilInstances(ctx, t, 2)
}

// untilInstances waits until ordersvc's /readyz lists n instances of each
// dependency: discovery has caught up with the containers.
func (w *walk) untilInstances(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ready struct {
			Dependencies map[string]struct {
				Instances map[string]string `json:"instances"`
			} `json:"dependencies"`
		}
		err := w.c.get(ctx, w.s.orders+"/readyz", &ready)
		if err == nil && len(ready.Dependencies["user"].Instances) == n && len(ready.Dependencies["product"].Instances) == n {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("ordersvc does not see %d instances of each dependency: %+v (%v)", n, ready.Dependencies, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
