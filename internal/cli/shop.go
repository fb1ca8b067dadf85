package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/internal/servicesecret"
	"github.com/kitshop/kitshop/internal/sqldb"
)

// RunShop runs the whole shop on this machine for local use: usersvc,
// productsvc, ordersvc and the gateway, each a child process of this same
// executable ("<self> usersvc -http-addr ..."), with SQLite databases under
// -data-dir, or with -postgres each on a database of its own on that
// PostgreSQL server. It starts them in dependency order, each once the one
// before answers /healthz, and then supervises them until ctx ends or
// SIGINT or SIGTERM arrives: then it stops them the other way round
// (SIGTERM, up to procs.DefaultGrace each, then SIGKILL; a second signal
// kills them at once) and returns nil if all stopped cleanly.
//
// A child that dies is reported and the others keep running; SIGHUP to the
// shop starts again every child that is not running, on its own port and
// database.
//
// With a service name as its first argument ("shop usersvc -http-addr
// :9000"), RunShop runs that one service in this process instead: that is
// how the children run.
func RunShop(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if err := RunService(ctx, args[0], args[1:], getenv, stdout); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		return nil
	}
	return runShop(ctx, args, getenv, stdout, shopOptions{})
}

// shopOptions are the knobs tests turn; the zero value is the real shop.
type shopOptions struct {
	exe     string         // the children's program; "" is this executable
	only    []string       // run only these services (all when empty)
	signals chan os.Signal // SIGHUP/SIGINT/SIGTERM arrive here; nil: the process's own
}

// shopChild is one service as the shop runs it.
type shopChild struct {
	name string
	addr string // where it listens
	url  string // how to reach it
	args []string
	proc *procs.Process
}

// shopSettings are the contract's settings the shop passes on to its
// children (read through getenv, so an in-process caller can set them; the
// rest of the environment is inherited as usual). The addresses, databases
// and service URLs are not among them: the shop sets those with flags.
var shopSettings = []string{"LOG_FORMAT", "REQUEST_TIMEOUT", "CALL_TIMEOUT", "RETRY_MAX_ATTEMPTS", "BREAKER_OPEN_TIMEOUT", "RESERVATION_TTL", "IDEMPOTENCY_TTL"}

func runShop(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, opts shopOptions) error {
	fl := NewFlags("shop", getenv, stdout)
	fl.fs.Usage = func() {
		fmt.Fprint(fl.fs.Output(), "usage: shop [flags]          run usersvc, productsvc, ordersvc and gateway as child processes\n"+
			"       shop SERVICE [flags]  run one service in this process (see shop SERVICE -h)\n\nflags:\n")
		fl.fs.PrintDefaults()
	}
	dataDir := fl.String("data-dir", "SHOP_DATA_DIR", "./data", "directory of the services' SQLite databases")
	pgServer := fl.String("postgres", "SHOP_POSTGRES_URL", "", "run the services on this PostgreSQL server instead "+
		"(postgres://user:pass@host:port/), each on its own database: kitshop_users, kitshop_products, kitshop_orders, created if missing")
	listenHost := fl.String("listen-host", "SHOP_LISTEN_HOST", "127.0.0.1", "the host the services listen on when their address names none "+
		"(a development shop exposes nothing to the network unless told to: 0.0.0.0 for every interface)")
	userAddr := fl.String("user-addr", "SHOP_USER_ADDR", ":8081", "usersvc's HTTP address")
	productAddr := fl.String("product-addr", "SHOP_PRODUCT_ADDR", ":8082", "productsvc's HTTP address")
	orderAddr := fl.String("order-addr", "SHOP_ORDER_ADDR", ":8083", "ordersvc's HTTP address")
	gatewayAddr := fl.String("gateway-addr", "SHOP_GATEWAY_ADDR", ":8080", "the gateway's HTTP address")
	if err := fl.Parse(args); err != nil {
		return err
	}
	children, err := shopChildren(*dataDir, *listenHost, *userAddr, *productAddr, *orderAddr, *gatewayAddr, opts.only)
	if err != nil {
		return err
	}
	if err := checkAddrsFree(children); err != nil {
		return err
	}
	where, pgEnv := *dataDir, []string(nil)
	if *pgServer != "" {
		if where, pgEnv, err = usePostgres(ctx, children, *pgServer); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	secret, err := shopSecret(*dataDir)
	if err != nil {
		return err
	}

	sigs := opts.signals
	if sigs == nil {
		sigs = make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sigs)
	}
	// The secret travels in the environment, where ps does not show it.
	env := append(pgEnv, "SERVICE_SECRET="+secret)
	for _, k := range shopSettings {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	out := procs.SyncWriter(stdout)
	s := &shop{children: children, out: out, sigs: sigs}
	// The children outlive ctx: the shop stops them itself, in order.
	s.life = context.WithoutCancel(ctx)

	s.say("starting %s (data in %s)", names(children), where)
	for _, c := range children {
		p, err := s.group.Start(s.life, procs.Spec{Name: c.name, Path: opts.exe, Args: c.args, Env: env, Output: out})
		if err == nil {
			c.proc = p
			err = p.WaitReady(ctx, c.url)
		}
		if err != nil {
			stopErr := s.stop()
			if ctx.Err() != nil { // interrupted while starting: a requested stop
				return stopErr
			}
			return err
		}
		s.say("%-10s ready at %s (pid %d)", c.name, c.url, c.proc.PID())
	}
	if children[len(children)-1].name == "gateway" {
		s.say(`all services ready; try: curl -s -X POST %s/v1/users -H 'Content-Type: application/json' -d '{"name":"Ada","email":"ada@example.com","password":"correct horse"}'`, children[len(children)-1].url)
	} else {
		s.say("all services ready")
	}
	s.say("Ctrl-C stops the shop; kill -HUP %d restarts any service that died", os.Getpid())
	return s.supervise(ctx)
}

// shop is the running supervisor.
type shop struct {
	children []*shopChild
	out      io.Writer
	sigs     chan os.Signal
	life     context.Context
	group    procs.Group
	exits    chan childExit
	quit     chan struct{}
	watchers sync.WaitGroup
	signals  int // SIGINT/SIGTERM received; the second one kills
}

// childExit is a child's run that ended; done tells which run it was.
type childExit struct {
	c    *shopChild
	done <-chan struct{}
}

func (s *shop) say(format string, args ...any) {
	fmt.Fprintf(s.out, "shop | "+format+"\n", args...)
}

// supervise reports children that die, restarts them on SIGHUP, and stops
// everything when ctx ends or on SIGINT/SIGTERM.
func (s *shop) supervise(ctx context.Context) error {
	s.exits, s.quit = make(chan childExit), make(chan struct{})
	for _, c := range s.children {
		s.watch(c)
	}
	for {
		select {
		case <-ctx.Done():
			return s.stop()
		case sig := <-s.sigs:
			if sig != syscall.SIGHUP {
				s.signals++
				return s.stop()
			}
			s.restartDead(ctx)
		case e := <-s.exits:
			if e.done != e.c.proc.Done() {
				continue // that run was already restarted
			}
			s.say("%s (pid %d) exited: %s; the other services keep running; kill -HUP %d restarts it",
				e.c.name, e.c.proc.PID(), describeExit(e.c.proc.Exited()), os.Getpid())
		}
	}
}

// watch reports the end of c's current run on s.exits.
func (s *shop) watch(c *shopChild) {
	done := c.proc.Done()
	s.watchers.Go(func() {
		select {
		case <-done:
			select {
			case s.exits <- childExit{c, done}:
			case <-s.quit:
			}
		case <-s.quit:
		}
	})
}

// restartDead starts again, in dependency order, every child not running.
func (s *shop) restartDead(ctx context.Context) {
	dead := 0
	for _, c := range s.children {
		if !errors.Is(c.proc.Exited(), procs.ErrRunning) {
			dead++
			if err := c.proc.Restart(s.life); err != nil {
				s.say("%s could not be restarted: %v", c.name, err)
				continue
			}
			s.watch(c)
			if err := c.proc.WaitReady(ctx, c.url); err != nil {
				if ctx.Err() == nil {
					s.say("%s did not come back: %v", c.name, err)
				}
				continue
			}
			s.say("%s is back at %s (pid %d)", c.name, c.url, c.proc.PID())
		}
	}
	if dead == 0 {
		s.say("SIGHUP: every service is running; nothing to restart")
	}
}

// stop terminates the children, last started first. Another SIGINT or
// SIGTERM meanwhile kills them all at once. It returns nil when every child
// exited cleanly, else one line naming those that did not.
func (s *shop) stop() error {
	var started []string
	for _, p := range slices.Backward(s.group.Processes()) {
		started = append(started, p.Name())
	}
	s.say("stopping %s (SIGTERM, then SIGKILL after %s; Ctrl-C again to kill now)", strings.Join(started, ", "), procs.DefaultGrace)
	stopped := make(chan error, 1)
	go func() { stopped <- s.group.StopAll(procs.DefaultGrace) }()
	var err error
wait:
	for {
		select {
		case err = <-stopped:
			break wait
		case sig := <-s.sigs:
			if sig != syscall.SIGHUP {
				if s.signals++; s.signals >= 2 {
					s.say("killing every service now")
					s.group.KillAll()
				}
			}
		}
	}
	if s.quit != nil {
		close(s.quit)
		s.watchers.Wait()
	}
	if err != nil {
		return fmt.Errorf("not every service stopped cleanly: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	s.say("all services stopped")
	return nil
}

// shopChildren lays the services out in start order: each one's address,
// URL, database and the URLs of the services it calls. An address without
// a host (":8081") gets listenHost. only, when not empty, keeps just those
// services.
func shopChildren(dataDir, listenHost, userAddr, productAddr, orderAddr, gatewayAddr string, only []string) ([]*shopChild, error) {
	all := []*shopChild{{name: "usersvc", addr: userAddr}, {name: "productsvc", addr: productAddr},
		{name: "ordersvc", addr: orderAddr}, {name: "gateway", addr: gatewayAddr}}
	url := map[string]string{}
	for _, c := range all {
		if host, port, err := net.SplitHostPort(c.addr); err == nil && host == "" {
			c.addr = net.JoinHostPort(listenHost, port)
		}
		u, err := addrURL(c.addr)
		if err != nil {
			return nil, fmt.Errorf("%s address: %w", c.name, err)
		}
		c.url, url[c.name] = u, u
		c.args = []string{c.name, "-http-addr", c.addr}
		if c.name != "gateway" {
			c.args = append(c.args, "-database-url", "sqlite:"+filepath.Join(dataDir, c.name+".db"))
		}
	}
	all[2].args = append(all[2].args, "-user-url", url["usersvc"], "-product-url", url["productsvc"])
	all[3].args = append(all[3].args, "-user-url", url["usersvc"], "-product-url", url["productsvc"], "-order-url", url["ordersvc"])
	var children []*shopChild
	for _, c := range all {
		if len(only) == 0 || slices.Contains(only, c.name) {
			children = append(children, c)
		}
	}
	return children, nil
}

// shopDatabases names each service's database on a -postgres server.
var shopDatabases = map[string]string{"usersvc": "kitshop_users", "productsvc": "kitshop_products", "ordersvc": "kitshop_orders"}

// usePostgres points the children at their databases on the PostgreSQL
// server, creating those missing. The password travels to the children in
// PGPASSWORD, not on their command lines, where ps would show it. It
// returns where the data is, for the start message, and the children's
// extra environment.
func usePostgres(ctx context.Context, children []*shopChild, server string) (where string, env []string, err error) {
	where = "PostgreSQL"
	urls, err := sqldb.CreatePostgresDatabases(ctx, server, slices.Sorted(maps.Values(shopDatabases))...)
	if err != nil {
		return "", nil, err
	}
	for _, c := range children {
		if i := slices.Index(c.args, "-database-url"); i >= 0 {
			u, err := url.Parse(urls[shopDatabases[c.name]])
			if err != nil {
				return "", nil, err
			}
			if pw, ok := u.User.Password(); ok {
				env = []string{"PGPASSWORD=" + pw}
				u.User = url.User(u.User.Username())
			}
			c.args[i+1] = u.String()
			where = strings.Replace(u.String(), shopDatabases[c.name], "kitshop_*", 1)
		}
	}
	return where, env, nil
}

// shopSecretFile holds, in the data directory, the SERVICE_SECRET the
// shop gives its children: made at random on the first start, reused on
// later ones, so cursors stay good across restarts.
const shopSecretFile = "service-secret"

// shopSecret reads the data directory's service secret, making it first
// if there is none.
func shopSecret(dataDir string) (string, error) {
	path := filepath.Join(dataDir, shopSecretFile)
	if b, err := os.ReadFile(path); err == nil {
		secret := strings.TrimSpace(string(b))
		if len(secret) < MinServiceSecretBytes {
			return "", fmt.Errorf("%s: too short (%d bytes, want at least %d); delete it to make a new one", path, len(secret), MinServiceSecretBytes)
		}
		return secret, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("service secret: %w", err)
	}
	secret := servicesecret.New()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("service secret: %w", err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("service secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("service secret: %w", err)
	}
	return secret, nil
}

// checkAddrsFree fails, before any child starts, when a service's address
// is taken (or two services share one): all are held open at once.
func checkAddrsFree(children []*shopChild) error {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			_ = ln.Close()
		}
	}()
	for _, c := range children {
		ln, err := net.Listen("tcp", c.addr)
		if err != nil {
			return fmt.Errorf("%s cannot listen on %s (is the shop already running?): %w", c.name, c.addr, err)
		}
		held = append(held, ln)
	}
	return nil
}

// addrURL turns a listen address into the URL to reach it on this machine.
func addrURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q: want [host]:port", addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func names(cs []*shopChild) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.name)
	}
	return strings.Join(out, ", ")
}
