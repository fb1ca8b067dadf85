// Package discovery finds the instances of a service from the URL that
// names them (USER_SERVICE_URL and its siblings), as go-kit sd.Instancers
// whose instances are base URLs ("http://10.0.0.5:8081"), and registers a
// service's own instance in etcd (REGISTRY_URL, ADVERTISE_URL).
//
// # API
//
//	type Options struct {
//		Interval time.Duration // DNS re-resolution period; 0 means 5s
//		Logger   log.Logger    // nil discards
//		Metrics  *Metrics      // nil: no metrics
//		Resolver Resolver      // DNS; nil: net.DefaultResolver
//	}
//
//	func NewInstancer(ctx context.Context, service, raw string, o Options) (sd.Instancer, func(), error)
//	func Register(ctx context.Context, registryURL, service, advertiseURL string, o Options) (func(), error)
//	func NewMetrics(reg prometheus.Registerer) *Metrics
//
// # Service URLs
//
//	http://a:8081,http://b:8081          a fixed list: an sd.FixedInstancer, no goroutine
//	dns+http://usersvc:8081              every A and AAAA record of the name, as http://ip:8081
//	dns+https://usersvc:8443             the same, as https://ip:8443
//	etcd://host:2379[,host:2379]/usersvc the instances registered in etcd under usersvc
//
// Whatever the form, the instancer behaves as go-kit's own: a channel that
// registers gets the current instances at once, then every change; an
// event with an error (discovery unreachable) means "keep the instances
// you have", and the next event after it carries the instances again.
// NewInstancer fails when the first lookup does (DNS unreachable, etcd not
// answering), with a one-line error, so that a binary with a wrong setting
// exits at start.
//
// DNS: the name is resolved every Interval. An answer with no address
// (NXDOMAIN included, at start too, where it is logged) is an empty set:
// the service has no instance (yet). A failure (timeout, SERVFAIL) is an error
// event, logged once per outage and counted at every failed resolution.
//
// etcd: go-kit's sd/etcdv3 Instancer, on a client of ours (see etcd.go for
// why not go-kit's): the keys under /kitshop/services/<service>/ hold one
// instance's base URL each. Changes arrive through a watch, within a second.
// The connection is checked every second; when etcd is lost, an error event
// is sent once, and when it is back the instances are read anew, changes
// made meanwhile included. Register puts this instance's key on a lease of
// 5s kept alive by the client, so the key lapses within 5s of the process's
// death; a lease lost to a long outage is replaced when etcd is back.
//
// # Metrics
//
//	discovery_errors_total{service}   failed lookups: DNS resolutions, etcd reads and checks
//	discovery_instances{service}      instances known now (the last successful lookup)
package discovery
