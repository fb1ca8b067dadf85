package discovery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/kit/sd/etcdv3"
	"github.com/go-kit/log"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

const (
	// keyPrefix is where the instances of every service are registered:
	// one key per instance under keyPrefix + service + "/", whose value is
	// the instance's base URL.
	keyPrefix = "/kitshop/services/"
	// requestTimeout bounds every etcd request, so that an unreachable etcd
	// is an error within seconds, never a hang (the client's requests wait
	// for a connection for as long as their context lets them).
	requestTimeout = 2 * time.Second
	// checkEvery is how often a watching client checks that etcd answers:
	// a watch alone says nothing while etcd is gone, it quietly waits.
	checkEvery = time.Second
)

// etcdClient is a go-kit etcdv3.Client.
var _ etcdv3.Client = (*etcdClient)(nil)

// servicePrefix is the key prefix of service's instances.
func servicePrefix(service string) string { return keyPrefix + service + "/" }

// etcdClient implements go-kit's etcdv3.Client, for go-kit's Instancer, on
// a clientv3 client of ours. go-kit's own NewClient does not fit a service
// that must stop cleanly and notice an outage: it never closes its clientv3
// client (the gRPC connection and its goroutines outlive every Stop and
// Deregister), its requests have no deadline (an unreachable etcd hangs
// Register and Deregister forever), its watch is silent while etcd is
// gone (so no error event ever reaches the receivers) and can block
// forever sending to an instancer that stopped, its Registrar swallows the
// registration error, it never registers again once a lease is lost, and
// etcd's client logs JSON to stderr beside the service's own logs.
type etcdClient struct {
	cli       *clientv3.Client
	ctx       context.Context // the client's life; cancelled by close
	cancel    context.CancelFunc
	endpoints string // for messages
	logger    log.Logger
	metrics   serviceMetrics
	closeOnce sync.Once

	mu   sync.Mutex
	last []string      // the last entries read, sorted; answered again once closing
	reg  *registration // nil until Register
	// failing is whether the last read failed: go-kit's Instancer logs
	// every failed read, outageLogger only the first of an outage.
	failing bool
}

// dialEtcd returns a client of the etcd cluster at endpoints. The client
// connects in the background; whoever needs etcd reachable at start checks
// it with a request.
func dialEtcd(ctx context.Context, endpoints []string, logger log.Logger, metrics serviceMetrics) (*etcdClient, error) {
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: requestTimeout,
		// Keepalive pings notice a dead connection with no traffic on it
		// (etcd refuses pings more often than every 5s).
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		// Reconnect within 2s of etcd's return, however long it was gone
		// (gRPC's default backoff grows to two minutes).
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: requestTimeout,
		})},
		Context: life,
		Logger:  zap.NewNop(), // what matters is logged by us, on the service's logger
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("etcd client for %s: %w", strings.Join(endpoints, ","), err)
	}
	return &etcdClient{
		cli:       cli,
		ctx:       life,
		cancel:    cancel,
		endpoints: strings.Join(endpoints, ","),
		logger:    logger,
		metrics:   metrics,
	}, nil
}

// close ends the registration, if any (its key is left to lapse: see
// Deregister for removing it), and releases the connection. A request
// under way returns, and GetEntries answers the last entries it read.
func (c *etcdClient) close() {
	c.closeOnce.Do(func() {
		c.cancel()
		c.mu.Lock()
		r := c.reg
		c.mu.Unlock()
		if r != nil {
			<-r.done
		}
		_ = c.cli.Close()
	})
}

// check reads prefix's key count, which etcd answers only with a quorum.
func (c *etcdClient) check(ctx context.Context, prefix string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if _, err := c.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("etcd at %s: %w", c.endpoints, err)
	}
	return nil
}

// GetEntries implements etcdv3.Client: the values of the keys under
// prefix, read within requestTimeout.
func (c *etcdClient) GetEntries(prefix string) ([]string, error) {
	ctx, cancel := context.WithTimeout(c.ctx, requestTimeout)
	defer cancel()
	resp, err := c.cli.Get(ctx, prefix, clientv3.WithPrefix())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		// Closing: a read cut short is no discovery failure to tell the
		// receivers about, and go-kit's Instancer drops an unchanged set.
		return slices.Clone(c.last), nil
	}
	if err != nil {
		c.metrics.failed()
		return nil, fmt.Errorf("read %s from etcd at %s: %w", prefix, c.endpoints, err)
	}
	c.failing = false
	entries := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		entries[i] = string(kv.Value)
	}
	slices.Sort(entries)
	if c.last != nil && !slices.Equal(entries, c.last) {
		_ = c.logger.Log("msg", "instances changed", "etcd", c.endpoints, "instances", len(entries))
	}
	c.last = entries
	c.metrics.known(len(entries))
	return slices.Clone(entries), nil
}

// WatchPrefix implements etcdv3.Client: it signals ch once the watch of
// prefix is in place, at every change under prefix, when etcd stops
// answering (so that the instancer's read fails and tells its receivers),
// and when it answers again (so that the instancer reads what changed
// meanwhile). It returns when the client is closed, and never blocks on ch
// after that.
func (c *etcdClient) WatchPrefix(prefix string, ch chan struct{}) {
	signal := func() bool {
		select {
		case ch <- struct{}{}:
			return true
		case <-c.ctx.Done():
			return false
		}
	}
	// The watch runs apart: creating one waits for etcd to answer, and
	// checks must go on meanwhile.
	changed := make(chan struct{}, 1)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		c.watch(prefix, changed)
	}()
	defer func() { <-watching }()
	checks := time.NewTicker(checkEvery)
	defer checks.Stop()
	healthy := true
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-changed:
			if !signal() {
				return
			}
		case <-checks.C:
			err := c.check(c.ctx, prefix)
			if c.ctx.Err() != nil {
				return
			}
			if err != nil {
				c.metrics.failed()
			}
			if (err == nil) == healthy {
				continue
			}
			healthy = err == nil
			if healthy {
				_ = c.logger.Log("msg", "etcd answers again, reading the instances anew", "etcd", c.endpoints)
			}
			if !signal() {
				return
			}
		}
	}
}

// watch watches prefix until the client is closed, and notes in changed
// (without waiting: one note stands for any number) each new watch and
// each change.
func (c *etcdClient) watch(prefix string, changed chan<- struct{}) {
	note := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	for c.ctx.Err() == nil {
		// Without a leader, etcd ends the watch rather than let it wait
		// silently.
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(c.ctx))
		for wr := range c.cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify()) {
			if wr.Canceled {
				break
			}
			if wr.Created || len(wr.Events) > 0 {
				note()
			}
		}
		cancel()
		select { // etcd ended the watch (no leader, compaction): watch anew
		case <-c.ctx.Done():
		case <-time.After(checkEvery):
		}
	}
}
