package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/sd/etcdv3"
	"github.com/go-kit/log"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const (
	// leaseTTL is the lease of a registration: the key lapses within
	// leaseTTL of the process's death. The client renews it every third of
	// that.
	leaseTTL = 5 * time.Second
	// reregisterEvery paces the attempts to register again once a lease
	// was lost (etcd unreachable for longer than leaseTTL).
	reregisterEvery = time.Second
)

// Register registers advertiseURL as an instance of service in the etcd
// cluster of registryURL (etcd://host:port[,host:port]), where NewInstancer
// on etcd://host:port/<service> finds it, and returns the function that
// deregisters it: that removes the key at once and releases the client;
// it is bounded by a few seconds, logs a failure (the key then lapses with
// its lease), and is safe to call more than once.
//
// The key lives on a lease of 5s that the client keeps alive, so that it
// lapses within 5s of the process's death; should the lease be lost all
// the same (etcd unreachable for longer than that), Register's client
// registers again, on a new lease, as soon as etcd lets it. advertiseURL
// must be an absolute http(s) base URL others can call (no path, query or
// unspecified address such as 0.0.0.0). ctx bounds the start only: etcd
// must accept the registration within a few seconds, or Register returns
// a one-line error. Of the Options, only Logger applies.
func Register(ctx context.Context, registryURL, service, advertiseURL string, o Options) (func(), error) {
	o = o.withDefaults()
	endpoints, err := parseRegistryURL(registryURL)
	if err != nil {
		return nil, fmt.Errorf("discovery: registry URL %q: %w", registryURL, err)
	}
	if err := checkName(service); err != nil {
		return nil, fmt.Errorf("discovery: register: %w", err)
	}
	base, hostport, err := parseAdvertiseURL(advertiseURL)
	if err != nil {
		return nil, fmt.Errorf("discovery: advertise URL %q: %w", advertiseURL, err)
	}
	logger := log.With(o.Logger, "service", service)
	c, err := dialEtcd(ctx, endpoints, logger, serviceMetrics{})
	if err != nil {
		return nil, fmt.Errorf("discovery: register %s: %w", service, err)
	}
	s := etcdv3.Service{Key: servicePrefix(service) + hostport, Value: base}
	if err := c.register(ctx, s); err != nil {
		c.close()
		return nil, fmt.Errorf("discovery: register %s at %s in etcd at %s: %w", service, base, c.endpoints, err)
	}
	_ = logger.Log("msg", "registered", "etcd", c.endpoints, "key", s.Key, "value", s.Value)
	var once sync.Once
	return func() {
		once.Do(func() {
			if err := c.Deregister(s); err != nil {
				_ = logger.Log("msg", "deregistration failed; the key lapses with its lease", "key", s.Key, "err", err)
			} else {
				_ = logger.Log("msg", "deregistered", "key", s.Key)
			}
			c.close()
		})
	}, nil
}

func parseRegistryURL(raw string) ([]string, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(raw), "etcd://")
	if !ok {
		return nil, errors.New("want etcd://host:port[,host:port]")
	}
	hosts, path, _ := strings.Cut(rest, "/")
	if path != "" {
		return nil, errors.New("want etcd://host:port[,host:port], with no path: the service registers under its own name")
	}
	return parseEndpoints(hosts)
}

// parseAdvertiseURL checks an instance's own base URL and returns it
// without a trailing slash, and its host:port, which names its key.
func parseAdvertiseURL(raw string) (base, hostport string, err error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return "", "", fmt.Errorf("want an absolute http(s) base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", errors.New("want an absolute http:// or https:// base URL")
	case u.Hostname() == "":
		return "", "", errors.New("no host")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return "", "", errors.New("a base URL has no user, path, query or fragment")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && ip.IsUnspecified() {
		return "", "", fmt.Errorf("%s is no address others can call", u.Hostname())
	}
	if p := u.Port(); p != "" {
		if _, err := parsePort(p); err != nil {
			return "", "", err
		}
	}
	return u.Scheme + "://" + u.Host, u.Host, nil
}

// registration is the one key an etcdClient keeps registered.
type registration struct {
	service etcdv3.Service
	lease   atomic.Int64       // the current lease
	cancel  context.CancelFunc // ends keepRegistered
	done    chan struct{}      // closed when keepRegistered has returned
}

// Register implements etcdv3.Client: it puts s.Key = s.Value on a lease of
// 5s, kept alive, and put again on a new lease should that one be lost,
// until Deregister or the client's close. s.TTL is not read: go-kit keeps
// its durations to itself (and its own client does not use the heartbeat:
// etcd's client renews a lease every third of its TTL).
func (c *etcdClient) Register(s etcdv3.Service) error { return c.register(c.ctx, s) }

// register is Register, ctx bounding the first registration.
func (c *etcdClient) register(ctx context.Context, s etcdv3.Service) error {
	switch {
	case s.Key == "":
		return etcdv3.ErrNoKey
	case s.Value == "":
		return etcdv3.ErrNoValue
	}
	c.mu.Lock()
	taken := c.reg != nil
	c.mu.Unlock()
	if taken {
		return errors.New("this client has registered a key already")
	}
	lease, err := c.grantAndPut(ctx, s)
	if err != nil {
		return err
	}
	kctx, cancel := context.WithCancel(c.ctx)
	r := &registration{service: s, cancel: cancel, done: make(chan struct{})}
	r.lease.Store(int64(lease))
	c.mu.Lock()
	c.reg = r
	c.mu.Unlock()
	go c.keepRegistered(kctx, r)
	return nil
}

// grantAndPut puts s's key on a new lease.
func (c *etcdClient) grantAndPut(ctx context.Context, s etcdv3.Service) (clientv3.LeaseID, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	grant, err := c.cli.Grant(ctx, int64(leaseTTL/time.Second))
	if err != nil {
		return 0, fmt.Errorf("grant a lease: %w", err)
	}
	if _, err := c.cli.Put(ctx, s.Key, s.Value, clientv3.WithLease(grant.ID)); err != nil {
		return 0, fmt.Errorf("put %s: %w", s.Key, err) // the lease lapses by itself
	}
	return grant.ID, nil
}

// keepRegistered keeps r's lease alive until ctx ends; a lease that is lost
// (not renewed within its TTL, or gone from etcd) is replaced.
func (c *etcdClient) keepRegistered(ctx context.Context, r *registration) {
	defer close(r.done)
	for {
		lease := clientv3.LeaseID(r.lease.Load())
		renewals, err := c.cli.KeepAlive(ctx, lease)
		if err == nil {
			for range renewals { // closed once the lease is lost, or ctx ends
			}
		}
		if ctx.Err() != nil {
			return
		}
		_ = c.logger.Log("msg", "registration lost, registering again once etcd answers", "key", r.service.Key, "err", err)
		retry := time.NewTicker(reregisterEvery)
		for {
			select {
			case <-ctx.Done():
				retry.Stop()
				return
			case <-retry.C:
			}
			if lease, err = c.grantAndPut(ctx, r.service); err == nil {
				break
			}
		}
		retry.Stop()
		r.lease.Store(int64(lease))
		_ = c.logger.Log("msg", "registered again", "key", r.service.Key)
	}
}

// Deregister implements etcdv3.Client: it stops renewing s's lease and
// revokes it, which deletes s's key at once (if the key is still on that
// lease: a key another registration took over stays). The client stays
// open.
func (c *etcdClient) Deregister(s etcdv3.Service) error {
	c.mu.Lock()
	r := c.reg
	if r != nil && r.service.Key == s.Key {
		c.reg = nil
	}
	c.mu.Unlock()
	if r == nil || r.service.Key != s.Key {
		return fmt.Errorf("%s is not registered by this client", s.Key)
	}
	r.cancel()
	<-r.done
	ctx, cancel := context.WithTimeout(c.ctx, requestTimeout)
	defer cancel()
	_, err := c.cli.Revoke(ctx, clientv3.LeaseID(r.lease.Load()))
	if err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) { // a lapsed lease took its key along
		return fmt.Errorf("revoke the lease of %s: %w", s.Key, err)
	}
	return nil
}

// LeaseID implements etcdv3.Client: the lease of the registered key, 0
// without one.
func (c *etcdClient) LeaseID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reg == nil {
		return 0
	}
	return c.reg.lease.Load()
}
