// Package compose runs docker compose commands for one compose project of
// the shop's docker-compose.yml, for the tools and tests that drive its
// containers (cmd/chaos -target compose, the container test). It works
// with docker compose (v2) and Debian's docker-compose (v1).
package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// checkTimeout bounds docker info and the compose version checks.
const checkTimeout = 20 * time.Second

// ErrNoEngine means docker info does not answer: no Docker engine here.
var ErrNoEngine = errors.New("no Docker engine")

// ErrNoCompose means a Docker engine without docker compose or
// docker-compose.
var ErrNoCompose = errors.New("a Docker engine but no docker compose nor docker-compose")

// Variables are the variables docker-compose.yml and the compose tool
// read. CleanEnv leaves them out, so that only what the caller sets
// applies, never a user's stray setting.
func Variables() []string {
	return []string{
		"KITSHOP_IMAGE", "SERVICE_SECRET", "GATEWAY_BIND", "GATEWAY_PORT", "ORDERSVC_PORT", "GATEWAY_REQUEST_TIMEOUT",
		"LOG_FORMAT", "REQUEST_TIMEOUT", "CALL_TIMEOUT", "RETRY_MAX_ATTEMPTS", "RESERVATION_TTL",
		"BREAKER_OPEN_TIMEOUT", "BREAKER_CONSECUTIVE_FAILURES", "BREAKER_FAILURE_RATIO",
		"BREAKER_MIN_REQUESTS", "BREAKER_HALF_OPEN_PROBES", "RECOVERY_INTERVAL", "USER_CACHE_SIZE",
		"COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES",
	}
}

// CleanEnv is this process's environment without Variables, followed by
// extra (KEY=VALUE).
func CleanEnv(extra ...string) []string {
	vars := Variables()
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !slices.Contains(vars, name) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Find checks that a Docker engine answers and returns the compose
// command to use: override's words if set (e.g. "docker-compose"), else
// docker compose, else docker-compose. Its errors wrap ErrNoEngine or
// ErrNoCompose and say why in one line.
func Find(ctx context.Context, override string) ([]string, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, fmt.Errorf("%w (no docker command)", ErrNoEngine)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w (docker info: %s)", ErrNoEngine, lastLine(string(out), err))
	}
	candidates := [][]string{{"docker", "compose"}, {"docker-compose"}}
	if override != "" {
		candidates = [][]string{strings.Fields(override)}
	}
	for _, c := range candidates {
		if err := exec.CommandContext(ctx, c[0], append(c[1:], "version")...).Run(); err == nil {
			return c, nil
		}
	}
	return nil, ErrNoCompose
}

// Project is one compose project: the compose command, the global
// arguments that name it (--env-file, -p, -f ...) and the environment its
// commands run with.
type Project struct {
	Command []string
	Args    []string
	Env     []string
}

// Run runs one compose command for the project (up -d, kill usersvc, ...)
// and returns its output, stdout and stderr together. When it fails, or
// ctx ends, the error names the command and carries the output's last
// line.
func (p *Project) Run(ctx context.Context, args ...string) (string, error) {
	all := append(append(append([]string{}, p.Command[1:]...), p.Args...), args...)
	cmd := exec.CommandContext(ctx, p.Command[0], all...)
	cmd.Env = p.Env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		err = ctxErr
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", strings.Join(p.Command, " "), strings.Join(args, " "), err, lastLine(out.String(), err))
	}
	return out.String(), nil
}

// Docker runs one docker command (kill, pause, inspect ...), bounded by
// ctx, and returns its trimmed output; when it fails the error carries the
// output's last line.
func Docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %s", strings.Join(args, " "), lastLine(string(out), err))
	}
	return strings.TrimSpace(string(out)), nil
}

// lastLine is the last non-empty line of out, or err's text.
func lastLine(out string, err error) string {
	out = strings.TrimSpace(out)
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	if out == "" {
		return err.Error()
	}
	return out
}
