package shopctl

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
)

// print writes v as JSON with -o json, else text.
func (c *ctl) print(v any, text string) error {
	if c.output == "json" {
		return c.json(v)
	}
	_, err := fmt.Fprintln(c.env.Stdout, text)
	return err
}

func (c *ctl) json(v any) error {
	enc := json.NewEncoder(c.env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes a header and rows, aligned, then the next page's cursor.
func (c *ctl) table(header string, rows []string, next string) error {
	w := tabwriter.NewWriter(c.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(c.env.Stdout, "more: --cursor %s\n", next)
	}
	return nil
}

func (c *ctl) printUsers(us ...userservice.User) error {
	if c.output == "json" {
		return c.json(us[0])
	}
	var rows []string
	for _, u := range us {
		rows = append(rows, strings.Join([]string{u.ID, u.Name, u.Email, u.Role, u.CreatedAt.Format(time.RFC3339)}, "\t"))
	}
	return c.table("ID\tNAME\tEMAIL\tROLE\tCREATED", rows, "")
}

func (c *ctl) printProducts(next string, ps ...productservice.Product) error {
	if c.output == "json" {
		if len(ps) == 1 && next == "" {
			return c.json(ps[0])
		}
		return c.json(transport.NewListBody(ps, next))
	}
	var rows []string
	for _, p := range ps {
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%d", p.ID, p.Name, cents(p.PriceCents), p.Stock))
	}
	return c.table("ID\tNAME\tPRICE\tSTOCK", rows, next)
}

func (c *ctl) printOrders(next string, os ...orderservice.Order) error {
	if c.output == "json" {
		if len(os) == 1 && next == "" {
			return c.json(os[0])
		}
		return c.json(transport.NewListBody(os, next))
	}
	var rows []string
	for _, o := range os {
		var lines []string
		for _, it := range o.Items {
			lines = append(lines, fmt.Sprintf("%dx %s", it.Quantity, it.ProductID))
		}
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%s\t%s", o.ID, o.UserID, o.Status, cents(o.TotalCents), strings.Join(lines, ", ")))
	}
	return c.table("ID\tUSER\tSTATUS\tTOTAL\tITEMS", rows, next)
}

// cents is an amount as money: 125000 is 1250.00.
func cents(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }

// status shows ordersvc's readiness and its dependencies' breakers, from
// its /readyz (not exposed by the gateway).
func (c *ctl) status(ctx context.Context, args []string) error {
	orderURL := "http://localhost:8083"
	if _, err := flags("status", args, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&orderURL, "order-url", orderURL, "ordersvc's own base URL")
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(orderURL, "/")+"/readyz", nil)
	if err != nil {
		return usagef("status: --order-url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ordersvc at %s: %w", orderURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var ready struct {
		Status       string `json:"status"`
		Dependencies map[string]struct {
			State     string            `json:"state"`
			Instances map[string]string `json:"instances"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		return fmt.Errorf("ordersvc at %s answered %d: %s", orderURL, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if c.output == "json" {
		return c.json(ready)
	}
	readiness := "ready"
	if resp.StatusCode != http.StatusOK {
		readiness = fmt.Sprintf("not ready (%d)", resp.StatusCode)
	}
	fmt.Fprintf(c.env.Stdout, "ordersvc %s: %s\n", orderURL, readiness)
	var rows []string
	for _, name := range slices.Sorted(maps.Keys(ready.Dependencies)) {
		d := ready.Dependencies[name]
		var inst []string
		for _, u := range slices.Sorted(maps.Keys(d.Instances)) {
			inst = append(inst, u+" "+d.Instances[u])
		}
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s", name, d.State, strings.Join(inst, ", ")))
	}
	if err := c.table("DEPENDENCY\tBREAKER\tINSTANCES", rows, ""); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ordersvc is not ready")
	}
	return nil
}
