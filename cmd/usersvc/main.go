// Command usersvc runs the user service. See README.md for its settings.
package main

import "github.com/kitshop/kitshop/internal/cli"

func main() { cli.Main("usersvc", cli.RunUserService) }
