package discovery

import (
	"context"
	"sync"

	"github.com/go-kit/kit/sd/etcdv3"
	"github.com/go-kit/log"
)

// etcdInstancer is go-kit's etcdv3.Instancer on an etcdClient, with a Stop
// that also closes the client and may be called more than once (go-kit's
// panics the second time).
type etcdInstancer struct {
	*etcdv3.Instancer
	client   *etcdClient
	stopOnce sync.Once
}

// newEtcdInstancer follows the instances of service in the etcd cluster at
// endpoints; etcd must answer within requestTimeout.
func newEtcdInstancer(ctx context.Context, endpoints []string, service string, logger log.Logger,
	metrics serviceMetrics) (*etcdInstancer, error) {
	c, err := dialEtcd(ctx, endpoints, logger, metrics)
	if err != nil {
		return nil, err
	}
	// go-kit's NewInstancer takes a failed first read for an error event,
	// not an error: check first.
	if err := c.check(ctx, servicePrefix(service)); err != nil {
		c.metrics.failed()
		c.close()
		return nil, err
	}
	in, err := etcdv3.NewInstancer(c, servicePrefix(service), outageLogger{next: log.With(logger, "etcd", c.endpoints), c: c})
	if err != nil {
		c.close()
		return nil, err
	}
	return &etcdInstancer{Instancer: in, client: c}, nil
}

// Stop implements sd.Instancer: it stops go-kit's instancer and closes the
// client. It is safe to call more than once.
func (e *etcdInstancer) Stop() {
	e.stopOnce.Do(func() {
		e.Instancer.Stop()
		e.client.close()
		e.client.metrics.forget()
	})
}

// outageLogger is go-kit's Instancer's logger: it passes every line on but
// the repeats of "failed to retrieve entries" within one outage (until a
// read succeeds again), so that an outage is one line however many reads
// fail.
type outageLogger struct {
	next log.Logger
	c    *etcdClient
}

func (l outageLogger) Log(keyvals ...any) error {
	for i := 0; i+1 < len(keyvals); i += 2 {
		if keyvals[i] == "msg" && keyvals[i+1] == "failed to retrieve entries" {
			l.c.mu.Lock()
			repeat := l.c.failing
			l.c.failing = true
			l.c.mu.Unlock()
			if repeat {
				return nil
			}
		}
	}
	return l.next.Log(keyvals...)
}
