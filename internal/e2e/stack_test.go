// Package e2e runs the real binaries on loopback and drives them as a user
// would: the README's walk-through, and a crash of ordersvc in the middle
// of an order.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/internal/servicesecret"
	"github.com/kitshop/kitshop/internal/testkit"
)

// binDir holds the binaries built once for all tests.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "kitshop-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("go", "build", "-o", dir, "../../cmd/usersvc", "../../cmd/productsvc", "../../cmd/ordersvc", "../../cmd/gateway", "../../cmd/shopctl")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		return 1
	}
	binDir = dir
	return m.Run()
}

// stack is the four services running as separate processes.
type stack struct {
	t                       *testing.T
	users, products, orders string // base URLs
	gateway                 string
	procs                   map[string]*procs.Process
	log                     *testkit.LogSink
	// data holds the databases and admin-password, as the shop's ./data.
	data string
}

// signIn signs in at usersvc and returns the headers of a request with the
// access token.
func (s *stack) signIn(email, password string) map[string]string {
	s.t.Helper()
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	if code := call(s.t, "POST", s.users+"/v1/sessions", map[string]string{"email": email, "password": password}, nil, &sess); code != 201 {
		s.t.Fatalf("sign-in as %s: %d", email, code)
	}
	return map[string]string{"Authorization": "Bearer " + sess.AccessToken}
}

// admin signs in as the stack's admin.
func (s *stack) admin() map[string]string {
	s.t.Helper()
	password, err := os.ReadFile(filepath.Join(s.data, "admin-password"))
	if err != nil {
		s.t.Fatal(err)
	}
	return s.signIn("admin@kitshop.local", strings.TrimSpace(string(password)))
}

// socket binds a loopback port for a service, which serves on it from its
// start (procs.Socket), so no other program can take the port meanwhile.
func socket(t *testing.T) *procs.Socket {
	t.Helper()
	s, err := procs.NewSocket("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// startStack starts usersvc, productsvc, ordersvc and the gateway with
// fresh databases. productURL, when not "", replaces the product service
// URL that ordersvc uses (to put a proxy in between). env adds settings.
func startStack(t *testing.T, productProxy func(target string) string, env ...string) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real processes")
	}
	data := t.TempDir()
	secret := servicesecret.New()
	s := &stack{t: t, procs: map[string]*procs.Process{}, log: &testkit.LogSink{}, data: data}
	// usersvc makes the admin, as the shop has it make admin@kitshop.local,
	// and the password is kept where the shop keeps it.
	adminPassword := servicesecret.New()[:24]
	if err := os.WriteFile(filepath.Join(data, "admin-password"), []byte(adminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sockets := map[string]*procs.Socket{"usersvc": socket(t), "productsvc": socket(t), "ordersvc": socket(t), "gateway": socket(t)}
	addr := map[string]string{}
	for name, s := range sockets {
		addr[name] = s.Addr()
	}
	s.users, s.products, s.orders, s.gateway = "http://"+addr["usersvc"], "http://"+addr["productsvc"], "http://"+addr["ordersvc"], "http://"+addr["gateway"]
	productForOrders := s.products
	if productProxy != nil {
		productForOrders = productProxy(s.products)
	}
	for _, name := range []string{"usersvc", "productsvc", "ordersvc", "gateway"} {
		spec := procs.Spec{
			Name:   name,
			Path:   filepath.Join(binDir, name),
			Env:    append([]string{"HTTP_ADDR=" + addr[name], "DATABASE_URL=sqlite:" + filepath.Join(data, name+".db"), "SERVICE_SECRET=" + secret}, env...),
			Output: s.log,
			Files:  sockets[name].Files,
		}
		switch name {
		case "usersvc":
			spec.Env = append(spec.Env, "ADMIN_EMAIL=admin@kitshop.local", "ADMIN_PASSWORD="+adminPassword)
		case "productsvc":
			spec.Env = append(spec.Env, "USER_SERVICE_URL="+s.users)
		case "ordersvc":
			spec.Env = append(spec.Env, "USER_SERVICE_URL="+s.users, "PRODUCT_SERVICE_URL="+productForOrders)
		case "gateway":
			spec.Env = append(spec.Env, "USER_SERVICE_URL="+s.users, "PRODUCT_SERVICE_URL="+s.products, "ORDER_SERVICE_URL="+s.orders)
		}
		p, err := procs.Start(context.Background(), spec)
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		s.procs[name] = p
		t.Cleanup(func() { _ = p.Terminate(procs.DefaultGrace) })
		s.waitReady(p, "http://"+addr[name])
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service output:\n%s", tail(s.log.String()))
		}
	})
	return s
}

func (s *stack) waitReady(p *procs.Process, base string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx, base); err != nil {
		s.t.Fatalf("%s not ready: %v\n%s", p.Name(), err, tail(s.log.String()))
	}
}

// call sends a JSON request and decodes a JSON answer into out (if not nil).
func call(t *testing.T, method, url string, body any, header map[string]string, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// tail is the end of a long output, for a failure message.
func tail(s string) string {
	if len(s) > 20000 {
		s = "…" + s[len(s)-20000:]
	}
	return strings.TrimSpace(s)
}
