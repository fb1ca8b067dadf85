package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kitshop/kitshop/internal/pgtest"
)

// shop -postgres runs every service on its own database of one PostgreSQL
// server, creating the databases the first time and reusing them after.
func TestShopOnPostgres(t *testing.T) {
	// The throwaway server only: the test creates and drops the shop's
	// fixed database names, which on a shared server may be someone's.
	srv := pgtest.Local(t)
	bin := buildShop(t)
	server := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/?sslmode=disable", srv.Port())
	dropShopDatabases(t, server) // fresh ones, and none left after
	t.Cleanup(func() { dropShopDatabases(t, server) })

	args := shopArgs(t) // one data directory: the admin's password is kept there
	run := func() (gateway string, admin map[string]string, stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		out := &lockedWriter{}
		errc := make(chan error, 1)
		go func() {
			errc <- runShop(ctx, append(args, "-postgres", server), mapEnv(nil), out, shopOptions{exe: bin, signals: make(chan os.Signal, 1)})
		}()
		waitOutput(t, out, `Ctrl-C stops the shop`, 60*time.Second)
		if !strings.Contains(out.String(), "(data in postgres://postgres@127.0.0.1:") {
			t.Errorf("the shop does not say where the data is:\n%s", out)
		}
		gw := shopURL(t, out, "gateway")
		return gw, shopAdmin(t, out, gw), func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("shop stopped with %v\n%s", err, out)
				}
			case <-time.After(40 * time.Second):
				t.Error("shop did not stop")
			}
		}
	}

	gw, admin, stop := run()
	asJSON := admin // the admin adds the product and orders for Ada
	u := do(t, "POST", gw+"/v1/users", `{"name":"Ada","email":"ada@example.com","password":"correct horse"}`, asJSON)
	p := do(t, "POST", gw+"/v1/products", `{"name":"Widget","price_cents":250,"stock":10}`, asJSON)
	if u.status != 201 || p.status != 201 {
		stop()
		t.Fatalf("create user %d %s, product %d %s", u.status, u.body, p.status, p.body)
	}
	userID, productID := idOf(t, u.body), idOf(t, p.body)
	o := do(t, "POST", gw+"/v1/orders", fmt.Sprintf(`{"user_id":%q,"items":[{"product_id":%q,"quantity":3}]}`, userID, productID), asJSON)
	stop()
	if o.status != 201 {
		t.Fatalf("create order: %d %s", o.status, o.body)
	}
	orderID := idOf(t, o.body)
	// One row each: the user, the product, the order (the shop's admin is
	// not a customer).
	for db, table := range map[string]string{"kitshop_users": "users WHERE role = 'customer'", "kitshop_products": "products", "kitshop_orders": "orders"} {
		conn, err := pgx.Connect(context.Background(), strings.Replace(server, "/?", "/"+db+"?", 1))
		if err != nil {
			t.Fatalf("database %s: %v", db, err)
		}
		var n int
		err = conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n)
		conn.Close(context.Background())
		if err != nil || n != 1 {
			t.Errorf("%s.%s has %d rows (%v), want 1", db, table, n, err)
		}
	}

	// A second run finds its databases and their data.
	gw, admin, stop = run()
	defer stop()
	if r := do(t, "GET", gw+"/v1/orders/"+orderID, "", admin); r.status != 200 {
		t.Fatalf("the order after a restart of the shop: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", gw+"/v1/products/"+productID, "", nil); r.status != 200 || !strings.Contains(string(r.body), `"stock":7`) {
		t.Fatalf("the product after a restart of the shop: %d %s", r.status, r.body)
	}
}

func idOf(t *testing.T, body []byte) string {
	t.Helper()
	var v struct{ ID string }
	if err := json.Unmarshal(body, &v); err != nil || v.ID == "" {
		t.Fatalf("no id in %s", body)
	}
	return v.ID
}

// A service whose DATABASE_URL is wrong exits non-zero at start with a
// one-line error, within the connect timeout: it never hangs, and never
// runs unready forever. So does the shop with a wrong -postgres.
func TestWrongPostgresURLExitsAtStart(t *testing.T) {
	bin := buildShop(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, tc := range []struct {
		name   string
		args   []string
		within time.Duration
	}{
		{"refused", []string{"productsvc", "-database-url", "postgres://kit:hunter2@127.0.0.1:1/shop"}, 3 * time.Second},
		{"silent server", []string{"usersvc", "-database-url", "postgres://kit:hunter2@" + silent.Addr().String() + "/shop?connect_timeout=1"}, 4 * time.Second},
		{"bad URL", []string{"ordersvc", "-database-url", "postgres://kit:hunter2@127.0.0.1:1/shop?pool_max_conns=-1"}, 3 * time.Second},
		{"shop", []string{"-postgres", "postgres://kit:hunter2@127.0.0.1:1/"}, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := shopArgs(t)
			if tc.name != "shop" {
				args = []string{"-http-addr", deadAddr(t)}
			}
			cmd := exec.Command(bin, append(tc.args, args...)...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
			defer timer.Stop()
			err := cmd.Wait()
			took := time.Since(start)
			msg := strings.TrimSpace(stderr.String())
			if err == nil || cmd.ProcessState.ExitCode() <= 0 {
				t.Fatalf("exit %v, want a non-zero status; stderr %q", err, msg)
			}
			if took > tc.within {
				t.Errorf("exited after %s, want within %s", took, tc.within)
			}
			if strings.Count(msg, "\n") != 0 || msg == "" {
				t.Errorf("stderr is not one line: %q", msg)
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("stderr leaks the password: %q", msg)
			}
			t.Logf("after %s: %s", took.Round(time.Millisecond), msg)
		})
	}
}

// dropShopDatabases drops the databases of shop -postgres on server.
func dropShopDatabases(tb testing.TB, server string) {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), server)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, db := range shopDatabases {
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			tb.Fatal(err)
		}
	}
}
