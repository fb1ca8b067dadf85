package shopctl

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
)

// errNotSignedIn is a command that needs a token run before login.
var errNotSignedIn = errors.New("not signed in to this shop (or the token expired): run shopctl login")

// token is the kept token for c.url, "" when there is none.
func (c *ctl) token() (string, error) {
	t, ok, err := c.config.load(c.url, time.Now())
	if err != nil || !ok {
		return "", err
	}
	return t.AccessToken, nil
}

// clientOptions carry the kept token, when there is one.
func (c *ctl) clientOptions() ([]transport.ClientOption, error) {
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	return []transport.ClientOption{transport.WithToken(tok)}, nil
}

func (c *ctl) userClient() (userservice.Service, error) {
	opts, err := c.clientOptions()
	return userservice.NewHTTPClient(transport.Direct(c.url), nil, opts...), err
}

func (c *ctl) productClient() (productservice.Service, error) {
	opts, err := c.clientOptions()
	return productservice.NewHTTPClient(transport.Direct(c.url), nil, opts...), err
}

func (c *ctl) orderClient() (orderservice.Service, error) {
	opts, err := c.clientOptions()
	return orderservice.NewHTTPClient(transport.Direct(c.url), nil, opts...), err
}

// password asks for a password, without echo on a terminal.
func (c *ctl) password(prompt string) (string, error) {
	if c.env.ReadPassword != nil {
		return c.env.ReadPassword(prompt)
	}
	line, err := bufio.NewReader(c.env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (c *ctl) login(ctx context.Context, args []string) error {
	var email string
	if _, err := flags("login", args, 0, func(fs *flag.FlagSet) { fs.StringVar(&email, "email", "", "your email") }); err != nil {
		return err
	}
	if email == "" {
		fmt.Fprint(c.env.Stderr, "email: ")
		line, err := bufio.NewReader(c.env.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return usagef("login: no email")
		}
		email = strings.TrimSpace(line)
	}
	password, err := c.password("password: ")
	if err != nil {
		return err
	}
	users := userservice.NewHTTPClient(transport.Direct(c.url), nil)
	s, err := users.CreateSession(ctx, userservice.CreateSessionRequest{Email: email, Password: password})
	if err != nil {
		return err
	}
	t := savedToken{URL: c.url, AccessToken: s.AccessToken, ExpiresAt: time.Now().Add(time.Duration(s.ExpiresIn) * time.Second),
		UserID: s.User.ID, Email: s.User.Email, Role: s.User.Role}
	if err := c.config.save(t); err != nil {
		return err
	}
	return c.print(s.User, fmt.Sprintf("signed in as %s (%s, %s) until %s", s.User.Email, s.User.ID, s.User.Role,
		t.ExpiresAt.Local().Format(time.Kitchen)))
}

func (c *ctl) logout(args []string) error {
	if len(args) > 0 {
		return usagef("logout: unexpected %q", args)
	}
	return c.config.remove()
}

func (c *ctl) users(ctx context.Context, args []string) error {
	verb, args, err := subcommand("users", args, "create", "get")
	if err != nil {
		return err
	}
	client, err := c.userClient()
	if err != nil {
		return err
	}
	switch verb {
	case "create":
		var req userservice.CreateUserRequest
		if _, err := flags("users create", args, 0, func(fs *flag.FlagSet) {
			fs.StringVar(&req.Name, "name", "", "the user's name")
			fs.StringVar(&req.Email, "email", "", "the user's email")
		}); err != nil {
			return err
		}
		if req.Name == "" || req.Email == "" {
			return usagef("users create: --name and --email are required")
		}
		if req.Password, err = c.password("password for " + req.Email + ": "); err != nil {
			return err
		}
		u, err := client.CreateUser(ctx, req)
		if err != nil {
			return err
		}
		return c.printUsers(u)
	default:
		pos, err := flags("users get", args, 1, func(*flag.FlagSet) {})
		if err != nil {
			return err
		}
		id := ""
		if len(pos) == 1 {
			id = pos[0]
		} else if t, ok, _ := c.config.load(c.url, time.Now()); ok {
			id = t.UserID
		} else {
			return errNotSignedIn
		}
		u, err := client.GetUser(ctx, id)
		if err != nil {
			return err
		}
		return c.printUsers(u)
	}
}

func (c *ctl) products(ctx context.Context, args []string) error {
	verb, args, err := subcommand("products", args, "create", "list", "get")
	if err != nil {
		return err
	}
	client, err := c.productClient()
	if err != nil {
		return err
	}
	switch verb {
	case "create":
		var req productservice.CreateProductRequest
		if _, err := flags("products create", args, 0, func(fs *flag.FlagSet) {
			fs.StringVar(&req.Name, "name", "", "the product's name")
			fs.Int64Var(&req.PriceCents, "price-cents", 0, "its price, in cents")
			fs.Int64Var(&req.Stock, "stock", 0, "how many there are")
		}); err != nil {
			return err
		}
		if req.Name == "" {
			return usagef("products create: --name is required")
		}
		p, err := client.CreateProduct(ctx, req)
		if err != nil {
			return err
		}
		return c.printProducts("", p)
	case "list":
		var limit int
		var cursor string
		if _, err := flags("products list", args, 0, func(fs *flag.FlagSet) {
			fs.IntVar(&limit, "limit", 50, "products per page")
			fs.StringVar(&cursor, "cursor", "", "the next page's cursor, from the last list")
		}); err != nil {
			return err
		}
		ps, next, err := client.ListProducts(ctx, cursor, limit)
		if err != nil {
			return err
		}
		return c.printProducts(next, ps...)
	default:
		pos, err := flags("products get", args, 1, func(*flag.FlagSet) {})
		if err != nil || len(pos) != 1 {
			return usagef("products get: want one product ID")
		}
		p, err := client.GetProduct(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.printProducts("", p)
	}
}

// items is the repeatable --item PRODUCT:QTY.
type items []orderservice.OrderLine

func (it *items) String() string { return fmt.Sprint(*it) }

func (it *items) Set(v string) error {
	id, qty, ok := strings.Cut(v, ":")
	n, err := strconv.ParseInt(qty, 10, 64)
	if !ok || id == "" || err != nil {
		return fmt.Errorf("want PRODUCT_ID:QUANTITY, got %q", v)
	}
	*it = append(*it, orderservice.OrderLine{ProductID: id, Quantity: n})
	return nil
}

func (c *ctl) orders(ctx context.Context, args []string) error {
	verb, args, err := subcommand("orders", args, "create", "get", "list")
	if err != nil {
		return err
	}
	client, err := c.orderClient()
	if err != nil {
		return err
	}
	switch verb {
	case "create":
		var req orderservice.CreateOrderRequest
		var lines items
		if _, err := flags("orders create", args, 0, func(fs *flag.FlagSet) {
			fs.Var(&lines, "item", "PRODUCT_ID:QUANTITY (repeat for several)")
			fs.StringVar(&req.UserID, "user-id", "", "whom the order is for (admins; yourself when left out)")
			fs.StringVar(&req.IdempotencyKey, "idempotency-key", "", "makes a retry safe (one is made and printed when left out)")
		}); err != nil {
			return err
		}
		if len(lines) == 0 {
			return usagef("orders create: at least one --item PRODUCT_ID:QUANTITY")
		}
		req.Items = lines
		if req.IdempotencyKey == "" {
			req.IdempotencyKey = newKey()
			fmt.Fprintf(c.env.Stderr, "idempotency key %s (to retry safely: --idempotency-key %s)\n", req.IdempotencyKey, req.IdempotencyKey)
		}
		o, err := client.CreateOrder(ctx, req)
		if err != nil {
			return err
		}
		return c.printOrders("", o)
	case "get":
		pos, err := flags("orders get", args, 1, func(*flag.FlagSet) {})
		if err != nil || len(pos) != 1 {
			return usagef("orders get: want one order ID")
		}
		o, err := client.GetOrder(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.printOrders("", o)
	default:
		var userID, cursor string
		var limit int
		if _, err := flags("orders list", args, 0, func(fs *flag.FlagSet) {
			fs.StringVar(&userID, "user-id", "", "whose orders (admins; yours when left out)")
			fs.IntVar(&limit, "limit", 50, "orders per page")
			fs.StringVar(&cursor, "cursor", "", "the next page's cursor, from the last list")
		}); err != nil {
			return err
		}
		page, next, err := client.ListOrders(ctx, userID, cursor, limit)
		if err != nil {
			return err
		}
		return c.printOrders(next, page...)
	}
}

// newKey is a fresh Idempotency-Key.
func newKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "shopctl-" + hex.EncodeToString(b)
}
