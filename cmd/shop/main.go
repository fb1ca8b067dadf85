// Command shop runs the whole shop on this machine: usersvc, productsvc,
// ordersvc and the gateway as child processes of itself, with SQLite
// databases under ./data. `shop SERVICE [flags]` runs one of them in this
// process. See README.md.
package main

import "github.com/kitshop/kitshop/internal/cli"

func main() { cli.Main("shop", cli.RunShop) }
