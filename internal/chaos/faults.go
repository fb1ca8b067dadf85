package chaos

import (
	"context"
	"fmt"
	"time"
)

// fault is what an experiment does to the stack. The runner calls prime
// (if any) just before the fault moment, inject at it, and heal when the
// fault phase is over; the heal moment is when heal returns, i.e. when the
// dependency is back (a restarted service answers /healthz).
type fault struct {
	// prime prepares the fault without being one (restart-order slows the
	// product calls so that orders are mid-saga when ordersvc dies).
	prime func(ctx context.Context) error
	// inject causes the fault; its result, if not empty, goes into the
	// event log.
	inject func(ctx context.Context) (string, error)
	heal   func(ctx context.Context) error
	// length, if set, replaces the planned fault phase length.
	length time.Duration
}

// killFault kills svc (SIGKILL, docker kill) and, to heal, starts it again
// on the same port and database.
func killFault(st *stack, svc *service) fault {
	return fault{
		inject: func(context.Context) (string, error) { return svc.ctl.Kill() },
		heal:   func(ctx context.Context) error { return st.restart(ctx, svc) },
	}
}

// hangFault freezes svc (SIGSTOP, docker pause): it keeps its sockets and
// accepts connections (the kernel does), but answers nothing until thawed.
func hangFault(svc *service) fault {
	return fault{
		inject: func(context.Context) (string, error) { return svc.ctl.Freeze() },
		heal:   func(context.Context) error { return svc.ctl.Thaw() },
	}
}

// toxicFault adds a toxic to a dependency's proxy, and removes it to heal.
func toxicFault(st *stack, proxy string, t Toxic) fault {
	return fault{
		inject: func(context.Context) (string, error) {
			return fmt.Sprintf("toxic %s %v on %s (%s)", t.Type, t.Attributes, proxy, t.Stream), st.proxies.addToxic(proxy, t)
		},
		heal: func(ctx context.Context) error { return st.proxies.removeToxic(ctx, proxy, t.Name) },
	}
}

// primeLatency is restart-order's slowdown of product calls, well below
// CALL_TIMEOUT, so that at 40 requests/s several orders are between their
// reservation and its confirmation when ordersvc dies; primeFor is how
// long it runs before the kill.
const (
	primeLatency = 80 * time.Millisecond
	primeFor     = 500 * time.Millisecond
	// restartDowntime is how long ordersvc stays dead before its restart.
	restartDowntime = 500 * time.Millisecond
)

// restartOrderFault kills ordersvc mid-load, with orders in flight, and
// restarts it (same port, same database) after restartDowntime.
func restartOrderFault(st *stack, inflight func() int64) fault {
	slow := Toxic{Name: "prime_latency", Type: "latency", Stream: "downstream", Toxicity: 1,
		Attributes: map[string]any{"latency": primeLatency.Milliseconds()}}
	return fault{
		prime: func(ctx context.Context) error {
			if err := st.proxies.addToxic("product", slow); err != nil {
				return err
			}
			return sleepCtx(ctx, primeFor)
		},
		inject: func(ctx context.Context) (string, error) {
			n := inflight()
			detail, err := st.order.ctl.Kill()
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s with %d requests in flight", detail, n),
				st.proxies.removeToxic(ctx, "product", slow.Name)
		},
		heal:   func(ctx context.Context) error { return st.restart(ctx, st.order) },
		length: restartDowntime,
	}
}

// sleepCtx sleeps for d or until ctx ends, whose error it returns.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
