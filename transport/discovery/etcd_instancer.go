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
	in, err := etcdv3.NewInstancer(c, servicePrefix(service), log.With(logger, "etcd", c.endpoints))
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
