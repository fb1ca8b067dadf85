package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kitshop/kitshop/transport/discovery"
)

// discoveryIntervalFlag is DISCOVERY_INTERVAL, for the binaries that find
// other services' instances.
func discoveryIntervalFlag(fl *Flags) *time.Duration {
	return fl.Duration("discovery-interval", "DISCOVERY_INTERVAL", discovery.DefaultInterval,
		"how often dns+http:// service URLs are resolved again")
}

// instancers opens the instancers of a binary's service URLs (a fixed
// list, dns+http://, etcd://: package discovery) and stops them all when
// the binary is done with them.
type instancers struct {
	opts  discovery.Options
	stops []func()
}

// newInstancers returns an empty set whose instancers re-resolve DNS every
// interval, log to logger and count into reg (nil: no metrics).
func newInstancers(interval time.Duration, logger log.Logger, reg prometheus.Registerer) *instancers {
	opts := discovery.Options{Interval: interval, Logger: log.With(logger, "component", "discovery")}
	if reg != nil {
		opts.Metrics = discovery.NewMetrics(reg)
	}
	return &instancers{opts: opts}
}

// open returns the instancer of the service URL raw, given as -flag (env);
// a bad URL or an unreachable registry is a one-line error naming both.
func (is *instancers) open(ctx context.Context, service, flag, env, raw string) (sd.Instancer, error) {
	in, stop, err := discovery.NewInstancer(ctx, service, raw, is.opts)
	if err != nil {
		return nil, fmt.Errorf("-%s (%s): %w", flag, env, err)
	}
	is.stops = append(is.stops, stop)
	return in, nil
}

// stop stops every instancer opened; call it after whatever follows them
// has deregistered (resilience.Dependency.Close).
func (is *instancers) stop() {
	for _, stop := range is.stops {
		stop()
	}
}

// registration is the lifecycle's register hook for a service that
// announces itself in the registry at registryURL as advertiseURL.
func registration(service, registryURL, advertiseURL string, logger log.Logger) func(context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		deregister, err := discovery.Register(ctx, registryURL, service, advertiseURL,
			discovery.Options{Logger: log.With(logger, "component", "registry")})
		if err != nil {
			return nil, fmt.Errorf("-registry-url (REGISTRY_URL): %w", err)
		}
		return deregister, nil
	}
}
