package loadbench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/kitshop/kitshop/pkg/userservice"
)

// RunRawUsers is the reference the user service is measured against: GET
// /v1/users/{id} served by a bare net/http ServeMux and encoding/json from
// a map in memory, with the same JSON and headers as usersvc, and nothing
// else (no logging, metrics, request IDs, timeouts, go-kit or database).
// It exists for the benchmark only. -users names a JSON array of users.
func RunRawUsers(ctx context.Context, args []string, _ func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet(rawName, flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("http-addr", "127.0.0.1:0", "address to serve HTTP on")
	usersFile := fs.String("users", "", "JSON array of the users to serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := rawUsersHandler(*usersFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
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

// rawUsersHandler serves the users in file (a JSON array; "" for none).
func rawUsersHandler(file string) (http.Handler, error) {
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
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
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
	return mux, nil
}
