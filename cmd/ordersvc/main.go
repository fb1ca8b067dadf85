// Command ordersvc runs the order service. See README.md for its settings.
package main

import "github.com/kitshop/kitshop/internal/cli"

func main() { cli.Main("ordersvc", cli.RunOrderService) }
