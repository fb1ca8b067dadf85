// Command shopctl is the shop's command-line client, built on the services'
// library clients: sign in, then work with users, products and orders
// through the gateway. Run shopctl -h for the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/kitshop/kitshop/internal/shopctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := shopctl.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		env.ReadPassword = func(prompt string) (string, error) {
			fmt.Fprint(os.Stderr, prompt)
			b, err := term.ReadPassword(int(os.Stdin.Fd()))
			fmt.Fprintln(os.Stderr)
			return string(b), err
		}
	}
	code := shopctl.Run(ctx, os.Args[1:], env)
	stop()
	os.Exit(code)
}
