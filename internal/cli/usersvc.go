package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/authn"
	"github.com/kitshop/kitshop/internal/obs"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/pkg/userservice/userstore"
	"github.com/kitshop/kitshop/transport"
)

// RunUserService runs the user service until ctx ends, then shuts it down
// gracefully. Configuration comes from args, then getenv; logs go to
// stdout. It returns an error, one line, for bad configuration or a failed
// start.
func RunUserService(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fl := NewFlags("usersvc", getenv, stdout)
	common := commonFlags(fl, ":8081", "usersvc")
	cacheSize := fl.Int("cache-size", "USER_CACHE_SIZE", userservice.DefaultCacheSize,
		"users kept in memory for GET /v1/users/{id} (a user changes only when an admin bootstrap promotes it); 0: none")
	tokenTTL := fl.Duration("token-ttl", "TOKEN_TTL", userservice.DefaultTokenTTL, "how long an access token is good for")
	adminEmail := fl.String("admin-email", "ADMIN_EMAIL", "", "at start, make this account an admin (signed up with -admin-password if it does not exist)")
	adminPassword := fl.String("admin-password", "ADMIN_PASSWORD", "", "the admin's password, used only when the account is made")
	rotate := fl.Bool("rotate-signing-key", "make a new current token signing key (the old ones stay published until their tokens expire) and exit")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *cacheSize < 0 {
		return fmt.Errorf("-cache-size (USER_CACHE_SIZE) must be >= 0, got %d", *cacheSize)
	}
	if *tokenTTL < time.Minute || *tokenTTL > 24*time.Hour {
		return fmt.Errorf("-token-ttl (TOKEN_TTL) must be from 1m to 24h, got %s", *tokenTTL)
	}
	if (*adminEmail == "") != (*adminPassword == "") {
		return errors.New("-admin-email (ADMIN_EMAIL) and -admin-password (ADMIN_PASSWORD) go together: set both or neither")
	}
	if *common.healthcheck {
		return healthcheck(ctx, *common.httpAddr)
	}
	cursors, err := common.cursors()
	if err != nil {
		return err
	}
	logger, err := obs.NewLogger(stdout, *common.logFormat, "usersvc")
	if err != nil {
		return err
	}
	lc, err := common.lifecycle("usersvc", logger)
	if err != nil {
		return err
	}
	store, err := userstore.Open(ctx, *common.databaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	sealer, err := userservice.NewKeySealer(*common.serviceSecret)
	if err != nil {
		return err
	}
	if *rotate {
		kid, err := userservice.RotateSigningKey(ctx, store, sealer, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s; running instances sign with it within %s, and the old keys stay published for %s\n",
			kid, userservice.KeyReload, *tokenTTL+userservice.TokenLeeway)
		return nil
	}

	reg := obs.NewRegistry()
	var svc userservice.Service = userservice.NewService(userservice.NewCachedStore(store, *cacheSize),
		userservice.WithTokens(store, sealer, *tokenTTL))
	// usersvc verifies tokens against its own keys, read where it signs.
	verifier := authn.NewVerifier(auth.NewKeySet(svc.JWKS), *common.serviceSecret)
	if *adminEmail != "" {
		admin, err := userservice.BootstrapAdmin(ctx, svc, store, *adminEmail, *adminPassword)
		if err != nil {
			return err
		}
		_ = logger.Log("msg", "admin ready", "user_id", admin.ID, "email", admin.Email)
	}
	svc = userservice.LoggingMiddleware(log.With(logger, "component", "service"))(svc)
	svc = userservice.InstrumentingMiddleware(userservice.NewMethodDuration(reg))(svc)

	handler := userservice.NewHTTPHandler(userservice.NewEndpointSet(svc, verifier.Authenticate()), transport.Ops{
		Logger:   log.With(logger, "component", "http"),
		Metrics:  transport.NewHTTPMetrics(reg),
		Ready:    pingReady(store.Ping),
		Gatherer: reg,
		Timeout:  *common.requestTimeout,
		Cursors:  cursors,
	})
	return serveWith(ctx, getenv, *common.httpAddr, handler, *common.requestTimeout, *common.maxConnections, lc, logger)
}

// pingReady makes a readiness check out of a database ping.
func pingReady(ping func(context.Context) error) transport.ReadyFunc {
	return func(ctx context.Context) (map[string]any, error) {
		if err := ping(ctx); err != nil {
			return nil, kitshop.NewError(kitshop.CodeInternal, "database unavailable").WithCause(err)
		}
		return nil, nil
	}
}
