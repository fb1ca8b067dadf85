package cli

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestShopLaysOutReplicas(t *testing.T) {
	all, children, err := shopChildren("127.0.0.1", ":8081", ":8082", ":8083", ":8080", 3, []string{"usersvc", "gateway"})
	if err != nil {
		t.Fatal(err)
	}
	wireChildren(t.TempDir(), all)
	var names []string
	addr := map[string]string{}
	for _, c := range all {
		names = append(names, c.name)
		addr[c.name] = c.addr
	}
	want := []string{"usersvc-1", "usersvc-2", "usersvc-3", "productsvc-1", "productsvc-2", "productsvc-3",
		"ordersvc-1", "ordersvc-2", "ordersvc-3", "gateway"}
	if !slices.Equal(names, want) {
		t.Fatalf("instances %v, want %v", names, want)
	}
	for name, a := range map[string]string{"usersvc-1": "127.0.0.1:8081", "usersvc-3": "127.0.0.1:8101",
		"productsvc-2": "127.0.0.1:8092", "ordersvc-3": "127.0.0.1:8103", "gateway": "127.0.0.1:8080"} {
		if addr[name] != a {
			t.Errorf("%s listens on %s, want %s", name, addr[name], a)
		}
	}
	if len(children) != 4 || children[3].name != "gateway" {
		t.Errorf("only usersvc and gateway: %d children", len(children))
	}
	order := all[7] // ordersvc-2
	users := "http://127.0.0.1:8081,http://127.0.0.1:8091,http://127.0.0.1:8101"
	if i := slices.Index(order.args, "-user-url"); i < 0 || order.args[i+1] != users {
		t.Errorf("ordersvc-2 args %v: want -user-url %s", order.args, users)
	}
	if order.args[0] != "ordersvc" || !slices.Contains(order.args, "-database-url") {
		t.Errorf("ordersvc-2 args %v", order.args)
	}
	if all[0].args[slices.Index(all[0].args, "-database-url")+1] != all[2].args[slices.Index(all[2].args, "-database-url")+1] {
		t.Error("the instances of usersvc do not share one database")
	}
	for _, n := range []int{0, maxShopReplicas + 1} {
		if _, _, err := shopChildren("127.0.0.1", ":8081", ":8082", ":8083", ":8080", n, nil); err == nil {
			t.Errorf("-replicas %d accepted", n)
		}
	}
}

// The promise, as a new user would try it: `shop -replicas 3`, one
// usersvc and one productsvc instance killed while orders keep coming,
// and not one order fails; the stock adds up afterwards.
func TestShopReplicasLoseNoOrderWhenInstancesDie(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // after the shop's own cleanup
	_, _, out, _ := runShopWithArgs(t, append(shopArgs(t), "-replicas", "3"))
	waitOutput(t, out, `Ctrl-C stops the shop`, 60*time.Second)
	pids := shopPIDs(t, out.String())
	if len(pids) != 10 {
		t.Fatalf("want 10 children, got %v", pids)
	}
	gw := shopURL(t, out, "gateway")
	admin := shopAdmin(t, out, gw)
	r := do(t, "POST", gw+"/v1/products", `{"name":"Widget","price_cents":100,"stock":1000}`, admin)
	var product struct {
		ID    string `json:"id"`
		Stock int    `json:"stock"`
	}
	if err := json.Unmarshal(r.body, &product); err != nil || r.status != 201 {
		t.Fatalf("create product: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", gw+"/v1/users", `{"name":"Ada","email":"ada@example.com","password":"correct horse"}`,
		map[string]string{"Content-Type": "application/json"}); r.status != 201 {
		t.Fatalf("sign up: %d %s", r.status, r.body)
	}
	r = do(t, "POST", gw+"/v1/sessions", `{"email":"ada@example.com","password":"correct horse"}`, map[string]string{"Content-Type": "application/json"})
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &sess); err != nil || r.status != 201 {
		t.Fatalf("sign in: %d %s", r.status, r.body)
	}
	ada := map[string]string{"Authorization": "Bearer " + sess.AccessToken, "Content-Type": "application/json"}

	orders, failed := 0, []string{}
	order := func() {
		ada["Idempotency-Key"] = fmt.Sprintf("replica-test-%d", orders+len(failed))
		r := do(t, "POST", gw+"/v1/orders", `{"items":[{"product_id":"`+product.ID+`","quantity":1}]}`, ada)
		if r.status != 201 {
			failed = append(failed, fmt.Sprintf("%d %s", r.status, r.body))
			return
		}
		orders++
	}
	for range 20 {
		order()
	}
	for _, name := range []string{"usersvc-2", "productsvc-3"} {
		if err := syscall.Kill(pids[name], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	killed := time.Now()
	// Orders go on while the shop notices and after: the dead instances'
	// breakers open and the balancer keeps to the two left.
	for n := 0; n < 60 || !regexp.MustCompile(`productsvc-3 \(pid \d+\) exited`).MatchString(out.String()); n++ {
		order()
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("the shop did not report productsvc-3's death:\n%s", out)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d orders failed with instances killed, e.g. %s", len(failed), orders+len(failed), failed[0])
	}
	r = do(t, "GET", gw+"/v1/products/"+product.ID, "", admin)
	if err := json.Unmarshal(r.body, &product); err != nil || product.Stock != 1000-orders {
		t.Fatalf("after %d orders the stock is %d (%s), want %d", orders, product.Stock, r.body, 1000-orders)
	}
}
