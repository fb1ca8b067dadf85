// Command productsvc runs the product service. See README.md for its settings.
package main

import "github.com/kitshop/kitshop/internal/cli"

func main() { cli.Main("productsvc", cli.RunProductService) }
