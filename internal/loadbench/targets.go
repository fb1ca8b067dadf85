package loadbench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
	"github.com/kitshop/kitshop/transport/resilience"
)

// wireTimeout bounds one request of the load generator's own client.
const wireTimeout = 10 * time.Second

// inboundTimeout is the deadline ordersvc's calls inherit from the request
// they serve (REQUEST_TIMEOUT's default); the client comparison gives both
// clients a context like it.
const inboundTimeout = 5 * time.Second

// statusError is an answer with a status other than the one expected.
type statusError struct{ got, want int }

func (e statusError) Error() string { return fmt.Sprintf("status %d, want %d", e.got, e.want) }

// wireGetUsers is GET /v1/users/{id} on addr over the load generator's own
// HTTP/1.1 client, cycling through the users, each read by the user
// themselves with their access token from tokens (by user ID).
func wireGetUsers(name, addr string, users []userservice.User, tokens map[string]string, pids func() []int) target {
	reqs := make([][]byte, len(users))
	for i, u := range users {
		reqs[i] = buildRequest(nil, http.MethodGet, addr, "/v1/users/"+u.ID, []string{"Authorization: Bearer " + tokens[u.ID]}, nil)
	}
	return target{name: name, pids: pids, newWorker: func(w int) (doer, func()) {
		c := newWireConn(addr, wireTimeout)
		k := w
		return func(context.Context) error {
			status, err := c.roundTrip(reqs[k%len(reqs)])
			k++
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return statusError{status, http.StatusOK}
			}
			return nil
		}, c.close
	}}
}

// keySeq makes Idempotency-Keys unique across the whole run.
var keySeq atomic.Int64

// wirePostOrders is POST /v1/orders on addr over the load generator's own
// client, one item of one product per order, each with its own
// Idempotency-Key and its user's access token (tokens, by user ID),
// expecting status want.
func wirePostOrders(name, addr string, userIDs []string, tokens map[string]string, productIDs []string, want int, pids func() []int) target {
	run := keySeq.Add(1)
	return target{name: name, pids: pids, newWorker: func(w int) (doer, func()) {
		c := newWireConn(addr, wireTimeout)
		var body, req []byte
		prefix := "Idempotency-Key: lb-" + strconv.FormatInt(run, 10) + "-" + strconv.Itoa(w) + "-"
		headers := []string{"", ""}
		k := 0
		return func(context.Context) error {
			user := userIDs[(w+k)%len(userIDs)]
			body = fmt.Appendf(body[:0], `{"user_id":%q,"items":[{"product_id":%q,"quantity":1}]}`,
				user, productIDs[k%len(productIDs)])
			headers[0] = prefix + strconv.Itoa(k)
			headers[1] = "Authorization: Bearer " + tokens[user]
			req = buildRequest(req[:0], http.MethodPost, addr, "/v1/orders", headers, body)
			k++
			status, err := c.roundTrip(req)
			if err != nil {
				return err
			}
			if status != want {
				return statusError{status, want}
			}
			return nil
		}, c.close
	}}
}

// resilientGetUser is the call ordersvc makes to usersvc, made here the
// same way: userservice.NewHTTPClient over a resilience.Dependency with
// the default settings and transport.NewPooledHTTPClient, shared by all workers
// as ordersvc shares it among its requests; each call carries a request ID
// and a deadline as an inbound request's context would.
func resilientGetUser(name, baseURL string, users []userservice.User, token func(context.Context) (string, error), pids func() []int) (target, func(), error) {
	dep, err := resilience.NewDependency("user", []string{baseURL}, resilience.Settings{})
	if err != nil {
		return target{}, nil, err
	}
	httpClient := transport.NewPooledHTTPClient()
	client := userservice.NewHTTPClient(dep, httpClient, transport.WithTokenSource(token))
	t := target{name: name, pids: pids, newWorker: func(w int) (doer, func()) {
		rid := fmt.Sprintf("loadbench-%d", w)
		k := w
		return func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(transport.WithRequestID(ctx, rid), inboundTimeout)
			defer cancel()
			_, err := client.GetUser(ctx, users[k%len(users)].ID)
			k++
			return err
		}, func() {}
	}}
	return t, httpClient.CloseIdleConnections, nil
}

// rawGetUser is the same GET with a plain http.Client: a Transport with as
// many idle connections per host as there are workers (so that neither
// side opens connections under load), the same headers, the body decoded
// into the same type. callTimeout, if not zero, is the client's Timeout,
// the per-call deadline the resilient client also sets (CALL_TIMEOUT).
func rawGetUser(name, baseURL string, users []userservice.User, token func(context.Context) (string, error), workers int, callTimeout time.Duration, pids func() []int) (target, func()) {
	tr := &http.Transport{Proxy: nil, MaxIdleConns: workers, MaxIdleConnsPerHost: workers}
	client := &http.Client{Transport: tr, Timeout: callTimeout}
	t := target{name: name, pids: pids, newWorker: func(w int) (doer, func()) {
		rid := fmt.Sprintf("loadbench-%d", w)
		k := w
		return func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, inboundTimeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/v1/users/"+users[k%len(users)].ID, nil)
			if err != nil {
				return err
			}
			k++
			req.Header.Set("Accept", "application/json")
			req.Header.Set(transport.RequestIDHeader, rid)
			tok, err := token(ctx)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				_, _ = io.Copy(io.Discard, resp.Body)
				return statusError{resp.StatusCode, http.StatusOK}
			}
			var u userservice.User
			return json.NewDecoder(resp.Body).Decode(&u)
		}, func() {}
	}}
	return t, tr.CloseIdleConnections
}

// benchChain measures the resilient client chain in process, around an
// endpoint that does nothing, with a caller deadline later than
// CallTimeout as ordersvc's requests have (so each attempt gets its own
// timer): the same case as transport/resilience's
// BenchmarkChain/caller-deadline-later.
func benchChain() (ChainBench, error) {
	dep, err := resilience.NewDependency("user", []string{"http://user-1.invalid"}, resilience.Settings{
		Metrics: resilience.NewMetrics(nil),
	})
	if err != nil {
		return ChainBench{}, err
	}
	bare := func(_ context.Context, request any) (any, error) { return request, nil }
	chain := dep.Endpoint(func(string) endpoint.Endpoint { return bare })
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b, c := measureOp(func() { _, _ = bare(ctx, "req") }), measureOp(func() { _, _ = chain(ctx, "req") })
	return ChainBench{NsPerOp: c.ns, AllocsPerOp: int64(c.allocs + 0.5), BytesPerOp: int64(c.bytes + 0.5), BareNsPerOp: b.ns}, nil
}

type opCost struct{ ns, allocs, bytes float64 }

// measureOp is a small testing.Benchmark: it calibrates a loop of op to
// about 300ms, runs it three times, and keeps the median run's time and
// allocations per op (the machine is shared; one run can be unlucky).
func measureOp(op func()) opCost {
	n := 1
	for {
		start := time.Now()
		for range n {
			op()
		}
		if el := time.Since(start); el > 30*time.Millisecond {
			n = int(float64(n) * float64(300*time.Millisecond) / float64(el))
			break
		}
		n *= 4
	}
	var runs []opCost
	var before, after runtime.MemStats
	for range 3 {
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		for range n {
			op()
		}
		el := time.Since(start)
		runtime.ReadMemStats(&after)
		runs = append(runs, opCost{
			ns:     float64(el.Nanoseconds()) / float64(n),
			allocs: float64(after.Mallocs-before.Mallocs) / float64(n),
			bytes:  float64(after.TotalAlloc-before.TotalAlloc) / float64(n),
		})
	}
	slices.SortFunc(runs, func(a, b opCost) int { return cmp.Compare(a.ns, b.ns) })
	return runs[1]
}
