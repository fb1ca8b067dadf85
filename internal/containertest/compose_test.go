package containertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/compose"
	"github.com/kitshop/kitshop/internal/servicesecret"
)

// settings are the contract's settings the stack runs with: short, so that
// breakers open, close and reservations expire within the test's budget.
// The gateway outlasts ordersvc, so ordersvc's own 503 reaches the client.
var settings = map[string]string{
	"REQUEST_TIMEOUT":         "2s",
	"CALL_TIMEOUT":            "500ms",
	"RETRY_MAX_ATTEMPTS":      "3",
	"BREAKER_OPEN_TIMEOUT":    "2s",
	"RESERVATION_TTL":         "5s",
	"RECOVERY_INTERVAL":       "500ms",
	"GATEWAY_REQUEST_TIMEOUT": "3s",
	"LOG_FORMAT":              "logfmt",
	// Instances appear and vanish in ordersvc's view within a second or
	// two of Docker's DNS (dns+http://).
	"DISCOVERY_INTERVAL": "1s",
	// Free loopback ports, chosen by the engine: the test never collides
	// with a shop already running on 8080 and 8083.
	"GATEWAY_BIND":  "127.0.0.1",
	"GATEWAY_PORT":  "0",
	"ORDERSVC_PORT": "0",
}

const (
	requestTimeout     = 2 * time.Second // REQUEST_TIMEOUT above
	breakerOpenTimeout = 2 * time.Second // BREAKER_OPEN_TIMEOUT above
	reservationTTL     = 5 * time.Second // RESERVATION_TTL above
)

// stack is docker-compose.yml running under a project name of its own.
type stack struct {
	t        *testing.T
	project  compose.Project
	env      []string // the project's environment, settings included
	image    string
	gateway  string // base URLs on loopback
	orders   string
	products string // published by testdata/compose.test.yml only
	// adminPassword is the password of adminEmail, whom usersvc makes.
	adminPassword string
}

// adminEmail is the admin the stack's usersvc makes at start.
const adminEmail = "admin@kitshop.local"

// skipLoudly skips the test with a line that says so even without -v,
// or fails it when KITSHOP_REQUIRE_DOCKER is set.
func skipLoudly(t *testing.T, why string) {
	t.Helper()
	msg := "SKIPPED: " + why
	if os.Getenv("KITSHOP_REQUIRE_DOCKER") != "" {
		t.Fatal(msg + " (and KITSHOP_REQUIRE_DOCKER is set)")
	}
	fmt.Fprintln(os.Stderr, "containertest: "+msg)
	t.Skip(msg)
}

// composeCommand finds a Docker engine and a compose command, or skips.
func composeCommand(ctx context.Context, t *testing.T) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIPPED: -short (the container test builds an image and runs the whole stack)")
	}
	keyCacheOnRepository()
	c, err := compose.Find(ctx, os.Getenv("KITSHOP_COMPOSE"))
	if err != nil {
		skipLoudly(t, err.Error())
	}
	return c
}

// startStack builds the image offline and brings the stack up, healthy. Its
// cleanup, registered first, takes everything down again.
func startStack(ctx context.Context, t *testing.T) *stack {
	t.Helper()
	command := composeCommand(ctx, t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	project := "kitshoptest" + hex.EncodeToString(suffix)
	envFile := filepath.Join(t.TempDir(), "empty.env") // no stray .env applies
	if err := os.WriteFile(envFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, image: "kitshop:" + project}
	s.adminPassword = servicesecret.New()[:24]
	extra := []string{"KITSHOP_IMAGE=" + s.image, "SERVICE_SECRET=" + servicesecret.New(),
		"ADMIN_EMAIL=" + adminEmail, "ADMIN_PASSWORD=" + s.adminPassword}
	for k, v := range settings {
		extra = append(extra, k+"="+v)
	}
	s.env = compose.CleanEnv(extra...)
	s.project = compose.Project{
		Command: command, Env: s.env,
		Args: []string{"--env-file", envFile, "-p", project,
			"-f", filepath.Join(root, "docker-compose.yml"),
			"-f", filepath.Join(root, "docker-compose.ops.yml"),
			"-f", filepath.Join(root, "internal", "containertest", "testdata", "compose.test.yml")},
	}
	t.Cleanup(s.down)

	began := time.Now()
	build := exec.CommandContext(ctx, filepath.Join(root, "scripts", "docker-build-offline.sh"))
	build.Env = s.env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/docker-build-offline.sh: %v\n%s", err, out)
	}
	t.Logf("image %s built offline in %s", s.image, time.Since(began).Round(100*time.Millisecond))

	began = time.Now()
	s.must(ctx, "up", "-d")
	s.waitHealthy(ctx, 60*time.Second)
	t.Logf("project %s: up to all four healthy in %s", project, time.Since(began).Round(100*time.Millisecond))
	s.gateway = "http://" + s.port(ctx, "gateway", "8080")
	s.orders = "http://" + s.port(ctx, "ordersvc", "8083")
	s.products = "http://" + s.port(ctx, "productsvc", "8082")
	return s
}

// run runs one compose command for the project.
func (s *stack) run(ctx context.Context, args ...string) (string, error) {
	out, err := s.project.Run(ctx, args...)
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: the test's time budget ran out, or it was interrupted", err)
	}
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, out)
	}
	return out, err
}

// must runs a compose command and fails the test if it fails.
func (s *stack) must(ctx context.Context, args ...string) string {
	s.t.Helper()
	out, err := s.run(ctx, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// port is where a service's container port is published on the host.
func (s *stack) port(ctx context.Context, service, port string) string {
	s.t.Helper()
	hostPort := strings.TrimSpace(s.must(ctx, "port", service, port))
	if hostPort == "" || strings.HasSuffix(hostPort, ":0") {
		s.t.Fatalf("%s:%s is not published (%q)", service, port, hostPort)
	}
	return hostPort
}

// waitHealthy waits until the four containers of the project are healthy.
func (s *stack) waitHealthy(ctx context.Context, within time.Duration) {
	s.t.Helper()
	s.waitHealthyN(ctx, 4, within)
}

// waitHealthyN waits until the project has n containers, all healthy.
func (s *stack) waitHealthyN(ctx context.Context, n int, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	var states string
	for {
		ids := strings.Fields(s.must(ctx, "ps", "-q"))
		if len(ids) == n {
			out, err := exec.CommandContext(ctx, "docker", append([]string{"inspect", "--format",
				"{{.Name}}={{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}"}, ids...)...).Output()
			states = strings.Join(strings.Fields(string(out)), " ")
			if err == nil && strings.Count(states, "=healthy") == n {
				return
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.t.Fatalf("not all %d containers healthy within %s: %s", n, within, states)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// down removes the project's containers, network and volumes, and the
// image built for it; on failure it first shows the services' logs.
func (s *stack) down() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.t.Failed() {
		if logs, err := s.run(ctx, "logs", "--no-color", "--tail", "60"); err == nil {
			s.t.Logf("service logs (last lines):\n%s", logs)
		}
	}
	if _, err := s.run(ctx, "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
		s.t.Errorf("tearing the stack down: %v", err)
	}
	if out, err := exec.CommandContext(ctx, "docker", "image", "rm", s.image).CombinedOutput(); err != nil && !bytes.Contains(out, []byte("No such image")) {
		s.t.Errorf("removing image %s: %v: %s", s.image, err, out)
	}
}

// keyCacheOnRepository makes go test run this test again whenever a file
// of the repository changes. Its input is the whole tree the image is built
// from, while go test only knows of the packages a test imports (none here)
// and of the files and variables the test itself reads: so it reads them.
func keyCacheOnRepository() {
	root := filepath.Join("..", "..")
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case d.IsDir() && slices.Contains([]string{".git", "data", "chaos-report"}, d.Name()):
			return filepath.SkipDir
		case !d.IsDir():
			_, _ = os.Stat(path)
		}
		return nil
	})
	for _, v := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG"} {
		_ = os.Getenv(v)
	}
}
