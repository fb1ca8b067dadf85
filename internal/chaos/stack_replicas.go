package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kitshop/kitshop/internal/procs"
)

// replicaDrainDelay is the DRAIN_DELAY of the services of a replica stack:
// long enough for a caller that watches the registry to stop sending to an
// instance before it stops accepting.
const replicaDrainDelay = "1s"

// startReplicas runs cfg.Replicas instances of usersvc, productsvc and
// ordersvc as child processes, and a gateway in front of the ordersvc
// instances, which the load goes through. Each usersvc and productsvc
// instance sits behind a proxy of its own (user-1, product-2, ...), so that
// one instance can be slowed or reset; ordersvc and the gateway call them
// through those proxies. All instances of a service share its database.
//
// Discovery: with cfg.Registry the instances register themselves in an etcd
// server the stack starts (ADVERTISE_URL is their proxy), ordersvc finds
// them by etcd://, and one spare instance of usersvc and of productsvc is
// laid out, not started (stack.spare), for scale-out; else every caller
// gets the fixed list of proxies.
func (s *stack) startReplicas(ctx context.Context, cfg stackConfig) error {
	var group procs.Group
	procCtx := context.WithoutCancel(ctx)
	databases, where, dropDatabases, err := processDatabases(ctx, cfg.Postgres)
	if err != nil {
		return err
	}
	n := cfg.Replicas
	s.where = fmt.Sprintf("child processes, %d instances of each service behind a gateway, %s", n, where)
	var stopEtcd func() error
	s.stop = func() error {
		err := group.StopAll(stopGrace)
		group.KillAll()
		if stopEtcd != nil {
			err = errors.Join(err, stopEtcd())
		}
		return errors.Join(err, dropDatabases())
	}
	registry := ""
	if cfg.Registry {
		if registry, stopEtcd, err = startEtcd(ctx, s.log); err != nil {
			return err
		}
		s.where += ", instances found in etcd at " + registry
	}

	type laidOut struct {
		name, service, addr, proxy string
		files                      func() ([]*os.File, error)
	}
	layout := func(service, dep string, count int) ([]laidOut, error) {
		var out []laidOut
		for i := 1; i <= count; i++ {
			sock, err := procs.NewSocket("127.0.0.1:0")
			if err != nil {
				return nil, fmt.Errorf("%s-%d cannot %w", service, i, err)
			}
			s.sockets = append(s.sockets, sock)
			l := laidOut{name: fmt.Sprintf("%s-%d", service, i), service: service, addr: sock.Addr(), files: sock.Files}
			if dep != "" {
				if l.proxy, err = s.proxies.add(fmt.Sprintf("%s-%d", dep, i), sock.Addr()); err != nil {
					return nil, err
				}
			}
			out = append(out, l)
		}
		return out, nil
	}
	spares := 0
	if cfg.Registry {
		spares = 1
	}
	users, err := layout("usersvc", "user", n+spares)
	if err != nil {
		return err
	}
	products, err := layout("productsvc", "product", n+spares)
	if err != nil {
		return err
	}
	orders, err := layout("ordersvc", "", n)
	if err != nil {
		return err
	}
	gateway, err := layout("gateway", "", 1)
	if err != nil {
		return err
	}
	proxyList := func(ls []laidOut) string {
		var urls []string
		for _, l := range ls[:n] {
			urls = append(urls, "http://"+l.proxy)
		}
		return strings.Join(urls, ",")
	}
	userURL, productURL := proxyList(users), proxyList(products)
	if cfg.Registry {
		host := strings.TrimPrefix(registry, "http://")
		userURL, productURL = "etcd://"+host+"/usersvc", "etcd://"+host+"/productsvc"
	}
	var orderURLs []string
	for _, l := range orders {
		orderURLs = append(orderURLs, "http://"+l.addr)
	}

	// newService lays out one instance as a process, not yet started.
	newService := func(l laidOut, env ...string) *service {
		args := []string{l.service, "-http-addr", l.addr}
		if db, ok := databases[l.service]; ok {
			args = append(args, "-database-url", db)
		}
		env = append(append([]string{"SERVICE_SECRET=" + s.secret, "ADMIN_EMAIL=" + s.adminEmail,
			"ADMIN_PASSWORD=" + s.adminPassword, "TOKEN_TTL=" + runnerTokenTTL, "DRAIN_DELAY=" + replicaDrainDelay},
			s.env...), env...)
		if cfg.Registry && l.proxy != "" {
			env = append(env, "REGISTRY_URL="+strings.Replace(registry, "http://", "etcd://", 1), "ADVERTISE_URL=http://"+l.proxy)
		}
		spec := procs.Spec{Name: l.name, Path: cfg.Executable, Args: args, Env: env, Output: s.log, Files: l.files}
		return &service{name: l.name, url: "http://" + l.addr, ctl: &lazyProcess{group: &group, spec: spec, ctx: procCtx, url: "http://" + l.addr}}
	}
	startAll := func(svcs []*service) error {
		for _, svc := range svcs {
			if err := svc.ctl.Start(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	for i, l := range users {
		svc := newService(l)
		if i < n {
			s.users = append(s.users, svc)
		} else {
			s.spare = append(s.spare, svc)
		}
	}
	for i, l := range products {
		// productsvc verifies tokens against usersvc's keys.
		svc := newService(l, "USER_SERVICE_URL="+userURL)
		if i < n {
			s.products = append(s.products, svc)
		} else {
			s.spare = append(s.spare, svc)
		}
	}
	for _, l := range orders {
		s.orders = append(s.orders, newService(l, "USER_SERVICE_URL="+userURL, "PRODUCT_SERVICE_URL="+productURL,
			"DISCOVERY_INTERVAL=1s"))
	}
	s.gateway = newService(gateway[0], "USER_SERVICE_URL="+proxyList(users), "PRODUCT_SERVICE_URL="+proxyList(products),
		"ORDER_SERVICE_URL="+strings.Join(orderURLs, ","))
	for _, svcs := range [][]*service{s.users, s.products, s.orders, {s.gateway}} {
		if err := startAll(svcs); err != nil {
			return err
		}
	}
	s.user, s.product, s.order = s.users[0], s.products[0], s.orders[0]
	return nil
}

// lazyProcess is the control of a process that starts on its first Start
// (a spare instance, or any instance of a replica stack), and is restarted
// by later ones.
type lazyProcess struct {
	group *procs.Group
	spec  procs.Spec
	ctx   context.Context
	url   string
	p     *procs.Process
}

func (c *lazyProcess) Kill() (string, error) {
	if c.p == nil {
		return "", fmt.Errorf("%s: not started", c.spec.Name)
	}
	return processControl{p: c.p, url: c.url, ctx: c.ctx}.Kill()
}

func (c *lazyProcess) Freeze() (string, error) {
	if c.p == nil {
		return "", fmt.Errorf("%s: not started", c.spec.Name)
	}
	return processControl{p: c.p}.Freeze()
}

func (c *lazyProcess) Thaw() error {
	if c.p == nil {
		return nil
	}
	return c.p.Continue()
}

func (c *lazyProcess) Start(ctx context.Context) error {
	if c.p == nil {
		p, err := c.group.Start(c.ctx, c.spec)
		if err != nil {
			return err
		}
		c.p = p
		return p.WaitReady(ctx, c.url)
	}
	return processControl{p: c.p, url: c.url, ctx: c.ctx}.Start(ctx)
}

// Terminate stops the instance as an orchestrator does (SIGTERM: it
// deregisters, drains and exits), waiting for it to exit.
func (c *lazyProcess) Terminate() (string, error) {
	if c.p == nil {
		return "", fmt.Errorf("%s: not started", c.spec.Name)
	}
	pid := c.p.PID()
	return fmt.Sprintf("SIGTERM %s (pid %d)", c.spec.Name, pid), c.p.Terminate(stopGrace + 10*time.Second)
}
