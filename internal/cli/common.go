package cli

import (
	"fmt"
	"time"

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
		healthcheck:    fl.Bool("healthcheck", "check the service already running at -http-addr (GET /healthz) and exit 0 if it is healthy, 1 if not"),
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
