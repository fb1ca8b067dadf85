// Package shopctl is the shop's command-line client: every command goes
// through the services' own library clients (the same Service interfaces
// ordersvc and library users call), against the gateway.
//
//	shopctl [--url URL] [-o table|json] COMMAND ...
//
// Exit status: 0 done; 2 a usage error (the command line); 3 the shop
// refused the request (a 4xx: bad input, not signed in, not allowed, not
// found, conflict); 4 the shop failed or could not be reached (a 5xx, a
// refused connection, a timeout). Errors are one line on stderr.
package shopctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitUsage   = 2
	ExitRefused = 3
	ExitFailed  = 4
)

// DefaultURL is the gateway a fresh shop serves on.
const DefaultURL = "http://localhost:8080"

// Env is what shopctl reads of its surroundings, so that tests (and
// programs embedding it) can give their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// ReadPassword reads a password without echo; nil reads a line of
	// Stdin (for scripts and tests).
	ReadPassword func(prompt string) (string, error)
}

// usageError is a bad command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// ctl is one invocation: its global options and clients.
type ctl struct {
	env    Env
	url    string
	output string
	config *config
}

const usage = `usage: shopctl [--url URL] [-o table|json] COMMAND

commands:
  login [--email E]                          sign in (the password is asked for) and keep the token
  logout                                     forget the token
  users create --name N --email E            sign up (the password is asked for)
  users get [ID]                             a user (yourself without ID)
  products create --name N --price-cents C --stock S   (admins)
  products list [--limit N] [--cursor C]
  products get ID
  orders create --item PRODUCT:QTY [--item ...] [--user-id U] [--idempotency-key K]
  orders get ID
  orders list [--user-id U] [--limit N] [--cursor C]
  status [--order-url URL]                   ordersvc's readiness and breakers

--url defaults to $SHOPCTL_URL, else ` + DefaultURL + `; the token is kept in the user's
config directory (shopctl/token.json, mode 0600).
`

// Run runs shopctl with args (without the program name) and returns the
// exit status.
func Run(ctx context.Context, args []string, env Env) int {
	err := run(ctx, args, env)
	if err == nil {
		return ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(env.Stderr, "shopctl: %s\n", err)
		}
		fmt.Fprint(env.Stderr, usage)
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	fmt.Fprintf(env.Stderr, "shopctl: %s\n", oneLine(err))
	return exitStatus(err)
}

// exitStatus tells a refusal (4xx) from a failure (5xx, unreachable).
func exitStatus(err error) int {
	var e *kitshop.Error
	if errors.As(err, &e) {
		if s := transport.Status(err); s >= 400 && s < 500 {
			return ExitRefused
		}
	}
	return ExitFailed
}

// oneLine is err as one readable line: a shop error as its code and
// message, anything else as it reads.
func oneLine(err error) string {
	var e *kitshop.Error
	if errors.As(err, &e) {
		s := string(e.Code) + ": " + e.Message
		if e.Dependency != "" {
			s += " (dependency " + e.Dependency + ")"
		}
		return s
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func run(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("shopctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := env.Getenv("SHOPCTL_URL")
	if def == "" {
		def = DefaultURL
	}
	url := fs.String("url", def, "the gateway's base URL")
	output := fs.String("o", "table", "output: table or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if *output != "table" && *output != "json" {
		return usagef("-o %q: want table or json", *output)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("no command")
	}
	cfg, err := openConfig(env.Getenv)
	if err != nil {
		return err
	}
	c := &ctl{env: env, url: strings.TrimRight(*url, "/"), output: *output, config: cfg}
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "login":
		return c.login(ctx, rest)
	case "logout":
		return c.logout(rest)
	case "users":
		return c.users(ctx, rest)
	case "products":
		return c.products(ctx, rest)
	case "orders":
		return c.orders(ctx, rest)
	case "status":
		return c.status(ctx, rest)
	case "help":
		return flag.ErrHelp
	}
	return usagef("unknown command %q", cmd)
}

// subcommand splits "create --name x" into its verb and arguments.
func subcommand(what string, args []string, verbs ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usagef("%s: want one of %s", what, strings.Join(verbs, ", "))
	}
	for _, v := range verbs {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	return "", nil, usagef("%s: unknown %q, want one of %s", what, args[0], strings.Join(verbs, ", "))
}

// flags parses a subcommand's flags; positional arguments beyond max are
// a usage error.
func flags(name string, args []string, max int, define func(fs *flag.FlagSet)) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	define(fs)
	if err := fs.Parse(args); err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	if fs.NArg() > max {
		return nil, usagef("%s: unexpected %q", name, fs.Args()[max:])
	}
	return fs.Args(), nil
}
