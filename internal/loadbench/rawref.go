package loadbench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
)

// RunRawUsers is the reference the user service is measured against: GET
// /v1/users/{id} served by a bare net/http ServeMux and encoding/json from
// a map in memory, with the same JSON and headers as usersvc, and nothing
// else (no logging, metrics, request IDs, timeouts, go-kit or database).
// With -kit it serves the same map through go-kit alone instead (see
// kitUsersHandler). It exists for the benchmark only. -users names a JSON
// array of users.
func RunRawUsers(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet(rawName, flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("http-addr", "127.0.0.1:0", "address to serve HTTP on")
	usersFile := fs.String("users", "", "JSON array of the users to serve")
	kit := fs.Bool("kit", false, "serve through go-kit (the user service's GetUser endpoint) instead of a bare handler")
	if err := fs.Parse(args); err != nil {
		return err
	}
	users, err := readUsers(*usersFile)
	if err != nil {
		return err
	}
	h := rawUsersHandler(users)
	if *kit {
		h = kitUsersHandler(users)
	}
	ln, err := procs.Listen(getenv, *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "raw reference listening on %s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readUsers reads the users in file (a JSON array; "" for none), by ID.
func readUsers(file string) (map[string]userservice.User, error) {
	var list []userservice.User
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	users := make(map[string]userservice.User, len(list))
	for _, u := range list {
		users[u.ID] = u
	}
	return users, nil
}

// referenceMux is a ServeMux with the /healthz the benchmark waits for.
func referenceMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	return mux
}

// kitUsersHandler serves the users through go-kit alone: the user
// service's own GetUser endpoint, over the users in memory, in a go-kit
// HTTP server on the same route, with the transport's JSON encoding and
// error encoder, and none of usersvc's middleware (request IDs, access
// log, metrics, timeouts) nor its database. Set against the raw handler it
// measures go-kit's layers; set against usersvc, what the middleware costs.
func kitUsersHandler(users map[string]userservice.User) http.Handler {
	svc := userservice.NewService(mapStore{users: users})
	mux := referenceMux()
	mux.Handle("GET /v1/users/{id}", httptransport.NewServer(userservice.MakeGetUserEndpoint(svc),
		func(_ context.Context, r *http.Request) (any, error) {
			return userservice.GetUserRequest{ID: r.PathValue("id")}, nil
		},
		transport.EncodeJSONResponse,
		httptransport.ServerErrorEncoder(transport.EncodeError)))
	return mux
}

// mapStore is a userservice.Store over a map, read only.
type mapStore struct {
	userservice.Store // nil: only GetUser and Ping are served
	users             map[string]userservice.User
}

func (m mapStore) GetUser(_ context.Context, id string) (userservice.User, error) {
	u, ok := m.users[id]
	if !ok {
		return u, userservice.ErrNotFound
	}
	return u, nil
}

func (m mapStore) Ping(context.Context) error { return nil }

// rawUsersHandler serves the users with net/http and encoding/json alone.
func rawUsersHandler(users map[string]userservice.User) http.Handler {
	mux := referenceMux()
	mux.HandleFunc("GET /v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		u, ok := users[r.PathValue("id")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"user not found"}}`+"\n")
			return
		}
		_ = json.NewEncoder(w).Encode(u)
	})
	return mux
}
