package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// api makes the runner's own calls outside the load: setup, reading
// orders, reservations and stock for the invariants, scraping metrics. It
// talks to each service directly (never through the proxies), and every
// call is bounded by callTimeout.
type api struct {
	client      *http.Client
	callTimeout time.Duration
	// token is the admin's access token, which the runner's own calls
	// carry once setup has signed the admin in.
	token string
}

func newAPI() *api {
	return &api{
		client:      &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}},
		callTimeout: 5 * time.Second,
	}
}

func (a *api) close() { a.client.CloseIdleConnections() }

// apiError is a status the runner did not expect.
type apiError struct {
	method, url string
	status      int
	body        string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.method, e.url, e.status, e.body)
}

// do sends a JSON request and decodes a JSON answer of status want into out
// (if not nil).
func (a *api) do(ctx context.Context, method, u string, body any, want int, out any) error {
	ctx, cancel := context.WithTimeout(ctx, a.callTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", method, u, err)
	}
	if resp.StatusCode != want {
		return &apiError{method: method, url: u, status: resp.StatusCode, body: string(bytes.TrimSpace(data))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, u, err)
		}
	}
	return nil
}

// chaosPassword is the password of every user the runner signs up.
const chaosPassword = "chaos-password"

func (a *api) createUser(ctx context.Context, base, name, email string) (string, error) {
	var u struct {
		ID string `json:"id"`
	}
	err := a.do(ctx, http.MethodPost, base+"/v1/users",
		map[string]string{"name": name, "email": email, "password": chaosPassword}, http.StatusCreated, &u)
	return u.ID, err
}

// login signs in and returns the access token.
func (a *api) login(ctx context.Context, base, email, password string) (string, error) {
	var s struct {
		AccessToken string `json:"access_token"`
	}
	err := a.do(ctx, http.MethodPost, base+"/v1/sessions",
		map[string]string{"email": email, "password": password}, http.StatusCreated, &s)
	return s.AccessToken, err
}

func (a *api) createProduct(ctx context.Context, base, name string, priceCents, stock int64) (string, error) {
	var p productservice.Product
	err := a.do(ctx, http.MethodPost, base+"/v1/products",
		map[string]any{"name": name, "price_cents": priceCents, "stock": stock}, http.StatusCreated, &p)
	return p.ID, err
}

func (a *api) getProduct(ctx context.Context, base, id string) (productservice.Product, error) {
	var p productservice.Product
	err := a.do(ctx, http.MethodGet, base+"/v1/products/"+url.PathEscape(id), nil, http.StatusOK, &p)
	return p, err
}

// getOrder returns the order with id and whether it exists (404 is not an
// error).
func (a *api) getOrder(ctx context.Context, base, id string) (orderservice.Order, bool, error) {
	var o orderservice.Order
	err := a.do(ctx, http.MethodGet, base+"/v1/orders/"+url.PathEscape(id), nil, http.StatusOK, &o)
	if e, ok := err.(*apiError); ok && e.status == http.StatusNotFound {
		return o, false, nil
	}
	return o, err == nil, err
}

// listAll reads every page of a list route.
func listAll[T any](ctx context.Context, a *api, base, path string, query url.Values) ([]T, error) {
	var all []T
	cursor := ""
	for page := 0; ; page++ {
		if page > 10_000 {
			return nil, fmt.Errorf("GET %s: too many pages", path)
		}
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("limit", "500")
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var body struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := a.do(ctx, http.MethodGet, base+path+"?"+q.Encode(), nil, http.StatusOK, &body); err != nil {
			return nil, err
		}
		all = append(all, body.Items...)
		if body.NextCursor == "" {
			return all, nil
		}
		cursor = body.NextCursor
	}
}

func (a *api) listOrders(ctx context.Context, base string) ([]orderservice.Order, error) {
	return listAll[orderservice.Order](ctx, a, base, "/v1/orders", nil)
}

func (a *api) listReservations(ctx context.Context, base, status string) ([]productservice.Reservation, error) {
	return listAll[productservice.Reservation](ctx, a, base, "/v1/reservations", url.Values{"status": {status}})
}

// getText returns the body of a GET answered 200.
func (a *api) getText(ctx context.Context, u string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", &apiError{method: http.MethodGet, url: u, status: resp.StatusCode, body: string(bytes.TrimSpace(data))}
	}
	return string(data), nil
}
