package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// proxies are toxiproxy TCP proxies run in this process, one between
// ordersvc and each dependency: ordersvc's USER_SERVICE_URL and
// PRODUCT_SERVICE_URL point at them, so network faults (latency, resets)
// are toxics added to them. With no toxic they pass bytes through.
type proxies struct {
	server *toxiproxy.ApiServer
	byName map[string]*toxiproxy.Proxy
}

func newProxies() *proxies {
	return &proxies{
		server: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop()),
		byName: map[string]*toxiproxy.Proxy{},
	}
}

// add starts a proxy to upstream (host:port) on a free loopback port and
// returns its address.
func (p *proxies) add(name, upstream string) (string, error) {
	return p.addOn("127.0.0.1", name, upstream)
}

// addOn starts a proxy to upstream on a free port of the local address
// host and returns its address.
func (p *proxies) addOn(host, name, upstream string) (string, error) {
	px := toxiproxy.NewProxy(p.server, name, net.JoinHostPort(host, "0"), upstream)
	if err := px.Start(); err != nil {
		return "", fmt.Errorf("proxy %s: %w", name, err)
	}
	p.byName[name] = px
	return px.Listen, nil
}

// Toxic is one toxiproxy toxic, as its JSON API describes it.
type Toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float64        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// addToxic adds t to the named proxy; it applies to new and open
// connections at once.
func (p *proxies) addToxic(proxy string, t Toxic) error {
	px, ok := p.byName[proxy]
	if !ok {
		return fmt.Errorf("no proxy %q", proxy)
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := px.Toxics.AddToxicJson(strings.NewReader(string(b))); err != nil {
		return fmt.Errorf("proxy %s: add toxic %s: %w", proxy, t.Name, err)
	}
	return nil
}

// removeToxic removes the named toxic from the proxy.
func (p *proxies) removeToxic(ctx context.Context, proxy, name string) error {
	px, ok := p.byName[proxy]
	if !ok {
		return fmt.Errorf("no proxy %q", proxy)
	}
	if err := px.Toxics.RemoveToxic(ctx, name); err != nil {
		return fmt.Errorf("proxy %s: remove toxic %s: %w", proxy, name, err)
	}
	return nil
}

// dropConnections closes every connection through the proxies (each is
// stopped and started again on the same address, its toxics kept), as a
// network blip would: ordersvc's pooled keep-alive connections to its
// dependencies end.
func (p *proxies) dropConnections() error {
	for name, px := range p.byName {
		px.Stop()
		if err := px.Start(); err != nil {
			return fmt.Errorf("proxy %s: restart: %w", name, err)
		}
	}
	return nil
}

// close stops every proxy and closes its connections.
func (p *proxies) close() {
	for _, px := range p.byName {
		px.Toxics.ResetToxics(context.Background())
		px.Stop()
	}
}
