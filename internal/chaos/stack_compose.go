package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kitshop/kitshop/internal/compose"
	"github.com/kitshop/kitshop/internal/procs"
)

// Bounds of the compose target's docker commands.
const (
	composeUpTimeout   = 3 * time.Minute
	composeDownTimeout = 2 * time.Minute
	dockerCmdTimeout   = 30 * time.Second
)

// composeOverlay is laid over docker-compose.yml for an experiment:
// usersvc and productsvc published on loopback ports of the runner's
// choosing (fixed, so that a restarted container keeps its address; ordersvc
// too, below), and every service gets the runner's settings. Docker's
// health checks are off: the runner probes /healthz itself, and each check
// is a `docker exec` of the service binary whose CPU, four containers every
// 5s on two cores, showed in the fast refusals' p99 that check 4 judges
// (11-15ms with them, 3.1-3.7ms without, reset-product on this machine).
const composeOverlay = `# Written by cmd/chaos -target compose for one experiment.
version: "2.4"
services:
  usersvc:
    ports: ["127.0.0.1:%[1]d:8081"]
    healthcheck: {interval: 24h}
    environment:
%[2]s
  productsvc:
    ports: ["127.0.0.1:%[3]d:8082"]
    healthcheck: {interval: 24h}
    environment:
%[2]s
`

// composeOrderOverlay adds ordersvc's part, once the fault proxies listen:
// ordersvc reaches its dependencies through them, on the host's address
// on the project's network (its gateway), which is the host's side of
// the containers' network and nothing beyond it.
const composeOrderOverlay = `  ordersvc:
    ports: ["127.0.0.1:%[4]d:8083"]
    healthcheck: {interval: 24h}
    environment:
      USER_SERVICE_URL: "http://%[1]s"
      PRODUCT_SERVICE_URL: "http://%[2]s"
%[3]s
`

// startCompose brings up usersvc, productsvc and ordersvc of cfg's
// docker-compose.yml as a compose project of its own (fresh volumes), with
// the image cfg.Image, which must exist: the runner builds nothing.
// Stopping the stack takes the project down, volumes included.
func (s *stack) startCompose(ctx context.Context, cfg stackConfig) error {
	tool, base, err := composePrerequisites(ctx, cfg)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kitshop-chaos-compose-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	project := "kitshopchaos" + runID()
	c := &compose.Project{Command: tool}
	var followers procs.Group
	s.where = fmt.Sprintf("containers of %s, compose project %s, image %s", cfg.ComposeFile, project, cfg.Image)
	s.stop = func() error {
		downCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), composeDownTimeout)
		defer cancel()
		_, err := c.Run(downCtx, "down", "-v", "--remove-orphans", "-t", "5")
		followers.KillAll()
		return errors.Join(err, os.RemoveAll(dir))
	}

	ports, err := cfg.ports()
	if err != nil {
		return err
	}
	ov, err := s.writeOverlay(dir, ports)
	if err != nil {
		return err
	}
	envFile := filepath.Join(dir, "empty.env") // no stray .env applies
	if err := os.WriteFile(envFile, nil, 0o644); err != nil {
		return err
	}
	c.Args = []string{"--env-file", envFile, "-p", project, "-f", base, "-f", ov.path}
	// docker-compose.yml takes SERVICE_SECRET from the environment.
	c.Env = compose.CleanEnv("KITSHOP_IMAGE="+cfg.Image, "SERVICE_SECRET="+s.secret,
		"ADMIN_EMAIL="+s.adminEmail, "ADMIN_PASSWORD="+s.adminPassword, "TOKEN_TTL="+runnerTokenTTL)

	since := time.Now()
	upCtx, cancel := context.WithTimeout(ctx, composeUpTimeout)
	defer cancel()
	if err := s.upCompose(ctx, upCtx, c, ov, ports); err != nil {
		return err
	}
	for _, svc := range []struct {
		name string
		port int
		into **service
	}{{"usersvc", ports[0], &s.user}, {"productsvc", ports[1], &s.product}, {"ordersvc", ports[2], &s.order}} {
		if *svc.into, err = s.followContainer(ctx, c, &followers, since, svc.name, svc.port); err != nil {
			return err
		}
	}
	return nil
}

// composePrerequisites finds the compose tool, the image and the compose
// file (as an absolute path).
func composePrerequisites(ctx context.Context, cfg stackConfig) (tool []string, base string, err error) {
	tool, err = compose.Find(ctx, "")
	if err != nil {
		return nil, "", fmt.Errorf("-target compose: %w", err)
	}
	if _, err := docker(ctx, "image", "inspect", "--format", "{{.Id}}", cfg.Image); err != nil {
		return nil, "", fmt.Errorf("image %s: %w: build it first, offline with scripts/docker-build-offline.sh or online with docker compose build", cfg.Image, err)
	}
	base, err = filepath.Abs(cfg.ComposeFile)
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(base); err != nil {
		return nil, "", fmt.Errorf("compose file: %w", err)
	}
	return tool, base, nil
}

// overlay is the runner's compose file laid over the project's: settings
// and loopback ports, and, once the proxies are up, ordersvc's part.
type overlay struct {
	path, text, env string
}

// writeOverlay writes the overlay for usersvc and productsvc into dir.
func (s *stack) writeOverlay(dir string, ports []int) (overlay, error) {
	var settings strings.Builder
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&settings, "      %s: %q\n", k, v)
	}
	ov := overlay{path: filepath.Join(dir, "docker-compose.chaos.yml"), env: strings.TrimRight(settings.String(), "\n")}
	ov.text = fmt.Sprintf(composeOverlay, ports[0], ov.env, ports[1])
	return ov, os.WriteFile(ov.path, []byte(ov.text), 0o644)
}

// upCompose starts usersvc and productsvc, puts the runner's proxies on
// the host's side of the project's network, and starts ordersvc through
// them.
func (s *stack) upCompose(ctx, upCtx context.Context, c *compose.Project, ov overlay, ports []int) error {
	if _, err := c.Run(upCtx, "up", "-d", "--no-build", "usersvc", "productsvc"); err != nil {
		return err
	}
	hostSide, err := networkGateway(ctx, c)
	if err != nil {
		return err
	}
	userProxy, err := s.proxies.addOn(hostSide, "user", fmt.Sprintf("127.0.0.1:%d", ports[0]))
	if err != nil {
		return err
	}
	productProxy, err := s.proxies.addOn(hostSide, "product", fmt.Sprintf("127.0.0.1:%d", ports[1]))
	if err != nil {
		return err
	}
	text := ov.text + fmt.Sprintf(composeOrderOverlay, userProxy, productProxy, ov.env, ports[2])
	if err := os.WriteFile(ov.path, []byte(text), 0o644); err != nil {
		return err
	}
	_, err = c.Run(upCtx, "up", "-d", "--no-build", "--no-deps", "ordersvc")
	return err
}

// networkGateway is the host's address on the project's network, as
// usersvc's container sees it.
func networkGateway(ctx context.Context, c *compose.Project) (string, error) {
	userID, err := c.Run(ctx, "ps", "-q", "usersvc")
	if err != nil {
		return "", err
	}
	gateway, err := docker(ctx, "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}", strings.TrimSpace(userID))
	if err != nil {
		return "", fmt.Errorf("the project's network gateway: %w", err)
	}
	if strings.Fields(gateway) == nil {
		return "", fmt.Errorf("the project's network gateway: none in %q", gateway)
	}
	return strings.Fields(gateway)[0], nil
}

// followContainer follows the logs of the service's container and waits
// until it is healthy.
func (s *stack) followContainer(ctx context.Context, c *compose.Project, followers *procs.Group, since time.Time, name string, port int) (*service, error) {
	id, err := c.Run(ctx, "ps", "-q", name)
	if err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, fmt.Errorf("%s: no container", name)
	}
	ctl := &containerControl{name: name, id: id, url: fmt.Sprintf("http://127.0.0.1:%d", port),
		followers: followers, procCtx: context.WithoutCancel(ctx), log: s.log}
	if err := ctl.follow(since); err != nil {
		return nil, err
	}
	return &service{name: name, url: ctl.url, ctl: ctl}, procs.WaitHealthy(ctx, name, ctl.url)
}

// docker runs one docker command, bounded by dockerCmdTimeout.
func docker(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, dockerCmdTimeout)
	defer cancel()
	return compose.Docker(ctx, args...)
}

// containerControl acts on a service that is a container: docker kill,
// pause, unpause and start. Its output reaches the stack's log through
// docker logs -f, one follower per run of the container.
type containerControl struct {
	name, id, url string
	followers     *procs.Group
	procCtx       context.Context
	log           *serviceLog
}

func (c *containerControl) short() string { return c.id[:min(12, len(c.id))] }

func (c *containerControl) Kill() (string, error) {
	if _, err := docker(context.Background(), "kill", c.id); err != nil {
		return "", fmt.Errorf("%s: %w", c.name, err)
	}
	return fmt.Sprintf("docker kill %s (container %s)", c.name, c.short()), nil
}

func (c *containerControl) Freeze() (string, error) {
	if _, err := docker(context.Background(), "pause", c.id); err != nil {
		return "", fmt.Errorf("%s: %w", c.name, err)
	}
	return fmt.Sprintf("docker pause %s (container %s)", c.name, c.short()), nil
}

func (c *containerControl) Thaw() error {
	if _, err := docker(context.Background(), "unpause", c.id); err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

// Start starts the killed container again (same port, same volume) and
// waits until it answers /healthz.
func (c *containerControl) Start(ctx context.Context) error {
	since := time.Now()
	if _, err := docker(ctx, "start", c.id); err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	if err := c.follow(since); err != nil {
		return err
	}
	return procs.WaitHealthy(ctx, c.name, c.url)
}

// follow copies the container's output from since on into the stack's
// log, as "name | line", until the container stops.
func (c *containerControl) follow(since time.Time) error {
	_, err := c.followers.Start(c.procCtx, procs.Spec{
		Name:   c.name,
		Path:   "docker",
		Args:   []string{"logs", "-f", "--since", since.UTC().Format(time.RFC3339Nano), c.id},
		Output: c.log,
	})
	return err
}
