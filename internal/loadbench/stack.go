package loadbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/internal/servicesecret"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/userservice"
)

// Environment the runner passes to its children.
const (
	// cpusEnv lists the CPUs (comma-separated) a child pins itself to.
	cpusEnv = "LOADBENCH_CPUS"
	// profileEnv is a directory where a child writes its CPU and
	// allocation profiles when it stops.
	profileEnv = "LOADBENCH_PROFILE_DIR"
)

// stopGrace is how long a child gets to stop after SIGTERM.
const stopGrace = 5 * time.Second

// stack is the shop as the load benchmark runs it: usersvc, productsvc,
// ordersvc and the gateway as child processes of the runner's own
// executable on free loopback ports, with fresh SQLite databases in a
// temporary directory, and the raw reference server beside them.
type stack struct {
	dir   string
	env   []string
	exe   string
	life  context.Context
	group procs.Group
	out   *tailWriter
	procs map[string]*procs.Process
	addrs map[string]string // host:port
	// sockets hold each child's port from the start (procs.Socket).
	sockets map[string]*procs.Socket
	users   []userservice.User
	prods   []productservice.Product
	client  *http.Client // for setup calls
	// secret is the services' SERVICE_SECRET; tokens holds each user's
	// access token by user ID; adminPassword is the admin's, whom usersvc
	// makes at start.
	secret        string
	tokens        map[string]string
	adminPassword string
}

// serviceTokens is the token source of a client calling usersvc as
// ordersvc does: its service token.
func (s *stack) serviceTokens() func(context.Context) (string, error) {
	return auth.ServiceTokenSource(s.secret, "ordersvc")
}

// The children's names, as their first argument.
const (
	userName    = "usersvc"
	productName = "productsvc"
	orderName   = "ordersvc"
	gatewayName = "gateway"
	rawName     = "rawusers" // the raw net/http reference server
	kitName     = "kitusers" // the same users through go-kit alone
)

// startStack starts the four services, each once the one before is ready.
// cpus, when not empty, is where the children pin themselves. On error
// nothing is left running.
func startStack(ctx context.Context, exe string, cpus []int, profileDir string) (_ *stack, err error) {
	dir, err := os.MkdirTemp("", "kitshop-loadbench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &stack{
		dir: dir, exe: exe,
		life:          context.WithoutCancel(ctx), // stopped by close, in order
		out:           newTailWriter(40),
		procs:         map[string]*procs.Process{},
		sockets:       map[string]*procs.Socket{},
		addrs:         map[string]string{},
		client:        &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second},
		secret:        servicesecret.New(),
		adminPassword: servicesecret.New()[:24],
		tokens:        map[string]string{},
	}
	s.env = []string{"SERVICE_SECRET=" + s.secret}
	if len(cpus) > 0 {
		s.env = append(s.env, cpusEnv+"="+joinInts(cpus))
	}
	if profileDir != "" {
		s.env = append(s.env, profileEnv+"="+profileDir)
	}
	defer func() {
		if err != nil {
			_ = s.close()
		}
	}()
	for _, name := range []string{userName, productName, orderName, gatewayName, rawName, kitName} {
		sock, err := procs.NewSocket("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.sockets[name], s.addrs[name] = sock, sock.Addr()
	}
	db := func(name string) []string {
		return []string{"-database-url", "sqlite:" + filepath.Join(dir, name+".db")}
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		// Tokens good for a day: no run, however long, outlives them.
		{userName, append(db(userName), "-admin-email", loadAdminEmail, "-admin-password", s.adminPassword, "-token-ttl", "24h")},
		{productName, append(db(productName), "-user-url", s.url(userName))},
		{orderName, append(db(orderName), "-user-url", s.url(userName), "-product-url", s.url(productName))},
		{gatewayName, []string{"-user-url", s.url(userName), "-product-url", s.url(productName), "-order-url", s.url(orderName)}},
	} {
		if err := s.start(ctx, c.name, c.args); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *stack) start(ctx context.Context, name string, args []string) error {
	spec := procs.Spec{
		Name:   name,
		Path:   s.exe,
		Args:   append([]string{name, "-http-addr", s.addrs[name]}, args...),
		Env:    s.env,
		Output: s.out,
		Files:  s.sockets[name].Files,
	}
	p, err := s.group.Start(s.life, spec)
	if err != nil {
		return err
	}
	s.procs[name] = p
	if err := p.WaitReady(ctx, s.url(name)); err != nil {
		return fmt.Errorf("%w; last output:\n%s", err, s.out.String())
	}
	return nil
}

func (s *stack) url(name string) string { return "http://" + s.addrs[name] }

// pid is the named child's PID, or 0 when it was not started.
func (s *stack) pid(name string) int {
	if p := s.procs[name]; p != nil {
		return p.PID()
	}
	return 0
}

func (s *stack) pids(names ...string) func() []int {
	return func() []int {
		var out []int
		for _, n := range names {
			if pid := s.pid(n); pid != 0 {
				out = append(out, pid)
			}
		}
		return out
	}
}

// allPIDs lists every child.
func (s *stack) allPIDs() []int {
	var out []int
	for _, p := range s.group.Processes() {
		out = append(out, p.PID())
	}
	return out
}

// seed creates users (hashing their passwords at bcrypt's default cost, as
// the service always does, so this takes a while) and products with ample
// stock, through the services' APIs.
func (s *stack) seed(ctx context.Context, users, products int) error {
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan int)
	for range 2 { // two at a time: bcrypt is the bottleneck, on the services' CPUs
		wg.Go(func() {
			for i := range next {
				var u userservice.User
				err := s.post(ctx, userName, "/v1/users", "", map[string]any{
					"name": fmt.Sprintf("Load Tester %d", i), "email": fmt.Sprintf("load-%d@example.com", i),
					"password": loadPassword,
				}, &u)
				var token string
				if err == nil {
					token, err = s.login(ctx, u.Email, loadPassword)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					s.users = append(s.users, u)
					s.tokens[u.ID] = token
				}
				mu.Unlock()
			}
		})
	}
	for i := range users {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("seed users: %w", firstErr)
	}
	admin, err := s.login(ctx, loadAdminEmail, s.adminPassword)
	if err != nil {
		return fmt.Errorf("seed products: admin sign-in: %w", err)
	}
	for i := range products {
		var p productservice.Product
		if err := s.post(ctx, productName, "/v1/products", admin, map[string]any{
			"name": fmt.Sprintf("Widget %d", i), "price_cents": 1000 + i, "stock": 1_000_000_000,
		}, &p); err != nil {
			return fmt.Errorf("seed products: %w", err)
		}
		s.prods = append(s.prods, p)
	}
	return nil
}

// The load's users all have one password; usersvc makes the admin, who
// adds the products.
const (
	loadPassword   = "correct horse battery staple"
	loadAdminEmail = "loadbench-admin@kitshop.local"
)

// login signs in at usersvc and returns the access token.
func (s *stack) login(ctx context.Context, email, password string) (string, error) {
	var sess userservice.Session
	if err := s.post(ctx, userName, "/v1/sessions", "", map[string]string{"email": email, "password": password}, &sess); err != nil {
		return "", err
	}
	return sess.AccessToken, nil
}

// post sends a JSON body to a service, with token if not "", and decodes
// its 201 answer into out.
func (s *stack) post(ctx context.Context, name, path, token string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url(name)+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, bytes.TrimSpace(data))
	}
	return json.Unmarshal(data, out)
}

// startRaw writes the seeded users to a file and starts the reference
// servers over it: the raw one, and the go-kit one.
func (s *stack) startRaw(ctx context.Context) error {
	b, err := json.Marshal(s.users)
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, "users.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	if err := s.start(ctx, rawName, []string{"-users", path}); err != nil {
		return err
	}
	return s.start(ctx, kitName, []string{"-users", path, "-kit"})
}

// breakerState asks ordersvc's /readyz for the state of the named
// dependency's breaker.
func (s *stack) breakerState(ctx context.Context, dependency string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url(orderName)+"/readyz", nil)
	if err != nil {
		return "", err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Dependencies map[string]struct {
			State string `json:"state"`
		} `json:"dependencies"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("ordersvc /readyz: %w", err)
	}
	return body.Dependencies[dependency].State, nil
}

// close stops every child, the last started first, and removes the
// databases.
func (s *stack) close() error {
	err := s.group.StopAll(stopGrace)
	s.group.KillAll()
	for _, sock := range s.sockets {
		_ = sock.Close() // those of children never started
	}
	s.client.CloseIdleConnections()
	return errors.Join(err, os.RemoveAll(s.dir))
}
