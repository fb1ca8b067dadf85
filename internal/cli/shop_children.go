package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/internal/servicesecret"
	"github.com/kitshop/kitshop/internal/sqldb"
)

// shopChildren lays the services out in start order: replicas instances
// each of usersvc, productsvc and ordersvc, then the gateway; and those to
// run (only, when not empty, keeps the instances of just those services).
// An address without a host (":8081") gets listenHost. With replicas > 1
// the instances are named usersvc-1, usersvc-2, ... and the i-th (from 0)
// listens on the service's port + 10*i (8081, 8091, 8101; port 0 stays 0).
// wireChildren then gives each its arguments, once holdAddrs has bound the
// addresses of those to run.
func shopChildren(listenHost, userAddr, productAddr, orderAddr, gatewayAddr string, replicas int, only []string) (all, children []*shopChild, err error) {
	if replicas < 1 || replicas > maxShopReplicas {
		return nil, nil, fmt.Errorf("-replicas must be from 1 to %d, got %d", maxShopReplicas, replicas)
	}
	for _, svc := range []struct{ name, addr string }{
		{"usersvc", userAddr}, {"productsvc", productAddr}, {"ordersvc", orderAddr}, {"gateway", gatewayAddr},
	} {
		host, port, err := net.SplitHostPort(svc.addr)
		if err != nil {
			return nil, nil, fmt.Errorf("%s address: %q: want [host]:port", svc.name, svc.addr)
		}
		if host == "" {
			host = listenHost
		}
		base, err := strconv.Atoi(port)
		if err != nil || base < 0 || base > 65535 {
			return nil, nil, fmt.Errorf("%s address: %q: bad port", svc.name, svc.addr)
		}
		n := replicas
		if svc.name == "gateway" {
			n = 1
		}
		for i := range n {
			c := &shopChild{service: svc.name, name: svc.name}
			if n > 1 {
				c.name = fmt.Sprintf("%s-%d", svc.name, i+1)
			}
			p := base
			if base != 0 {
				if p = base + 10*i; p > 65535 {
					return nil, nil, fmt.Errorf("%s: port %d is out of range", c.name, p)
				}
			}
			c.addr = net.JoinHostPort(host, strconv.Itoa(p))
			all = append(all, c)
			if len(only) == 0 || slices.Contains(only, c.service) {
				children = append(children, c)
			}
		}
	}
	return all, children, nil
}

// maxShopReplicas bounds -replicas: ten instances of a service on one
// machine show every behaviour more would.
const maxShopReplicas = 10

// wireChildren gives each of all (in shopChildren's order) its URL and
// arguments: its address, its database under dataDir (one per service,
// shared by its instances), and the URLs of every instance of the services
// it calls.
func wireChildren(dataDir string, all []*shopChild) {
	urls := map[string][]string{}
	for _, c := range all {
		c.url, _ = addrURL(c.addr)
		urls[c.service] = append(urls[c.service], c.url)
	}
	list := func(service string) string { return strings.Join(urls[service], ",") }
	for _, c := range all {
		c.args = []string{c.service, "-http-addr", c.addr}
		if c.service != "gateway" {
			c.args = append(c.args, "-database-url", "sqlite:"+filepath.Join(dataDir, c.service+".db"))
		}
		switch c.service {
		case "productsvc":
			c.args = append(c.args, "-user-url", list("usersvc"))
		case "ordersvc":
			c.args = append(c.args, "-user-url", list("usersvc"), "-product-url", list("productsvc"))
		case "gateway":
			c.args = append(c.args, "-user-url", list("usersvc"), "-product-url", list("productsvc"), "-order-url", list("ordersvc"))
		}
	}
}

// holdAddrs binds every child's address, all held at once, so that a
// taken one (or two services sharing one) fails the shop before any child
// starts; a port 0 becomes the port the system chose. Each child serves on
// its procs.Socket (see listen). On failure it releases what it bound.
func holdAddrs(children []*shopChild) error {
	for _, c := range children {
		sock, err := procs.NewSocket(c.addr)
		if err != nil {
			releaseAddrs(children)
			return fmt.Errorf("%s cannot listen on %s (is the shop already running?): %w", c.name, c.addr, errors.Unwrap(err))
		}
		c.socket, c.addr = sock, sock.Addr()
	}
	return nil
}

// releaseAddrs closes the sockets no child has taken over.
func releaseAddrs(children []*shopChild) {
	for _, c := range children {
		if c.socket != nil {
			_ = c.socket.Close()
		}
	}
}

// usePostgres points the children at their databases on the PostgreSQL
// server, creating those missing. The password travels to the children in
// PGPASSWORD, not on their command lines, where ps would show it. It
// returns where the data is, for the start message, and the children's
// extra environment.
func usePostgres(ctx context.Context, children []*shopChild, server string) (where string, env []string, err error) {
	where = "PostgreSQL"
	urls, err := sqldb.CreatePostgresDatabases(ctx, server, slices.Sorted(maps.Values(shopDatabases))...)
	if err != nil {
		return "", nil, err
	}
	for _, c := range children {
		if i := slices.Index(c.args, "-database-url"); i >= 0 {
			u, err := url.Parse(urls[shopDatabases[c.service]])
			if err != nil {
				return "", nil, err
			}
			if pw, ok := u.User.Password(); ok {
				env = []string{"PGPASSWORD=" + pw}
				u.User = url.User(u.User.Username())
			}
			c.args[i+1] = u.String()
			where = strings.Replace(u.String(), shopDatabases[c.service], "kitshop_*", 1)
		}
	}
	return where, env, nil
}

// shopSecret reads the data directory's service secret, making it first
// if there is none.
func shopSecret(dataDir string) (string, error) {
	return dataDirSecret(filepath.Join(dataDir, shopSecretFile), "service secret", MinServiceSecretBytes, servicesecret.New)
}

// shopAdminPassword reads the password of the shop's admin from the data
// directory, making one at random first if there is none.
func shopAdminPassword(dataDir string) (string, error) {
	return dataDirSecret(filepath.Join(dataDir, shopAdminPasswordFile), "admin password", 8,
		func() string { return servicesecret.New()[:24] })
}

// dataDirSecret reads the secret kept at path, making it with make first
// (mode 0600) if there is none; a secret shorter than minLen is refused.
func dataDirSecret(path, what string, minLen int, make func() string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		secret := strings.TrimSpace(string(b))
		if len(secret) < minLen {
			return "", fmt.Errorf("%s: too short (%d bytes, want at least %d); delete it to make a new one", path, len(secret), minLen)
		}
		return secret, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	secret := make()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return secret, nil
}

// addrURL turns a listen address into the URL to reach it on this machine.
func addrURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q: want [host]:port", addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func names(cs []*shopChild) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.name)
	}
	return strings.Join(out, ", ")
}
