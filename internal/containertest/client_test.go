package containertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The shop's JSON, as far as the test reads it.
type (
	user struct {
		ID string `json:"id"`
	}
	product struct {
		ID    string `json:"id"`
		Stock int    `json:"stock"`
	}
	item struct {
		ProductID string `json:"product_id"`
		Quantity  int    `json:"quantity"`
	}
	order struct {
		ID     string `json:"id"`
		Items  []item `json:"items"`
		Status string `json:"status"`
	}
	reservation struct {
		ID        string    `json:"id"`
		OrderID   string    `json:"order_id"`
		Items     []item    `json:"items"`
		Status    string    `json:"status"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	errorBody struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			Dependency string `json:"dependency"`
		} `json:"error"`
	}
)

// answer is one HTTP exchange, timed from sending to the end of the body.
type answer struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

func (a answer) String() string {
	return fmt.Sprintf("%d in %s: %s", a.status, a.took.Round(time.Millisecond), bytes.TrimSpace(a.body))
}

// decode reads the body into v.
func (a answer) decode(v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("%s: %w", a, err)
	}
	return nil
}

// unavailable checks a 503 from ordersvc for dependency: the error code,
// the dependency named, and a Retry-After in whole seconds.
func (a answer) unavailable(dependency string) error {
	var e errorBody
	if a.status != http.StatusServiceUnavailable || json.Unmarshal(a.body, &e) != nil ||
		e.Error.Code != "dependency_unavailable" || e.Error.Dependency != dependency {
		return fmt.Errorf("want 503 dependency_unavailable naming %q, got %s", dependency, a)
	}
	if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 {
		return fmt.Errorf("503 without a Retry-After in seconds (%q): %s", a.header.Get("Retry-After"), a)
	}
	return nil
}

// client speaks JSON to the containers, on loopback only. Each request has
// a bound well above any the shop should take, so a hang fails the test
// instead of stalling it.
type client struct {
	http http.Client
	// token, if not "", goes with every request: the access token of the
	// last signIn.
	token string
}

func newClient() *client { return &client{http: http.Client{Timeout: 15 * time.Second}} }

func (c *client) do(ctx context.Context, method, target string, body any, idempotencyKey string) (answer, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, r)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	began := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, target, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data, took: time.Since(began)}, nil
}

// signIn signs in through the gateway at base; later requests carry the
// access token.
func (c *client) signIn(ctx context.Context, base, email, password string) error {
	c.token = ""
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.create(ctx, base+"/v1/sessions", map[string]string{"email": email, "password": password}, &sess); err != nil {
		return err
	}
	c.token = sess.AccessToken
	return nil
}

// create POSTs body and decodes the 201 into out.
func (c *client) create(ctx context.Context, target string, body, out any) error {
	a, err := c.do(ctx, http.MethodPost, target, body, "")
	if err != nil {
		return err
	}
	if a.status != http.StatusCreated {
		return fmt.Errorf("POST %s: want 201, got %s", target, a)
	}
	return a.decode(out)
}

// get GETs target and decodes the 200 into out.
func (c *client) get(ctx context.Context, target string, out any) error {
	a, err := c.do(ctx, http.MethodGet, target, nil, "")
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("GET %s: want 200, got %s", target, a)
	}
	return a.decode(out)
}

// list reads every page of a list route (path already has its query).
func list[T any](ctx context.Context, c *client, path string) ([]T, error) {
	var all []T
	cursor := ""
	for {
		var page struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		pageURL := path + "&limit=500"
		if cursor != "" {
			pageURL += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := c.get(ctx, pageURL, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}
