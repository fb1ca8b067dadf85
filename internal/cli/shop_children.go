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
	"strings"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/internal/servicesecret"
	"github.com/kitshop/kitshop/internal/sqldb"
)

// shopChildren lays the services out in start order: all four, and those
// to run (only, when not empty, keeps just those). An address without a
// host (":8081") gets listenHost. wireChildren then gives each its
// arguments, once holdAddrs has bound the addresses of those to run.
func shopChildren(listenHost, userAddr, productAddr, orderAddr, gatewayAddr string, only []string) (all, children []*shopChild, err error) {
	all = []*shopChild{{name: "usersvc", addr: userAddr}, {name: "productsvc", addr: productAddr},
		{name: "ordersvc", addr: orderAddr}, {name: "gateway", addr: gatewayAddr}}
	for _, c := range all {
		if host, port, err := net.SplitHostPort(c.addr); err == nil && host == "" {
			c.addr = net.JoinHostPort(listenHost, port)
		}
		if _, err := addrURL(c.addr); err != nil {
			return nil, nil, fmt.Errorf("%s address: %w", c.name, err)
		}
		if len(only) == 0 || slices.Contains(only, c.name) {
			children = append(children, c)
		}
	}
	return all, children, nil
}

// wireChildren gives each of all (in shopChildren's order) its URL and
// arguments: its address, its database under dataDir, and the URLs of the
// services it calls.
func wireChildren(dataDir string, all []*shopChild) {
	url := map[string]string{}
	for _, c := range all {
		c.url, _ = addrURL(c.addr)
		url[c.name] = c.url
		c.args = []string{c.name, "-http-addr", c.addr}
		if c.name != "gateway" {
			c.args = append(c.args, "-database-url", "sqlite:"+filepath.Join(dataDir, c.name+".db"))
		}
	}
	all[1].args = append(all[1].args, "-user-url", url["usersvc"])
	all[2].args = append(all[2].args, "-user-url", url["usersvc"], "-product-url", url["productsvc"])
	all[3].args = append(all[3].args, "-user-url", url["usersvc"], "-product-url", url["productsvc"], "-order-url", url["ordersvc"])
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
			u, err := url.Parse(urls[shopDatabases[c.name]])
			if err != nil {
				return "", nil, err
			}
			if pw, ok := u.User.Password(); ok {
				env = []string{"PGPASSWORD=" + pw}
				u.User = url.User(u.User.Username())
			}
			c.args[i+1] = u.String()
			where = strings.Replace(u.String(), shopDatabases[c.name], "kitshop_*", 1)
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
