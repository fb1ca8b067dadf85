package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shopctlAs runs the shopctl binary as one person: a config directory of
// their own (where the token is kept), the gateway's URL, and stdin for
// the password.
type shopctlAs struct {
	t      *testing.T
	url    string
	config string
}

func newShopctl(t *testing.T, url string) *shopctlAs {
	return &shopctlAs{t: t, url: url, config: t.TempDir()}
}

// run runs shopctl with args and stdin, and returns its exit status,
// stdout and stderr.
func (s *shopctlAs) run(stdin string, args ...string) (int, string, string) {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "shopctl"), append([]string{"--url", s.url}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+s.config, "SHOPCTL_URL=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// ok runs shopctl and fails the test unless it exits 0.
func (s *shopctlAs) ok(stdin string, args ...string) string {
	s.t.Helper()
	code, out, errOut := s.run(stdin, args...)
	if code != 0 {
		s.t.Fatalf("shopctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs shopctl and checks its exit status and one-line error.
func (s *shopctlAs) fails(want int, wantErr string, args ...string) {
	s.t.Helper()
	code, out, errOut := s.run("", args...)
	if code != want || !strings.Contains(errOut, wantErr) {
		s.t.Fatalf("shopctl %s: exit %d, stderr %q (stdout %q); want exit %d and %q", strings.Join(args, " "), code, errOut, out, want, wantErr)
	}
}

// A user of shopctl against the real shop: sign up, sign in (the token kept
// 0600), the admin adds a product, Ada orders (a retry with the printed
// key is the same order), lists her orders, and cannot see Grace's; the
// exit statuses tell usage errors, refusals and failures apart.
func TestShopctlEndToEnd(t *testing.T) {
	s := startStack(t, nil)
	ada, grace := newShopctl(t, s.gateway), newShopctl(t, s.gateway)

	if out := ada.ok("analytical-engine\n", "users", "create", "--name", "Ada Lovelace", "--email", "ada@example.com"); !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "customer") {
		t.Fatalf("users create printed %q", out)
	}
	ada.ok("analytical-engine\n", "login", "--email", "ada@example.com")
	if fi, err := os.Stat(filepath.Join(ada.config, "shopctl", "token.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want mode 0600", fi, err)
	}
	grace.ok("cobol-compiler\n", "users", "create", "--name", "Grace Hopper", "--email", "grace@example.com")
	grace.ok("cobol-compiler\n", "login", "--email", "grace@example.com")

	admin := newShopctl(t, s.gateway)
	password, err := os.ReadFile(filepath.Join(s.data, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	admin.ok(string(password), "login", "--email", "admin@kitshop.local")
	var p struct {
		ID    string `json:"id"`
		Stock int64  `json:"stock"`
	}
	if err := json.Unmarshal([]byte(admin.ok("", "-o", "json", "products", "create", "--name", "Difference engine", "--price-cents", "125000", "--stock", "10")), &p); err != nil || p.ID == "" {
		t.Fatalf("products create: %+v %v", p, err)
	}
	ada.fails(3, "forbidden", "products", "create", "--name", "Mine", "--price-cents", "1", "--stock", "1")

	code, out, errOut := ada.run("", "-o", "json", "orders", "create", "--item", p.ID+":2")
	var first struct {
		ID, Status string
		TotalCents int64 `json:"total_cents"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &first) != nil || first.Status != "confirmed" || first.TotalCents != 250000 {
		t.Fatalf("orders create: exit %d %s %s", code, out, errOut)
	}
	key := strings.Fields(strings.TrimPrefix(errOut, "idempotency key "))[0]
	var again struct{ ID string }
	if err := json.Unmarshal([]byte(ada.ok("", "-o", "json", "orders", "create", "--item", p.ID+":2", "--idempotency-key", key)), &again); err != nil || again.ID != first.ID {
		t.Fatalf("the retry with key %s made order %s, want %s (%v)", key, again.ID, first.ID, err)
	}
	if out := ada.ok("", "orders", "list"); !strings.Contains(out, first.ID) || strings.Count(out, "ord_") != 1 {
		t.Fatalf("Ada's orders:\n%s", out)
	}
	grace.fails(3, "not_found", "orders", "get", first.ID)
	if out := grace.ok("", "orders", "list"); strings.Contains(out, "ord_") {
		t.Fatalf("Grace's orders show Ada's:\n%s", out)
	}
	if out := ada.ok("", "products", "get", p.ID); !strings.Contains(out, "1250.00") || !strings.Contains(out, "  8") {
		t.Fatalf("products get:\n%s", out)
	}
	if out := ada.ok("", "status", "--order-url", s.orders); !strings.Contains(out, "ready") || !strings.Contains(out, "closed") {
		t.Fatalf("status:\n%s", out)
	}

	newShopctl(t, s.gateway).fails(3, "unauthenticated", "orders", "list")
	ada.fails(2, "at least one --item", "orders", "create")
	ada.fails(2, "unknown command", "refund")
	newShopctl(t, "http://127.0.0.1:1").fails(4, "connection refused", "products", "list")
	ada.ok("", "logout")
	ada.fails(3, "unauthenticated", "orders", "list")
}
