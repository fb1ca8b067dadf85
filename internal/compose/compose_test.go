package compose

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCleanEnvDropsComposeVariables(t *testing.T) {
	t.Setenv("CALL_TIMEOUT", "60s")
	t.Setenv("COMPOSE_FILE", "elsewhere.yml")
	t.Setenv("KITSHOP_COMPOSE_TEST_KEEP", "kept")
	env := CleanEnv("CALL_TIMEOUT=300ms")
	for _, kv := range env {
		if kv == "CALL_TIMEOUT=60s" || strings.HasPrefix(kv, "COMPOSE_FILE=") {
			t.Errorf("%s was passed on", kv)
		}
	}
	if !slices.Contains(env, "KITSHOP_COMPOSE_TEST_KEEP=kept") || env[len(env)-1] != "CALL_TIMEOUT=300ms" {
		t.Errorf("env lost the caller's variables or the extra setting: %v", env)
	}
}

func TestFindWithAMissingComposeCommand(t *testing.T) {
	_, err := Find(context.Background(), "kitshop-no-such-compose")
	if !errors.Is(err, ErrNoCompose) && !errors.Is(err, ErrNoEngine) {
		t.Fatalf("err = %v, want ErrNoCompose (or ErrNoEngine where there is no Docker)", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

func TestRunErrorNamesTheCommandAndItsLastLine(t *testing.T) {
	p := Project{Command: []string{"sh", "-c"}, Args: nil}
	out, err := p.Run(context.Background(), "echo first; echo 'the reason' >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "exit status 3: the reason") || !strings.HasPrefix(err.Error(), "sh -c echo first") {
		t.Fatalf("err = %v", err)
	}
	if out != "first\nthe reason\n" {
		t.Errorf("output = %q", out)
	}
	if out, err := p.Run(context.Background(), "echo fine"); err != nil || out != "fine\n" {
		t.Errorf("Run = %q, %v", out, err)
	}
}
