package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
)

// lookupTimeout bounds one DNS resolution.
const lookupTimeout = 5 * time.Second

// dnsInstancer is the sd.Instancer of a dns+http(s) URL: go-kit's sd/dnssrv
// resolves SRV records only, and compose and Kubernetes headless Services
// publish A/AAAA records.
type dnsInstancer struct {
	*hub
	target   dnsTarget
	resolver Resolver
	logger   log.Logger
	metrics  serviceMetrics

	cancel   context.CancelFunc // ends the loop
	done     chan struct{}      // closed when the loop has returned
	stopOnce sync.Once
}

// newDNSInstancer resolves target once, failing if that does, and then
// every interval until Stop.
func newDNSInstancer(ctx context.Context, target dnsTarget, resolver Resolver, interval time.Duration,
	logger log.Logger, metrics serviceMetrics) (*dnsInstancer, error) {
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d := &dnsInstancer{
		hub:      newHub(life.Done()),
		target:   target,
		resolver: resolver,
		logger:   logger,
		metrics:  metrics,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	instances, err := d.resolve(ctx, true)
	if err != nil {
		cancel()
		metrics.failed()
		return nil, err
	}
	d.hub.update(sd.Event{Instances: instances})
	metrics.known(len(instances))
	_ = logger.Log("msg", "discovery started", "dns", target.host, "instances", len(instances))
	go d.loop(life, interval, instances)
	return d, nil
}

// Stop implements sd.Instancer: it ends the resolutions and waits until
// they have. It is safe to call more than once.
func (d *dnsInstancer) Stop() {
	d.stopOnce.Do(func() {
		d.cancel()
		<-d.done
		d.metrics.forget()
	})
}

// loop resolves the name every interval; last is the start's answer.
func (d *dnsInstancer) loop(ctx context.Context, interval time.Duration, last []string) {
	defer close(d.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		instances, err := d.resolve(ctx, false)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.metrics.failed()
			if !failing {
				_ = d.logger.Log("msg", "DNS resolution failed, keeping the last known instances",
					"dns", d.target.host, "err", err)
			}
			failing = true
			d.hub.update(sd.Event{Err: err})
			continue
		case failing:
			_ = d.logger.Log("msg", "DNS resolution works again", "dns", d.target.host, "instances", len(instances))
		case !slices.Equal(instances, last):
			_ = d.logger.Log("msg", "instances changed", "dns", d.target.host, "instances", len(instances))
		}
		failing = false
		last = instances
		d.hub.update(sd.Event{Instances: instances})
		d.metrics.known(len(instances))
	}
}

// resolve returns the instance base URLs of every address of the name,
// sorted, without duplicates. A name that does not exist has no
// instances, which is not an error, at start too: a compose service scaled
// to zero, a Kubernetes headless Service with no ready pod yet (its name
// exists only once a pod is ready), so that callers start before the
// service they call, and come up answering 503 rather than crash-looping.
// At start it is logged, in case it is a typo.
func (d *dnsInstancer) resolve(ctx context.Context, atStart bool) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := d.resolver.LookupNetIP(ctx, "ip", d.target.host)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		if atStart {
			_ = d.logger.Log("msg", "name does not resolve: no instances until it does", "dns", d.target.host)
		}
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", d.target.host, err)
	}
	instances := make([]string, 0, len(addrs))
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a.Unmap().WithZone(""), d.target.port)
		instances = append(instances, d.target.scheme+"://"+ap.String())
	}
	slices.Sort(instances)
	return slices.Compact(instances), nil
}
