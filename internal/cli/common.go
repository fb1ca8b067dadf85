package cli

import (
	"fmt"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/servicesecret"
	"github.com/kitshop/kitshop/transport"
)

// MinServiceSecretBytes is the shortest SERVICE_SECRET a service accepts.
const MinServiceSecretBytes = servicesecret.MinBytes

// serviceFlags are the settings every service binary takes.
type serviceFlags struct {
	httpAddr       *string
	databaseURL    *string
	logFormat      *string
	requestTimeout *time.Duration
	healthcheck    *bool
	serviceSecret  *string
	maxConnections *int
	drainDelay     *time.Duration
	registryURL    *string
	advertiseURL   *string
}

func commonFlags(fl *Flags, addr, dbName string) serviceFlags {
	return serviceFlags{
		httpAddr:       fl.String("http-addr", "HTTP_ADDR", addr, "address to serve HTTP on"),
		databaseURL:    fl.String("database-url", "DATABASE_URL", "sqlite:./data/"+dbName+".db", "database: sqlite:PATH or postgres://..."),
		logFormat:      fl.String("log-format", "LOG_FORMAT", "logfmt", "log format: logfmt or json"),
		requestTimeout: fl.Duration("request-timeout", "REQUEST_TIMEOUT", 5*time.Second, "longest time one inbound request may take"),
		serviceSecret: fl.String("service-secret", "SERVICE_SECRET", "", "the secret the shop's services share (at least 32 bytes; required): "+
			"signs list cursors; make one with: openssl rand -hex 32"),
		maxConnections: fl.Int("max-connections", "MAX_CONNECTIONS", transport.DefaultMaxConnections, "most connections open at once; beyond it new ones wait in the kernel's backlog"),
		drainDelay: fl.Delay("drain-delay", "DRAIN_DELAY", 0,
			"on SIGTERM, how long to keep serving with /readyz answering 503 before stopping"),
		registryURL: fl.String("registry-url", "REGISTRY_URL", "",
			"register this instance in etcd://host:2379[,host:2379] while it runs (needs -advertise-url)"),
		advertiseURL: fl.String("advertise-url", "ADVERTISE_URL", "",
			"this instance's own base URL, as others reach it (e.g. http://10.0.0.5:8081), for -registry-url"),
		healthcheck: fl.Bool("healthcheck", "check the service already running at -http-addr (GET /healthz) and exit 0 if it is healthy, 1 if not"),
	}
}

// cursors checks the service secret and derives the cursor key from it.
// Its errors never quote the secret.
func (c serviceFlags) cursors() (*transport.Cursors, error) {
	switch n := len(*c.serviceSecret); {
	case n == 0:
		return nil, fmt.Errorf("-service-secret (SERVICE_SECRET) is required: at least %d bytes, e.g. openssl rand -hex 32", MinServiceSecretBytes)
	case n < MinServiceSecretBytes:
		return nil, fmt.Errorf("-service-secret (SERVICE_SECRET) is too short: %d bytes, want at least %d", n, MinServiceSecretBytes)
	}
	return transport.NewCursors(*c.serviceSecret), nil
}

// lifecycle is how the service announces itself and drains (see
// serveWith): it registers as service in REGISTRY_URL, when set.
func (c serviceFlags) lifecycle(service string, logger log.Logger) (lifecycle, error) {
	if (*c.registryURL == "") != (*c.advertiseURL == "") {
		return lifecycle{}, fmt.Errorf("-registry-url (REGISTRY_URL) and -advertise-url (ADVERTISE_URL) go together: set both or neither")
	}
	lc := lifecycle{drainDelay: *c.drainDelay}
	if *c.registryURL != "" {
		lc.register = registration(service, *c.registryURL, *c.advertiseURL, logger)
	}
	return lc, nil
}
