package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/internal/sqldb"
)

// startProcesses runs each service as a child process of the runner's
// executable on a free loopback port, each on a fresh database: a SQLite
// file in a temporary directory, or, with cfg.Postgres, a database of its
// own created on that server. Stopping the stack removes the databases.
func (s *stack) startProcesses(ctx context.Context, cfg stackConfig) error {
	var group procs.Group
	// The services outlive a cancelled ctx until close stops them in
	// order; the kernel kills them if the runner dies (Pdeathsig).
	procCtx := context.WithoutCancel(ctx)
	databases, where, dropDatabases, err := processDatabases(ctx, cfg.Postgres)
	if err != nil {
		return err
	}
	s.where = "child processes, " + where
	s.stop = func() error {
		err := group.StopAll(stopGrace)
		group.KillAll() // a no-op for those already gone
		return errors.Join(err, dropDatabases())
	}
	// Each service serves on a socket bound here and handed over
	// (procs.Socket), so no other program can take its port, not even
	// between a kill and the restart.
	ports := cfg.Ports
	if len(ports) != 3 {
		ports = []int{0, 0, 0} // the system picks
	}
	var sockets []*procs.Socket
	for i, port := range ports {
		sock, err := procs.NewSocket(fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return fmt.Errorf("%s cannot %w", []string{"usersvc", "productsvc", "ordersvc"}[i], err)
		}
		defer sock.Close() // a no-op once its service has it
		sockets = append(sockets, sock)
	}
	userAddr, productAddr, orderAddr := sockets[0].Addr(), sockets[1].Addr(), sockets[2].Addr()
	files := map[string]func() ([]*os.File, error){"usersvc": sockets[0].Files, "productsvc": sockets[1].Files, "ordersvc": sockets[2].Files}
	userProxy, err := s.proxies.add("user", userAddr)
	if err != nil {
		return err
	}
	productProxy, err := s.proxies.add("product", productAddr)
	if err != nil {
		return err
	}
	start := func(name, addr string, env ...string) (*service, error) {
		p, err := group.Start(procCtx, procs.Spec{
			Name: name,
			Path: cfg.Executable,
			Args: []string{name, "-http-addr", addr, "-database-url", databases[name]},
			Env: append(append([]string{"SERVICE_SECRET=" + s.secret,
				"ADMIN_EMAIL=" + s.adminEmail, "ADMIN_PASSWORD=" + s.adminPassword, "TOKEN_TTL=" + runnerTokenTTL}, s.env...), env...),
			// procs writes each line in one Write; the log is safe for
			// concurrent use.
			Output: s.log,
			Files:  files[name],
		})
		if err != nil {
			return nil, err
		}
		svc := &service{name: name, url: "http://" + addr, ctl: processControl{p: p, url: "http://" + addr, ctx: procCtx}}
		return svc, p.WaitReady(ctx, svc.url)
	}
	if s.user, err = start("usersvc", userAddr); err != nil {
		return err
	}
	// productsvc verifies tokens against usersvc's keys, fetched directly.
	if s.product, err = start("productsvc", productAddr, "USER_SERVICE_URL=http://"+userAddr); err != nil {
		return err
	}
	s.order, err = start("ordersvc", orderAddr,
		"USER_SERVICE_URL=http://"+userProxy,
		"PRODUCT_SERVICE_URL=http://"+productProxy)
	return err
}

// processDatabases makes a fresh database for each service and returns
// each one's DATABASE_URL by service name, where they are (for the
// terminal), and the function that removes them.
func processDatabases(ctx context.Context, postgres string) (urls map[string]string, where string, drop func() error, err error) {
	names := []string{"usersvc", "productsvc", "ordersvc"}
	urls = map[string]string{}
	if postgres == "" {
		dir, err := os.MkdirTemp("", "kitshop-chaos-")
		if err != nil {
			return nil, "", nil, fmt.Errorf("temp dir: %w", err)
		}
		// The experiments kill processes, never the machine: with WAL, a
		// SIGKILL loses no commit whether or not each commit is synced to
		// the disk, so these throwaway databases skip the sync that the
		// services' default (synchronous=FULL) makes against a power cut.
		// On a disk that other work keeps busy, those syncs would otherwise
		// decide the latencies the checks judge.
		for _, n := range names {
			urls[n] = "sqlite:" + filepath.Join(dir, n+".db") + "?synchronous=normal"
		}
		return urls, "SQLite (synchronous=normal) in " + dir, func() error { return os.RemoveAll(dir) }, nil
	}
	prefix := "kitshop_chaos_" + runID() + "_"
	var dbs []string
	for _, n := range names {
		dbs = append(dbs, prefix+n)
	}
	created, err := sqldb.CreatePostgresDatabases(ctx, postgres, dbs...)
	if err != nil {
		return nil, "", nil, err
	}
	for _, n := range names {
		urls[n] = created[prefix+n]
	}
	drop = func() error {
		return sqldb.DropPostgresDatabases(context.WithoutCancel(ctx), postgres, dbs...)
	}
	return urls, "PostgreSQL databases " + prefix + "{usersvc,productsvc,ordersvc}", drop, nil
}

// processControl acts on a service that is a child process, with signals.
type processControl struct {
	p   *procs.Process
	url string
	ctx context.Context // the lifetime of a restarted run
}

func (c processControl) Kill() (string, error) {
	pid := c.p.PID()
	return fmt.Sprintf("SIGKILL %s (pid %d)", c.p.Name(), pid), c.p.Kill()
}

func (c processControl) Freeze() (string, error) {
	return fmt.Sprintf("SIGSTOP %s (pid %d)", c.p.Name(), c.p.PID()), c.p.Stop()
}

func (c processControl) Thaw() error { return c.p.Continue() }

func (c processControl) Start(ctx context.Context) error {
	if err := c.p.Restart(c.ctx); err != nil {
		return err
	}
	return c.p.WaitReady(ctx, c.url)
}
