package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/transport"
)

// DefaultInterval is the DNS re-resolution period when Options.Interval is
// zero (DISCOVERY_INTERVAL's default).
const DefaultInterval = 5 * time.Second

// Resolver looks up the IP addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure NewInstancer and Register. The zero value is sound.
type Options struct {
	// Interval is the DNS re-resolution period. Zero means DefaultInterval;
	// it must not be negative.
	Interval time.Duration
	// Logger gets one line when discovery starts, when a service's instances
	// change, and one per outage of DNS or etcd (not one per failed
	// attempt). It must be safe for concurrent use. Nil discards.
	Logger log.Logger
	// Metrics, if not nil, receives the lookups' metrics.
	Metrics *Metrics
	// Resolver resolves dns+http names. Nil means net.DefaultResolver.
	Resolver Resolver
}

func (o Options) withDefaults() Options {
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	return o
}

// NewInstancer returns the instancer of service's instances named by raw,
// in one of the forms of the package doc, and the function that stops it:
// stop releases its goroutines and connections, and is safe to call more
// than once (the instancer's own Stop does the same). A fixed list gives
// an sd.FixedInstancer itself, with no goroutine, and a stop that does
// nothing.
//
// ctx bounds the start only: the first DNS resolution, or reaching etcd
// (which must answer within a few seconds). If that fails, or raw is not a
// valid service URL, NewInstancer returns a one-line error naming raw.
// service names the instances in logs and metrics ("user", "usersvc").
func NewInstancer(ctx context.Context, service, raw string, o Options) (sd.Instancer, func(), error) {
	if o.Interval < 0 {
		return nil, nil, fmt.Errorf("discovery: %s: interval %v is negative", service, o.Interval)
	}
	o = o.withDefaults()
	metrics := o.Metrics.forService(service)
	in, stop, err := newInstancer(ctx, service, strings.TrimSpace(raw), o, metrics)
	if err != nil {
		metrics.forget()
		return nil, nil, fmt.Errorf("discovery: %s URL %q: %w", service, raw, err)
	}
	return in, stop, nil
}

func newInstancer(ctx context.Context, service, raw string, o Options, metrics serviceMetrics) (sd.Instancer, func(), error) {
	logger := log.With(o.Logger, "service", service)
	scheme, _, _ := strings.Cut(raw, "://")
	switch strings.ToLower(scheme) {
	case "http", "https":
		instances, err := transport.ParseInstances(raw)
		if err != nil {
			return nil, nil, err
		}
		metrics.known(len(instances))
		return sd.FixedInstancer(instances), func() {}, nil
	case "dns+http", "dns+https":
		target, err := parseDNS(raw)
		if err != nil {
			return nil, nil, err
		}
		in, err := newDNSInstancer(ctx, target, o.Resolver, o.Interval, logger, metrics)
		if err != nil {
			return nil, nil, err
		}
		return in, in.Stop, nil
	case "etcd":
		endpoints, name, err := parseEtcd(raw)
		if err != nil {
			return nil, nil, err
		}
		in, err := newEtcdInstancer(ctx, endpoints, name, logger, metrics)
		if err != nil {
			return nil, nil, err
		}
		return in, in.Stop, nil
	default:
		return nil, nil, errors.New("want http://host:port[,...], dns+http://name:port or etcd://host:port[,...]/service")
	}
}

// dnsTarget is a parsed dns+http(s) URL.
type dnsTarget struct {
	scheme string // of the instances: http or https
	host   string // the name to resolve
	port   uint16
}

func parseDNS(raw string) (dnsTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return dnsTarget{}, fmt.Errorf("want dns+http://name:port: %w", err)
	}
	switch {
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return dnsTarget{}, fmt.Errorf("want dns+http://name:port, with no user, path, query or fragment")
	case u.Hostname() == "":
		return dnsTarget{}, fmt.Errorf("want dns+http://name:port: no name")
	case strings.ContainsAny(u.Hostname(), ",/ "):
		return dnsTarget{}, fmt.Errorf("want dns+http://name:port: one name, not a list")
	}
	port, err := parsePort(u.Port())
	if err != nil {
		return dnsTarget{}, fmt.Errorf("want dns+http://name:port: %w", err)
	}
	return dnsTarget{scheme: strings.TrimPrefix(u.Scheme, "dns+"), host: u.Hostname(), port: port}, nil
}

// parseEtcd splits etcd://host:port[,host:port]/service into client
// endpoints and the service name.
func parseEtcd(raw string) (endpoints []string, name string, err error) {
	hosts, path, _ := strings.Cut(raw[len("etcd://"):], "/")
	path = strings.TrimSuffix(path, "/")
	if endpoints, err = parseEndpoints(hosts); err != nil {
		return nil, "", err
	}
	if path == "" {
		return nil, "", fmt.Errorf("want etcd://host:port[,host:port]/service: no service name")
	}
	if err := checkName(path); err != nil {
		return nil, "", err
	}
	return endpoints, path, nil
}

// parseEndpoints turns "host:port[,host:port]" into etcd client endpoints.
func parseEndpoints(hosts string) ([]string, error) {
	if hosts == "" {
		return nil, fmt.Errorf("want etcd://host:port[,host:port]: no host")
	}
	var endpoints []string
	for _, hp := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" {
			return nil, fmt.Errorf("etcd endpoint %q: want host:port", hp)
		}
		if _, err := parsePort(port); err != nil {
			return nil, fmt.Errorf("etcd endpoint %q: %w", hp, err)
		}
		endpoints = append(endpoints, "http://"+net.JoinHostPort(host, port))
	}
	return endpoints, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, fmt.Errorf("no port")
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q is not in 1-65535", s)
	}
	return uint16(n), nil
}

// checkName accepts a service name that is a plain etcd key segment:
// letters, digits, '-', '_' and '.', starting with a letter or digit.
func checkName(name string) error {
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			i > 0 && (r == '-' || r == '_' || r == '.')
		if !ok {
			return fmt.Errorf("service name %q: want letters, digits, '-', '_' or '.'", name)
		}
	}
	if name == "" {
		return fmt.Errorf("no service name")
	}
	return nil
}
