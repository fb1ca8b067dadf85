package discovery

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/kitshop/kitshop/internal/etcdtest"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport/resilience"
)

// What ordersvc does with USER_SERVICE_URL=etcd://...: an instance that
// registers in etcd takes the dependency's calls, and one that deregisters
// no longer does.
func TestEtcdInstancesTakeResilienceCalls(t *testing.T) {
	srv := etcdtest.New(t)
	registry := "etcd://" + srv.Endpoint()
	in := newEtcd(t, registry+"/usersvc", Options{})
	dep, err := resilience.NewDependencyFromInstancer("user", in, resilience.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dep.Close() })

	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "user instance")
	}))
	t.Cleanup(api.Close)
	call := dep.Endpoint(func(instance string) endpoint.Endpoint {
		return func(ctx context.Context, _ any) (any, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, instance+"/whoami", nil)
			if err != nil {
				return nil, err
			}
			resp, err := api.Client().Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			return string(body), err
		}
	})
	unavailable := func() bool {
		_, err := call(context.Background(), nil)
		var e *kitshop.Error
		return errors.As(err, &e) && e.Code == kitshop.CodeDependencyUnavailable
	}
	if !unavailable() {
		t.Fatal("a call with no instance registered was not refused as dependency_unavailable")
	}

	deregister := registerIn(t, registry, "usersvc", api.URL, Options{})
	testkit.Eventually(t, time.Second, "a call reaches the registered instance", func() bool {
		out, err := call(context.Background(), nil)
		return err == nil && out == "user instance"
	})
	deregister()
	testkit.Eventually(t, time.Second, "calls refused once the instance deregistered", unavailable)
}
