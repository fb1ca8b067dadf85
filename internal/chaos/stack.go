package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kitshop/kitshop/internal/procs"
)

// stopGrace is how long a service gets to stop after SIGTERM at the end of
// an experiment before it is SIGKILLed.
const stopGrace = 5 * time.Second

// service is one running service of the stack.
type service struct {
	name string
	url  string // http://127.0.0.1:PORT
	proc *procs.Process
}

// stack is the shop as the runner runs it: usersvc, productsvc and ordersvc
// as separate child processes of the runner's own executable, on free
// loopback ports, with fresh SQLite databases in a temporary directory, and
// ordersvc reaching its dependencies through in-process toxiproxy proxies.
// A restarted service keeps its port and database.
type stack struct {
	dir     string
	env     []string // what the runner sets in every service's environment
	procCtx context.Context
	group   procs.Group
	proxies *proxies
	log     *serviceLog
	user    *service
	product *service
	order   *service
	orderDB string // ordersvc's DATABASE_URL
}

// stackConfig is what startStack needs.
type stackConfig struct {
	// Executable runs the services ("" is this process's executable, which
	// runs a service when its first argument names one).
	Executable string
	Settings   Settings
	// Output receives the services' output (a log file).
	Output io.Writer
}

// startStack starts the services and waits until each answers /healthz.
// On error nothing it started is left running.
func startStack(ctx context.Context, cfg stackConfig) (_ *stack, err error) {
	dir, err := os.MkdirTemp("", "kitshop-chaos-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &stack{
		dir: dir,
		env: append(cfg.Settings.env(), "LOG_FORMAT=json"),
		// The services outlive a cancelled ctx until close stops them in
		// order; the kernel kills them if the runner dies (Pdeathsig).
		procCtx: context.WithoutCancel(ctx),
		proxies: newProxies(),
		log:     newServiceLog(cfg.Output),
	}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	userAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	productAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	orderAddr := fmt.Sprintf("127.0.0.1:%d", ports[2])
	userProxy, err := s.proxies.add("user", userAddr)
	if err != nil {
		return nil, err
	}
	productProxy, err := s.proxies.add("product", productAddr)
	if err != nil {
		return nil, err
	}
	s.orderDB = "sqlite:" + filepath.Join(dir, "ordersvc.db")
	if s.user, err = s.start(ctx, cfg.Executable, "usersvc", userAddr, nil); err != nil {
		return nil, err
	}
	if s.product, err = s.start(ctx, cfg.Executable, "productsvc", productAddr, nil); err != nil {
		return nil, err
	}
	s.order, err = s.start(ctx, cfg.Executable, "ordersvc", orderAddr, []string{
		"USER_SERVICE_URL=http://" + userProxy,
		"PRODUCT_SERVICE_URL=http://" + productProxy,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *stack) start(ctx context.Context, exe, name, addr string, env []string) (*service, error) {
	spec := procs.Spec{
		Name: name,
		Path: exe,
		Args: []string{name, "-http-addr", addr, "-database-url", "sqlite:" + filepath.Join(s.dir, name+".db")},
		Env:  append(append([]string(nil), s.env...), env...),
		// procs writes each line in one Write; the log is safe for
		// concurrent use.
		Output: s.log,
	}
	p, err := s.group.Start(s.procCtx, spec)
	if err != nil {
		return nil, err
	}
	svc := &service{name: name, url: "http://" + addr, proc: p}
	if err := p.WaitReady(ctx, svc.url); err != nil {
		return nil, err
	}
	return svc, nil
}

// restart starts an exited service again (same port, same database) and
// waits until it is ready.
func (s *stack) restart(ctx context.Context, svc *service) error {
	if err := svc.proc.Restart(s.procCtx); err != nil {
		return err
	}
	return svc.proc.WaitReady(ctx, svc.url)
}

// describe lists the services and settings, for the terminal.
func (s *stack) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  services: usersvc %s, productsvc %s, ordersvc %s (via proxies user %s, product %s)\n",
		s.user.url, s.product.url, s.order.url,
		s.proxies.byName["user"].Listen, s.proxies.byName["product"].Listen)
	fmt.Fprintf(&b, "  env: %s\n", strings.Join(s.env, " "))
	return b.String()
}

// close stops the services (ordersvc first), then the proxies, and removes
// the databases. It returns how the services ended when not cleanly; a
// frozen service is thawed so that it can stop.
func (s *stack) close() error {
	for _, p := range s.group.Processes() {
		_ = p.Continue()
	}
	err := s.group.StopAll(stopGrace)
	s.group.KillAll() // a no-op for those already gone
	s.proxies.close()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, rmErr)
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
