package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// buildShop builds cmd/shop into a temporary directory: the shop's children
// are its own executable, so tests run the real binary as their program.
func buildShop(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts real processes")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build cmd/shop")
	}
	bin := filepath.Join(t.TempDir(), "shop")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/kitshop/kitshop/cmd/shop")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/shop: %v\n%s", err, out)
	}
	return bin
}

// shopArgs has the shop's services listen on loopback ports the system
// picks (port 0) and keep their data in the test's directory; shopURL
// reads where one of them ended up from the shop's output.
func shopArgs(t *testing.T) []string {
	return []string{
		"-data-dir", filepath.Join(t.TempDir(), "data"),
		"-user-addr", "127.0.0.1:0", "-product-addr", "127.0.0.1:0",
		"-order-addr", "127.0.0.1:0", "-gateway-addr", "127.0.0.1:0",
	}
}

// shopAdmin signs in, through the gateway at gw, as the admin the shop
// made, with the password it keeps where its output says, and returns the
// headers of a JSON request with the admin's token.
func shopAdmin(t *testing.T, out fmt.Stringer, gw string) map[string]string {
	t.Helper()
	m := regexp.MustCompile(`shop \| admin: admin@kitshop\.local, password in (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the shop did not say where the admin's password is:\n%s", out)
	}
	password, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	login, _ := json.Marshal(map[string]string{"email": ShopAdminEmail, "password": strings.TrimSpace(string(password))})
	r := do(t, "POST", gw+"/v1/sessions", string(login), map[string]string{"Content-Type": "application/json"})
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &sess); err != nil || r.status != 201 {
		t.Fatalf("admin sign-in: %d %s", r.status, r.body)
	}
	return map[string]string{"Authorization": "Bearer " + sess.AccessToken, "Content-Type": "application/json"}
}

// shopURL is the URL at which the shop said service is ready.
func shopURL(t *testing.T, out fmt.Stringer, service string) string {
	t.Helper()
	m := regexp.MustCompile(`shop \| ` + service + ` +ready at (http://\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the shop did not say where %s is ready:\n%s", service, out)
	}
	return m[1]
}

// waitOutput polls out until it matches re, failing after bound.
func waitOutput(t *testing.T, out fmt.Stringer, re string, bound time.Duration) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(bound)
	for {
		if m := rx.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("output did not show %q within %s:\n%s", re, bound, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processGone tells whether pid has exited (an unreaped zombie counts).
func processGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

func shopPIDs(t *testing.T, out string) map[string]int {
	t.Helper()
	pids := map[string]int{}
	for _, m := range regexp.MustCompile(`shop \| ([\w-]+) +ready at \S+ \(pid (\d+)\)`).FindAllStringSubmatch(out, -1) {
		pids[m[1]], _ = strconv.Atoi(m[2])
	}
	return pids
}

// runShopInProcess runs runShop with only the given services, the built
// binary as the children's program, and a signal channel of its own.
func runShopInProcess(t *testing.T, only ...string) (cancel func(), sigs chan os.Signal, out *lockedWriter, errc chan error) {
	t.Helper()
	return runShopWithArgs(t, shopArgs(t), only...)
}

// runShopWithArgs is runShopInProcess with the shop's command line.
func runShopWithArgs(t *testing.T, args []string, only ...string) (cancel func(), sigs chan os.Signal, out *lockedWriter, errc chan error) {
	t.Helper()
	bin := buildShop(t)
	ctx, cancel := context.WithCancel(context.Background())
	sigs = make(chan os.Signal, 4)
	out = &lockedWriter{}
	errc = make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		errc <- runShop(ctx, args, mapEnv(nil), out, shopOptions{exe: bin, only: only, signals: sigs})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			t.Errorf("shop still running after the test")
		}
	})
	return cancel, sigs, out, errc
}

// The user service and the gateway are enough to see the shop start,
// serve through the gateway, and stop cleanly.
func TestShopStartsServesAndStops(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cancel, _, out, errc := runShopInProcess(t, "usersvc", "gateway")
	waitOutput(t, out, `Ctrl-C stops the shop; kill -HUP \d+ restarts any service that died`, 30*time.Second)
	gw := shopURL(t, out, "gateway")
	if !strings.Contains(out.String(), "shop | all services ready; try: curl -s -X POST "+gw+"/v1/users") {
		t.Errorf("no curl hint:\n%s", out)
	}
	if r := do(t, "GET", gw+"/healthz", "", nil); r.status != 200 {
		t.Fatalf("gateway /healthz: %d %s", r.status, r.body)
	}
	r := do(t, "POST", gw+"/v1/users", `{"name":"Ada","email":"ada@example.com","password":"correct horse"}`,
		map[string]string{"Content-Type": "application/json", "X-Request-ID": "shop-test-1"})
	if r.status != 201 {
		t.Fatalf("POST /v1/users through the gateway: %d %s", r.status, r.body)
	}
	// The same request ID in both services' access logs.
	waitOutput(t, out, `usersvc \| .*request_id=shop-test-1 .*status=201`, 5*time.Second)
	waitOutput(t, out, `gateway \| .*request_id=shop-test-1 .*status=201`, 5*time.Second)
	if r := do(t, "GET", gw+"/v1/products", "", nil); r.status != 503 || decodeWireError(t, r).Error.Dependency != "product" {
		t.Errorf("GET /v1/products with no product service: %d %s", r.status, r.body)
	}
	// The shop's admin: its password made at random, kept 0600 where the
	// shop says, and good for a sign-in as admin through the gateway.
	m := waitOutput(t, out, `shop \| admin: admin@kitshop\.local, password in (\S+)`, time.Second)
	if fi, err := os.Stat(m[1]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin password file %s: %v, %v", m[1], fi, err)
	}
	password, _ := os.ReadFile(m[1])
	login, _ := json.Marshal(map[string]string{"email": ShopAdminEmail, "password": strings.TrimSpace(string(password))})
	r = do(t, "POST", gw+"/v1/sessions", string(login), map[string]string{"Content-Type": "application/json"})
	var sess struct {
		AccessToken string                `json:"access_token"`
		User        struct{ Role string } `json:"user"`
	}
	if err := json.Unmarshal(r.body, &sess); err != nil || r.status != 201 || sess.AccessToken == "" || sess.User.Role != "admin" {
		t.Fatalf("admin sign-in through the gateway: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", gw+"/.well-known/jwks.json", "", nil); r.status != 200 || !strings.Contains(string(r.body), `"kty":"OKP"`) {
		t.Fatalf("JWKS through the gateway: %d %s", r.status, r.body)
	}
	pids := shopPIDs(t, out.String())
	if len(pids) != 2 {
		t.Fatalf("want two children, got %v", pids)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("shop stopped with %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shop did not stop")
	}
	for name, pid := range pids {
		if !processGone(pid) {
			t.Errorf("%s (pid %d) still running after the shop returned", name, pid)
		}
	}
	s := out.String()
	for _, want := range []string{"shop | stopping gateway, usersvc (SIGTERM, then SIGKILL after 12s; Ctrl-C again to kill now)\n", "shop | all services stopped\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.LastIndex(s, "gateway | ") > strings.LastIndex(s, "usersvc | ") {
		t.Errorf("gateway's last line after usersvc's: gateway should stop first\n%s", s)
	}
}

func TestShopReportsADeadChildAndRestartsItOnSIGHUP(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cancel, sigs, out, errc := runShopInProcess(t, "usersvc", "gateway")
	waitOutput(t, out, `Ctrl-C stops the shop`, 30*time.Second)
	pid := shopPIDs(t, out.String())["usersvc"]
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, regexp.QuoteMeta(fmt.Sprintf("shop | usersvc (pid %d) exited: signal: killed; the other services keep running; kill -HUP %d restarts it", pid, os.Getpid())), 10*time.Second)
	gw := shopURL(t, out, "gateway")
	if r := do(t, "GET", gw+"/v1/users", "", nil); r.status != 503 || decodeWireError(t, r).Error.Dependency != "user" {
		t.Errorf("GET /v1/users with usersvc dead: %d %s", r.status, r.body)
	}
	sigs <- syscall.SIGHUP
	m := waitOutput(t, out, `shop \| usersvc is back at http://\S+ \(pid (\d+)\)`, 20*time.Second)
	if m[1] == strconv.Itoa(pid) {
		t.Errorf("restarted usersvc has the old pid")
	}
	if r := do(t, "GET", gw+"/v1/users", "", shopAdmin(t, out, gw)); r.status != 200 {
		t.Errorf("GET /v1/users after the restart: %d %s", r.status, r.body)
	}
	sigs <- syscall.SIGHUP
	waitOutput(t, out, `shop \| SIGHUP: every service is running; nothing to restart`, 10*time.Second)

	sigs <- syscall.SIGTERM
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("shop stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shop did not stop on SIGTERM")
	}
	cancel()
}

func TestShopRefusesATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	args := append(shopArgs(t), "-gateway-addr", taken.Addr().String())
	out := &lockedWriter{}
	err = runShop(context.Background(), args, mapEnv(nil), out, shopOptions{exe: "/nonexistent/never-started", signals: make(chan os.Signal, 1)})
	want := "gateway cannot listen on " + taken.Addr().String()
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "address already in use") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line with %q", err, want)
	}
	if ExitCode(err) == 0 || out.String() != "" {
		t.Fatalf("exit code %d, output %q", ExitCode(err), out)
	}
}

func TestShopRejectsBadAddresses(t *testing.T) {
	err := RunShop(context.Background(), []string{"-user-addr", "8081"}, mapEnv(nil), &lockedWriter{})
	if err == nil || err.Error() != `usersvc address: "8081": want [host]:port` {
		t.Fatalf("err = %v", err)
	}
}

func TestShopRunsOneServiceInProcess(t *testing.T) {
	addr := deadAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	out := &lockedWriter{}
	go func() {
		errc <- RunShop(ctx, []string{"gateway", "-http-addr", addr}, mapEnv(nil), out)
	}()
	waitOutput(t, out, `msg=listening`, 10*time.Second)
	if r := do(t, "GET", "http://"+addr+"/healthz", "", nil); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	err := RunShop(context.Background(), []string{"cartsvc"}, mapEnv(nil), out)
	if err == nil || !strings.HasPrefix(err.Error(), `cartsvc: unknown service "cartsvc"`) {
		t.Fatalf("unknown subcommand: %v", err)
	}
	err = RunShop(context.Background(), []string{"gateway", "-request-timeout", "0s"}, mapEnv(nil), out)
	if err == nil || !strings.HasPrefix(err.Error(), "gateway: -request-timeout") {
		t.Fatalf("bad gateway flag: %v", err)
	}
}

// The whole shop as a user runs it: the binary, all four services, SIGTERM.
// It needs every service built; while one is still a placeholder that
// refuses to start, the test says so and skips.
func TestShopBinaryRunsTheWholeShop(t *testing.T) {
	bin := buildShop(t)
	out := &lockedWriter{}
	cmd := exec.Command(bin, shopArgs(t)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })

	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "shop | Ctrl-C stops the shop") {
		select {
		case err := <-exited:
			exited <- err
			if strings.Contains(out.String(), "not built yet") {
				t.Skipf("a service is still a placeholder:\n%s", out)
			}
			t.Fatalf("shop exited while starting (%v):\n%s", err, out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("shop not ready:\n%s", out)
		}
	}
	gw := shopURL(t, out, "gateway")
	admin := shopAdmin(t, out, gw)
	for _, path := range []string{"/healthz", "/readyz", "/v1/users", "/v1/products", "/v1/orders"} {
		if r := do(t, "GET", gw+path, "", admin); r.status != 200 {
			t.Errorf("GET %s through the gateway: %d %s", path, r.status, r.body)
		}
	}
	pids := shopPIDs(t, out.String())
	if len(pids) != 4 {
		t.Fatalf("want four children, got %v", pids)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("shop exited with %v after SIGTERM:\n%s", err, out)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("shop did not stop on SIGTERM:\n%s", out)
	}
	for name, pid := range pids {
		if !processGone(pid) {
			t.Errorf("%s (pid %d) outlived the shop", name, pid)
		}
	}
	if !strings.Contains(out.String(), "shop | all services stopped\n") {
		t.Errorf("no clean stop in output:\n%s", out)
	}
}

// The shop binds its children to loopback unless told otherwise: an
// address without a host gets -listen-host's, which is 127.0.0.1 by
// default. A port held on loopback shows which address the shop tried.
func TestShopListensOnLoopbackByDefault(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	for _, tc := range []struct {
		extra []string
		want  string
	}{
		{nil, "usersvc cannot listen on 127.0.0.1:" + port},
		{[]string{"-listen-host", "0.0.0.0"}, "usersvc cannot listen on 0.0.0.0:" + port},
	} {
		args := append(append(shopArgs(t), "-user-addr", ":"+port), tc.extra...)
		err := runShop(context.Background(), args, mapEnv(nil), &lockedWriter{}, shopOptions{exe: "/nonexistent/never-started", signals: make(chan os.Signal, 1)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.extra, err, tc.want)
		}
	}
	all, _, err := shopChildren("127.0.0.1", ":8081", ":8082", "[::1]:8083", ":8080", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	wireChildren(t.TempDir(), all)
	for _, c := range all {
		addr := c.args[slices.Index(c.args, "-http-addr")+1]
		if want := map[string]string{"usersvc": "127.0.0.1:8081", "productsvc": "127.0.0.1:8082", "ordersvc": "[::1]:8083", "gateway": "127.0.0.1:8080"}[c.name]; addr != want {
			t.Errorf("%s listens on %s, want %s", c.name, addr, want)
		}
	}
}
