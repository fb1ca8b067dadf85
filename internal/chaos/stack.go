package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/internal/servicesecret"
)

// stopGrace is how long a service gets to stop after SIGTERM at the end of
// an experiment before it is SIGKILLed.
const stopGrace = 5 * time.Second

// Targets: what the stack runs on.
const (
	TargetProcess = "process" // child processes of the runner
	TargetCompose = "compose" // containers of docker-compose.yml
)

// service is one running service of the stack.
type service struct {
	name string
	url  string // http://127.0.0.1:PORT, as the runner reaches it
	ctl  control
}

// control is how the runner acts on one service: a child process
// (signals) or a container (docker kill, pause, start).
type control interface {
	// Kill ends the service at once; the result says what was done, for
	// the event log.
	Kill() (string, error)
	// Freeze stops the service answering while it keeps its sockets, so
	// that connections are accepted and then hang.
	Freeze() (string, error)
	// Thaw undoes Freeze.
	Thaw() error
	// Start starts a killed service again, on the same port with the same
	// data, and waits until it answers /healthz.
	Start(ctx context.Context) error
}

// stack is the shop as an experiment runs it: usersvc, productsvc and
// ordersvc, fresh databases, and ordersvc reaching its dependencies
// through in-process toxiproxy proxies, so that network faults are toxics
// added to them. A restarted service keeps its port and data. The target
// decides what a service is (stack_process.go, stack_compose.go).
type stack struct {
	env []string // the settings every service runs with
	// secret is the services' SERVICE_SECRET, made for this stack and
	// kept out of env, which is printed.
	secret string
	// adminEmail and adminPassword are the admin usersvc makes at start
	// (ADMIN_EMAIL, ADMIN_PASSWORD), through whom the runner sets up the
	// catalogue and reads everything for the invariants. The tokens the
	// runner signs in for last runnerTokenTTL, so that no experiment,
	// however long its -duration, outlives them.
	adminEmail, adminPassword string
	proxies                   *proxies
	log                       *serviceLog
	user                      *service
	product                   *service
	order                     *service
	// With replicas (startReplicas): every instance of each service,
	// user, product and order being the first; the gateway the load goes
	// through; the spare instances scale-out starts; the sockets bound for
	// them, closed with the stack.
	users, products, orders []*service
	gateway                 *service
	spare                   []*service
	sockets                 []*procs.Socket
	// marks are what instance faults note for the checks.
	marks marks
	// where describes the target and the databases, for the terminal.
	where string
	// stop stops the services and removes their data; it is set once
	// something is to be stopped.
	stop func() error
}

// stackConfig is what startStack needs.
type stackConfig struct {
	Target string
	// Executable runs the services of the process target ("" is this
	// process's executable, which runs a service when its first argument
	// names one).
	Executable string
	// Postgres, if set, is the PostgreSQL server (postgres://...) on
	// which the process target creates a fresh database per service.
	Postgres string
	// ComposeFile and Image are the compose target's docker-compose.yml
	// and the image it runs.
	ComposeFile string
	Image       string
	Settings    Settings
	// Output receives the services' output (a log file).
	Output io.Writer
	// Replicas, when above 1, is how many instances of usersvc,
	// productsvc and ordersvc the process target runs (startReplicas);
	// Registry has them found through etcd.
	Replicas int
	Registry bool
	// Ports, if set, are the loopback ports of usersvc, productsvc and
	// ordersvc; by default free ones are found.
	Ports []int
}

// ports returns cfg.Ports, or three free loopback ports.
func (cfg stackConfig) ports() ([]int, error) {
	if len(cfg.Ports) == 3 {
		return cfg.Ports, nil
	}
	return freePorts(3)
}

// runnerTokenTTL is the TOKEN_TTL of the runner's usersvc.
const runnerTokenTTL = "24h"

// startStack starts the services on cfg.Target and waits until each
// answers /healthz. On error nothing it started is left running.
func startStack(ctx context.Context, cfg stackConfig) (*stack, error) {
	s := &stack{
		env:           append(cfg.Settings.env(), "LOG_FORMAT=json"),
		secret:        servicesecret.New(),
		adminEmail:    "chaos-admin@kitshop.local",
		adminPassword: servicesecret.New()[:24],
		proxies:       newProxies(),
		log:           newServiceLog(cfg.Output),
	}
	var err error
	switch cfg.Target {
	case TargetCompose:
		err = s.startCompose(ctx, cfg)
	case TargetProcess:
		if cfg.Replicas > 1 {
			err = s.startReplicas(ctx, cfg)
			break
		}
		err = s.startProcesses(ctx, cfg)
	default:
		err = s.startProcesses(ctx, cfg)
	}
	if err != nil {
		_ = s.close()
		return nil, err
	}
	return s, nil
}

// restart starts a killed service again (same port, same data) and waits
// until it is ready.
func (s *stack) restart(ctx context.Context, svc *service) error {
	return svc.ctl.Start(ctx)
}

// services are the stack's services that have started, ordersvc first;
// with replicas every instance, the gateway and the spares.
func (s *stack) services() []*service {
	if s.users != nil {
		all := append(slices.Concat(s.orders, s.products, s.users, s.spare), s.gateway)
		return slices.DeleteFunc(all, func(svc *service) bool { return svc == nil })
	}
	var out []*service
	for _, svc := range []*service{s.order, s.product, s.user} {
		if svc != nil {
			out = append(out, svc)
		}
	}
	return out
}

// front is where the load goes: the gateway in front of several ordersvc
// instances, else ordersvc itself.
func (s *stack) front() *service {
	if s.gateway != nil {
		return s.gateway
	}
	return s.order
}

// describe lists the services and settings, for the terminal.
func (s *stack) describe() string {
	var b strings.Builder
	if s.users != nil {
		for _, svcs := range [][]*service{s.users, s.products, s.orders, {s.gateway}} {
			var where []string
			for _, svc := range svcs {
				where = append(where, svc.name+" "+svc.url)
			}
			fmt.Fprintf(&b, "  %s\n", strings.Join(where, ", "))
		}
		fmt.Fprintf(&b, "  on: %s\n", s.where)
		fmt.Fprintf(&b, "  env: %s\n", strings.Join(s.env, " "))
		return b.String()
	}
	fmt.Fprintf(&b, "  services: usersvc %s, productsvc %s, ordersvc %s (via proxies user %s, product %s)\n",
		s.user.url, s.product.url, s.order.url,
		s.proxies.byName["user"].Listen, s.proxies.byName["product"].Listen)
	fmt.Fprintf(&b, "  on: %s\n", s.where)
	fmt.Fprintf(&b, "  env: %s\n", strings.Join(s.env, " "))
	return b.String()
}

// close thaws any frozen service so that it can stop, stops the services
// and the proxies, and removes the databases. It returns how the services
// ended when not cleanly.
func (s *stack) close() error {
	for _, svc := range s.services() {
		_ = svc.ctl.Thaw()
	}
	var err error
	if s.stop != nil {
		err = s.stop()
	}
	s.proxies.close()
	for _, sock := range s.sockets {
		_ = sock.Close()
	}
	return err
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// runID is a short random name for what one experiment creates (databases,
// a compose project), so that runs never share them.
func runID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
