// Command gateway runs the shop's single entry point: it proxies /v1/users*,
// /v1/products* and /v1/orders* to their services. See README.md for its
// settings.
package main

import "github.com/kitshop/kitshop/internal/cli"

func main() { cli.Main("gateway", cli.RunGateway) }
