package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/kitshop/kitshop/internal/procs"
)

// RunShop runs the whole shop on this machine for local use: usersvc,
// productsvc, ordersvc and the gateway, each a child process of this same
// executable ("<self> usersvc -http-addr ..."), with SQLite databases under
// -data-dir, or with -postgres each on a database of its own on that
// PostgreSQL server. With -replicas N it runs N instances of each service
// but the gateway, sharing the service's database, and gives every caller
// the list of all of them. It starts them in dependency order, each once the one
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
	service string // usersvc, productsvc, ordersvc or gateway
	name    string // the service, or with -replicas the instance: usersvc-2
	addr    string // where it listens
	url     string // how to reach it
	args    []string
	proc    *procs.Process
	// socket is the child's listening socket, bound by the shop.
	socket *procs.Socket
}

// shopSettings are the contract's settings the shop passes on to its
// children (read through getenv, so an in-process caller can set them; the
// rest of the environment is inherited as usual). The addresses, databases
// and service URLs are not among them: the shop sets those with flags.
var shopSettings = []string{"LOG_FORMAT", "REQUEST_TIMEOUT", "CALL_TIMEOUT", "RETRY_MAX_ATTEMPTS", "BREAKER_OPEN_TIMEOUT", "RESERVATION_TTL", "IDEMPOTENCY_TTL", "DRAIN_DELAY"}

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
	replicas := fl.Int("replicas", "SHOP_REPLICAS", 1, "instances of usersvc, productsvc and ordersvc each (one gateway); "+
		"the i-th instance (from 0) of a service listens on its port + 10*i")
	if err := fl.Parse(args); err != nil {
		return err
	}
	all, children, err := shopChildren(*listenHost, *userAddr, *productAddr, *orderAddr, *gatewayAddr, *replicas, opts.only)
	if err != nil {
		return err
	}
	if err := holdAddrs(children); err != nil {
		return err
	}
	defer releaseAddrs(children) // those of children that never started
	wireChildren(*dataDir, all)
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
	adminPassword, err := shopAdminPassword(*dataDir)
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
		// The child serves on the socket the shop bound (see listen).
		childEnv := env
		if c.service == "usersvc" { // the admin's password goes to usersvc alone
			childEnv = append(slices.Clip(env), "ADMIN_EMAIL="+ShopAdminEmail, "ADMIN_PASSWORD="+adminPassword)
		}
		p, err := s.group.Start(s.life, procs.Spec{Name: c.name, Path: opts.exe, Args: c.args, Env: childEnv, Output: out, Files: c.socket.Files})
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
		// A new email each time ($RANDOM), so the hint works on every run.
		s.say(`all services ready; try: curl -s -X POST %s/v1/users -H 'Content-Type: application/json' -d "{\"name\":\"Ada\",\"email\":\"ada-$RANDOM@example.com\",\"password\":\"correct horse\"}"`, children[len(children)-1].url)
	} else {
		s.say("all services ready")
	}
	s.say("admin: %s, password in %s", ShopAdminEmail, filepath.Join(*dataDir, shopAdminPasswordFile))
	s.say("Ctrl-C stops the shop; kill -HUP %d restarts any service that died", os.Getpid())
	return s.supervise(ctx)
}

// shopDatabases names each service's database on a -postgres server.
var shopDatabases = map[string]string{"usersvc": "kitshop_users", "productsvc": "kitshop_products", "ordersvc": "kitshop_orders"}

// shopSecretFile holds, in the data directory, the SERVICE_SECRET the
// shop gives its children: made at random on the first start, reused on
// later ones, so cursors stay good across restarts.
const shopSecretFile = "service-secret"

// ShopAdminEmail is the admin account the shop has usersvc make; its
// password is made at random on the first start and kept in the data
// directory (shopAdminPasswordFile, mode 0600).
const ShopAdminEmail = "admin@kitshop.local"

const shopAdminPasswordFile = "admin-password"
