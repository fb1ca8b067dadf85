package cli

import (
	"time"

	"github.com/kitshop/kitshop/transport"
)

// serviceFlags are the settings every service binary takes.
type serviceFlags struct {
	httpAddr       *string
	databaseURL    *string
	logFormat      *string
	requestTimeout *time.Duration
	healthcheck    *bool
	maxConnections *int
}

func commonFlags(fl *Flags, addr, dbName string) serviceFlags {
	return serviceFlags{
		httpAddr:       fl.String("http-addr", "HTTP_ADDR", addr, "address to serve HTTP on"),
		databaseURL:    fl.String("database-url", "DATABASE_URL", "sqlite:./data/"+dbName+".db", "database: sqlite:PATH or postgres://..."),
		logFormat:      fl.String("log-format", "LOG_FORMAT", "logfmt", "log format: logfmt or json"),
		requestTimeout: fl.Duration("request-timeout", "REQUEST_TIMEOUT", 5*time.Second, "longest time one inbound request may take"),
		maxConnections: fl.Int("max-connections", "MAX_CONNECTIONS", transport.DefaultMaxConnections, "most connections open at once; beyond it new ones wait in the kernel's backlog"),
		healthcheck:    fl.Bool("healthcheck", "check the service already running at -http-addr (GET /healthz) and exit 0 if it is healthy, 1 if not"),
	}
}
