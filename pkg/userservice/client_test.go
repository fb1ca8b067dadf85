package userservice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// remote serves a stack over real HTTP and returns a client of it. Request
// IDs the server receives are sent on ids.
func remote(t *testing.T) (Service, *stack, <-chan string) {
	t.Helper()
	st := newStack(t)
	seen := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case seen <- r.Header.Get(transport.RequestIDHeader):
		default:
		}
		st.handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return NewHTTPClient(transport.Direct(srv.URL), nil), st, seen
}

func TestClientRoundTrip(t *testing.T) {
	client, _, _ := remote(t)
	ctx := context.Background()
	u, err := client.CreateUser(ctx, CreateUserRequest{Name: "Ada", Email: "ada@example.com", Password: "password1"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if !ids.Valid(IDPrefix, u.ID) || u.Name != "Ada" || u.Email != "ada@example.com" || !u.CreatedAt.Equal(fixedNow.Truncate(time.Microsecond)) {
		t.Fatalf("created %+v", u)
	}
	got, err := client.GetUser(ctx, u.ID)
	if err != nil || got.ID != u.ID || got.Email != u.Email || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	users, next, err := client.ListUsers(ctx, "", 10)
	if err != nil || len(users) != 1 || users[0].ID != u.ID || next != "" {
		t.Fatalf("ListUsers = %v, %q, %v", users, next, err)
	}
}

func TestClientPagination(t *testing.T) {
	client, _, _ := remote(t)
	ctx := context.Background()
	created := map[string]bool{}
	for i := range 7 {
		u, err := client.CreateUser(ctx, CreateUserRequest{Name: "U", Email: fmt.Sprintf("u%d@example.com", i), Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		created[u.ID] = true
	}
	var walked []string
	after := ""
	for range 10 {
		users, next, err := client.ListUsers(ctx, after, 3)
		if err != nil {
			t.Fatalf("ListUsers(%q): %v", after, err)
		}
		walked = append(walked, userIDs(users)...)
		if next == "" {
			break
		}
		after = next
	}
	if len(walked) != len(created) {
		t.Fatalf("walked %d users, created %d", len(walked), len(created))
	}
	for i, id := range walked {
		if !created[id] || (i > 0 && walked[i-1] >= id) {
			t.Fatalf("walk %v is not the created users in ID order", walked)
		}
	}
}

// Typed errors survive the wire: errors.Is works on the client's errors as
// on the service's, and none of them counts as a failure of the service.
func TestClientTypedErrors(t *testing.T) {
	client, _, _ := remote(t)
	ctx := context.Background()
	if _, err := client.CreateUser(ctx, validRequest("dup@example.com")); err != nil {
		t.Fatal(err)
	}

	_, err := client.CreateUser(ctx, validRequest("DUP@example.com"))
	if !errors.Is(err, ErrAlreadyExists) || errors.Is(err, ErrNotFound) {
		t.Fatalf("duplicate: %v", err)
	}
	if transport.IsFailure(err) {
		t.Errorf("409 counted as a failure: %v", err)
	}

	_, err = client.GetUser(ctx, ids.New(IDPrefix))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetUser(unknown): %v", err)
	}
	var e *kitshop.Error
	if !errors.As(err, &e) || transport.Status(err) != 404 || e.Message != ErrNotFound.Message {
		t.Fatalf("GetUser(unknown): %+v", err)
	}
	for _, id := range []string{"", "a/b", "../../healthz", "usr_x?y=z"} {
		if _, err := client.GetUser(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetUser(%q): %v", id, err)
		}
	}

	_, err = client.CreateUser(ctx, CreateUserRequest{Name: "A", Email: "Ada <a@example.com>", Password: "password1"})
	if !errors.As(err, &e) || e.Code != kitshop.CodeInvalidArgument || !strings.HasPrefix(e.Message, "email: ") {
		t.Fatalf("invalid email: %v", err)
	}
	_, _, err = client.ListUsers(ctx, "", 0)
	if !errors.As(err, &e) || e.Code != kitshop.CodeInvalidArgument || !strings.HasPrefix(e.Message, "limit: ") {
		t.Fatalf("limit 0: %v", err)
	}
}

func TestClientPropagatesRequestID(t *testing.T) {
	client, st, seen := remote(t)
	ctx := transport.WithRequestID(context.Background(), "rid-from-caller")
	if _, err := client.CreateUser(ctx, validRequest("rid@example.com")); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != "rid-from-caller" {
		t.Fatalf("server received X-Request-ID %q", got)
	}
	// The server logs under the caller's ID (the access log line is written
	// after the answer went out, so wait for it).
	eventually(t, 5*time.Second, "access log line with the caller's request id", func() bool {
		return strings.Contains(st.accessLog.String(), `"request_id":"rid-from-caller"`)
	})
	if !strings.Contains(st.serviceLg.String(), `"request_id":"rid-from-caller"`) {
		t.Fatalf("service log lacks the request id: %s", st.serviceLg)
	}
}

func TestClientTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	client := NewHTTPClient(transport.Direct(url), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.GetUser(ctx, ids.New(IDPrefix))
	if err == nil || errors.Is(err, ErrNotFound) || !transport.IsFailure(err) {
		t.Fatalf("call to a closed server: %v", err)
	}
}
