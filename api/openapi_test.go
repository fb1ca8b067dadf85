package api_test

// These tests hold api/openapi.json and the services' HTTP handlers to each
// other, so that neither can grow a route the other does not know about.
//
// Attribution of documented paths to services is by tag: every operation
// carries exactly one of the tags below, and
//
//	users      -> user service    (usersvc)
//	products   -> product service (productsvc; catalogue and reservations)
//	orders     -> order service   (ordersvc)
//	operations -> every service   (/healthz, /readyz, /metrics)
//
// As a cross-check, the tag must agree with the path: /v1/users*,
// /v1/sessions and /.well-known/jwks.json are users,
// /v1/products* and /v1/reservations* are products, /v1/orders* is orders,
// and anything else is operations.
//
// A served route is the handler's ServeMux pattern ("GET /v1/users/{id}"),
// which the handler lists through its Routes method; "{id}" is the same in
// OpenAPI, so a pattern compares directly with "METHOD /path" built from the
// document (a "{name...}" wildcard or a trailing "{$}" is normalised first).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/orderservice/orderstore"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/productservice/productstore"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/pkg/userservice/userstore"
	"github.com/kitshop/kitshop/transport"
)

const docPath = "openapi.json"

// tagServices says which services serve the operations of each tag.
var tagServices = map[string][]string{
	"users":      {"user"},
	"products":   {"product"},
	"orders":     {"order"},
	"operations": {"user", "product", "order"},
}

// httpMethods are the keys of an OpenAPI path item that are operations.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operation is one documented route.
type operation struct {
	method, path string
	op           map[string]any
}

func (o operation) route() string { return strings.ToUpper(o.method) + " " + o.path }

func loadDoc(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("read %s: %v", docPath, err)
	}
	if !json.Valid(data) {
		t.Fatalf("%s is not valid JSON", docPath)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", docPath, err)
	}
	return doc
}

func operations(t *testing.T, doc map[string]any) []operation {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok || len(paths) == 0 {
		t.Fatal("document has no paths")
	}
	var ops []operation
	for path, item := range paths {
		pi, ok := item.(map[string]any)
		if !ok {
			t.Errorf("path %s: not an object", path)
			continue
		}
		for _, m := range httpMethods {
			if raw, ok := pi[m]; ok {
				op, ok := raw.(map[string]any)
				if !ok {
					t.Errorf("%s %s: operation is not an object", m, path)
					continue
				}
				ops = append(ops, operation{method: m, path: path, op: op})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].route() < ops[j].route() })
	return ops
}

// serviceTag returns the operation's one service tag.
func serviceTag(o operation) (string, error) {
	tags, _ := o.op["tags"].([]any)
	var found []string
	for _, tg := range tags {
		if s, ok := tg.(string); ok {
			if _, known := tagServices[s]; known {
				found = append(found, s)
			}
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s: want exactly one service tag of %v, got tags %v", o.route(), sortedKeys(tagServices), tags)
	}
	return found[0], nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tagForPath is the tag a path's prefix implies.
func tagForPath(path string) string {
	switch {
	case path == "/v1/users" || strings.HasPrefix(path, "/v1/users/"),
		path == "/v1/sessions", path == "/.well-known/jwks.json":
		return "users"
	case path == "/v1/products" || strings.HasPrefix(path, "/v1/products/"),
		path == "/v1/reservations" || strings.HasPrefix(path, "/v1/reservations/"):
		return "products"
	case path == "/v1/orders" || strings.HasPrefix(path, "/v1/orders/"):
		return "orders"
	}
	return "operations"
}

// documentedRoutes maps each service to the set of "METHOD /path" the
// document says it serves.
func documentedRoutes(t *testing.T, doc map[string]any) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, o := range operations(t, doc) {
		tag, err := serviceTag(o)
		if err != nil {
			t.Error(err)
			continue
		}
		if want := tagForPath(o.path); tag != want {
			t.Errorf("%s is tagged %q, but its path belongs to %q", o.route(), tag, want)
		}
		for _, svc := range tagServices[tag] {
			if out[svc] == nil {
				out[svc] = map[string]bool{}
			}
			out[svc][o.route()] = true
		}
	}
	return out
}

var (
	restWildcard = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\.\.\.\}`)
	endWildcard  = regexp.MustCompile(`\{\$\}$`)
)

// normalizePattern turns a ServeMux pattern into "METHOD /path" as the
// document spells it. A pattern without a method (every method) or with a
// host cannot be described as one OpenAPI operation and is an error.
func normalizePattern(p string) (string, error) {
	method, path, ok := strings.Cut(p, " ")
	if !ok {
		return "", fmt.Errorf("pattern %q has no method: it serves every method", p)
	}
	path = strings.TrimSpace(path)
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("pattern %q has a host or no leading slash", p)
	}
	path = restWildcard.ReplaceAllString(path, "{$1}")
	if endWildcard.MatchString(path) {
		path = strings.TrimSuffix(path, "{$}")
		if len(path) > 1 {
			path = strings.TrimSuffix(path, "/")
		}
	}
	return method + " " + path, nil
}

type routeLister interface{ Routes() []string }

// fakeUsers and fakeProducts satisfy the order service's dependencies; the
// test sends no request, so they are never called.
type fakeUsers struct{}

func (fakeUsers) GetUser(context.Context, string) (userservice.User, error) {
	return userservice.User{}, errors.New("fake: not called")
}

type fakeProducts struct{}

func (fakeProducts) Reserve(context.Context, productservice.ReserveRequest) (productservice.Reservation, error) {
	return productservice.Reservation{}, errors.New("fake: not called")
}

func (fakeProducts) ConfirmReservation(context.Context, string) (productservice.Reservation, error) {
	return productservice.Reservation{}, errors.New("fake: not called")
}

func (fakeProducts) ReleaseReservation(context.Context, string) error {
	return errors.New("fake: not called")
}

// handlers builds each service's real HTTP handler over a SQLite store in a
// temporary directory.
func handlers(t *testing.T) map[string]http.Handler {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()

	users, err := userstore.Open(ctx, "sqlite:"+filepath.Join(dir, "users.db"))
	if err != nil {
		t.Fatalf("open user store: %v", err)
	}
	t.Cleanup(func() { _ = users.Close() })
	products, err := productstore.Open(ctx, "sqlite:"+filepath.Join(dir, "products.db"))
	if err != nil {
		t.Fatalf("open product store: %v", err)
	}
	t.Cleanup(func() { _ = products.Close() })
	orders, err := orderstore.Open(ctx, "sqlite:"+filepath.Join(dir, "orders.db"))
	if err != nil {
		t.Fatalf("open order store: %v", err)
	}
	t.Cleanup(func() { _ = orders.Close() })

	return map[string]http.Handler{
		"user": userservice.NewHTTPHandler(
			userservice.NewEndpointSet(userservice.NewService(users), testkit.AsAdmin), transport.Ops{Cursors: testCursors}),
		"product": productservice.NewHTTPHandler(
			productservice.NewEndpointSet(productservice.NewService(products), testkit.AsAdmin), transport.Ops{Cursors: testCursors}),
		"order": orderservice.NewHTTPHandler(
			orderservice.NewEndpointSet(orderservice.NewService(orders, fakeUsers{}, fakeProducts{}), testkit.AsAdmin), transport.Ops{Cursors: testCursors}),
	}
}

// TestServedRoutesAreDocumented checks, service by service, that every
// route the handler serves is in the document and every route the document
// gives the service is served.
func TestServedRoutesAreDocumented(t *testing.T) {
	documented := documentedRoutes(t, loadDoc(t))
	hs := handlers(t)
	for _, svc := range sortedKeys(hs) {
		h := hs[svc]
		t.Run(svc, func(t *testing.T) {
			rl, ok := h.(routeLister)
			if !ok {
				t.Fatalf("%s handler %T has no Routes() []string method", svc, h)
			}
			served := map[string]bool{}
			for _, p := range rl.Routes() {
				r, err := normalizePattern(p)
				if err != nil {
					t.Error(err)
					continue
				}
				if served[r] {
					t.Errorf("route %s is registered twice", r)
				}
				served[r] = true
			}
			if len(served) == 0 {
				t.Fatal("handler serves no routes")
			}
			for _, r := range sortedKeys(served) {
				if !documented[svc][r] {
					t.Errorf("%s service serves %s, which %s does not document for it", svc, r, docPath)
				}
			}
			for _, r := range sortedKeys(documented[svc]) {
				if !served[r] {
					t.Errorf("%s documents %s for the %s service, which does not serve it", docPath, r, svc)
				}
			}
		})
	}
}

// TestDocumentIsWellFormed checks the document's shape: OpenAPI 3.0.3,
// every operation with a unique operationId and at least one response,
// every path parameter declared, and every $ref resolving.
func TestDocumentIsWellFormed(t *testing.T) {
	doc := loadDoc(t)
	if v, _ := doc["openapi"].(string); v != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", v)
	}
	info, _ := doc["info"].(map[string]any)
	if s, _ := info["title"].(string); s == "" {
		t.Error("info.title is missing")
	}
	if s, _ := info["version"].(string); s == "" {
		t.Error("info.version is missing")
	}

	ids := map[string]string{}
	for _, o := range operations(t, doc) {
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", o.route())
		} else if prev, dup := ids[id]; dup {
			t.Errorf("operationId %q is used by %s and %s", id, prev, o.route())
		} else {
			ids[id] = o.route()
		}
		resp, _ := o.op["responses"].(map[string]any)
		if len(resp) == 0 {
			t.Errorf("%s has no responses", o.route())
		}
		for code := range resp {
			if n, err := strconv.Atoi(code); code != "default" && (err != nil || n < 100 || n > 599) {
				t.Errorf("%s: response key %q is not a status code", o.route(), code)
			}
		}
		checkPathParams(t, doc, o)
	}

	var refs []string
	collectRefs(doc, &refs)
	if len(refs) == 0 {
		t.Error("document has no $ref at all; expected components to be referenced")
	}
	for _, r := range refs {
		if _, err := resolveRef(doc, r); err != nil {
			t.Errorf("$ref %q: %v", r, err)
		}
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// checkPathParams checks that each {name} of the operation's path is a
// required path parameter of the operation or of its path item.
func checkPathParams(t *testing.T, doc map[string]any, o operation) {
	t.Helper()
	declared := map[string]bool{}
	item, _ := doc["paths"].(map[string]any)[o.path].(map[string]any)
	for _, list := range []any{item["parameters"], o.op["parameters"]} {
		params, _ := list.([]any)
		for _, p := range params {
			pm, _ := p.(map[string]any)
			if r, ok := pm["$ref"].(string); ok {
				v, err := resolveRef(doc, r)
				if err != nil {
					continue // reported by the $ref check
				}
				pm, _ = v.(map[string]any)
			}
			if pm["in"] == "path" {
				name, _ := pm["name"].(string)
				if req, _ := pm["required"].(bool); !req {
					t.Errorf("%s: path parameter %q must be required", o.route(), name)
				}
				declared[name] = true
			}
		}
	}
	for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
		if !declared[m[1]] {
			t.Errorf("%s: path parameter %q is not declared", o.route(), m[1])
		}
	}
}

func collectRefs(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				*out = append(*out, s)
				continue
			}
			collectRefs(x, out)
		}
	case []any:
		for _, x := range v {
			collectRefs(x, out)
		}
	}
}

// resolveRef follows a local JSON pointer reference ("#/components/...").
func resolveRef(doc map[string]any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, errors.New("not a local reference")
	}
	var cur any = doc
	if ptr == "" {
		return cur, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, errors.New("not a JSON pointer")
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("no %q", tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("bad index %q", tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("cannot descend into %q", tok)
		}
	}
	return cur, nil
}

// TestErrorCodesMatchContract checks the Error schema's code enum lists the
// contract's codes exactly, but for those of what is not built yet
// (rate_limited and overloaded, of "Overload").
func TestErrorCodesMatchContract(t *testing.T) {
	doc := loadDoc(t)
	v, err := resolveRef(doc, "#/components/schemas/Error/properties/error/properties/code/enum")
	if err != nil {
		t.Fatalf("Error code enum: %v", err)
	}
	var got []string
	for _, c := range v.([]any) {
		got = append(got, c.(string))
	}
	want := []string{
		"invalid_argument", "not_found", "method_not_allowed", "already_exists",
		"request_in_progress", "already_confirmed", "reservation_expired",
		"insufficient_stock", "payload_too_large", "unsupported_media_type",
		"unknown_user", "unknown_product", "idempotency_key_reused",
		"dependency_unavailable", "internal",
		"unauthenticated", "forbidden", "too_many_requests", "unavailable",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Error code enum = %v, want the contract's %v", got, want)
	}
}

// gatewayURL is the gateway's server entry; gatewayPrefixes are the paths it
// proxies to a service.
const gatewayURL = "http://localhost:8080"

var gatewayPrefixes = []string{"/v1/users", "/v1/sessions", "/.well-known/jwks.json", "/v1/products", "/v1/orders"}

// TestGatewayAnswersAreDocumented checks that every route the gateway
// proxies documents the gateway's own answers when the service behind it
// fails: 503 dependency_unavailable with Retry-After when it cannot be
// reached, 502 without Retry-After when it broke off; and that the Error
// schema's dependency names every service the gateway can name.
func TestGatewayAnswersAreDocumented(t *testing.T) {
	doc := loadDoc(t)
	paths := doc["paths"].(map[string]any)
	proxied := 0
	for _, o := range operations(t, doc) {
		if !slices.ContainsFunc(gatewayPrefixes, func(p string) bool { return strings.HasPrefix(o.path, p) }) {
			continue
		}
		item, _ := paths[o.path].(map[string]any)
		if !servedBy(item, gatewayURL) {
			continue
		}
		proxied++
		resp, _ := o.op["responses"].(map[string]any)
		for code, wantRetryAfter := range map[string]bool{"503": true, "502": false} {
			r, ok := resp[code]
			if !ok {
				t.Errorf("%s: no %s response (the gateway's when the service behind it fails)", o.route(), code)
				continue
			}
			rm := deref(t, doc, r)
			headers, _ := rm["headers"].(map[string]any)
			if _, has := headers["Retry-After"]; has != wantRetryAfter {
				t.Errorf("%s %s: Retry-After documented = %v, want %v", o.route(), code, has, wantRetryAfter)
			}
			if !strings.Contains(fmt.Sprint(rm["content"]), "#/components/schemas/Error") {
				t.Errorf("%s %s: body is not the Error schema", o.route(), code)
			}
		}
	}
	if proxied == 0 {
		t.Fatal("no operation is served by the gateway")
	}
	v, err := resolveRef(doc, "#/components/schemas/Error/properties/error/properties/dependency/enum")
	if err != nil {
		t.Fatalf("Error dependency enum: %v", err)
	}
	var got []string
	for _, d := range v.([]any) {
		got = append(got, d.(string))
	}
	slices.Sort(got)
	if want := []string{"order", "product", "user"}; !slices.Equal(got, want) {
		t.Errorf("Error dependency enum = %v, want %v", got, want)
	}
}

// servedBy tells whether the path item lists the server url.
func servedBy(item map[string]any, url string) bool {
	servers, _ := item["servers"].([]any)
	for _, s := range servers {
		if sm, _ := s.(map[string]any); sm["url"] == url {
			return true
		}
	}
	return false
}

// deref follows v's $ref, if it has one.
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	if r, ok := m["$ref"].(string); ok {
		x, err := resolveRef(doc, r)
		if err != nil {
			t.Fatalf("$ref %q: %v", r, err)
		}
		m, _ = x.(map[string]any)
	}
	return m
}
