package userservice

// Benchmarks of the user service's hot paths:
//
//	go test -run '^$' -bench . -benchmem ./pkg/userservice/
//
// Transport: each route's request decoding and response encoding, alone.
// Handler: a whole GET /v1/users/{id} through the service's handler
// (router, access log, metrics, request ID, timeout, go-kit server,
// logging and instrumenting middleware) over an in-memory store, next to a
// raw ServeMux + encoding/json handler serving the same user. Logs go to
// io.Discard, or, as the running service's do, through a write(2) per line
// into a pipe (kit-get-user-logs-to-pipe).
// StoreSQLite: the storage operations on a real SQLite file.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/obs"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/transport"
)

// nullWriter is a ResponseWriter that throws the answer away, reusing its
// header map, so that a benchmark measures the handler, not a recorder.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) {
	return len(b), nil
}
func (w *nullWriter) WriteHeader(int) {}
func (w *nullWriter) reset()          { clear(w.h) }

func newNullWriter() *nullWriter { return &nullWriter{h: http.Header{}} }

func benchUser(i int) User {
	return User{ID: ids.New(IDPrefix), Name: "Ada Lovelace", Email: fmt.Sprintf("ada-%d@example.com", i),
		CreatedAt: time.Date(2025, 3, 1, 12, 30, 45, 123456000, time.UTC)}
}

func BenchmarkTransport(b *testing.B) {
	ctx := context.Background()
	b.Run("decode-create", func(b *testing.B) {
		body := []byte(`{"name":"Ada Lovelace","email":"ada@example.com","password":"analytical-engine"}`)
		r, _ := http.NewRequest(http.MethodPost, "/v1/users", nil)
		r.Header.Set("Content-Type", "application/json")
		b.ReportAllocs()
		for b.Loop() {
			r.Body = io.NopCloser(bytes.NewReader(body))
			if _, err := decodeCreateUserRequest(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-get", func(b *testing.B) {
		r, _ := http.NewRequest(http.MethodGet, "/v1/users/usr_x", nil)
		r.SetPathValue("id", ids.New(IDPrefix))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeGetUserRequest(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-list", func(b *testing.B) {
		r, _ := http.NewRequest(http.MethodGet, "/v1/users?limit=50&cursor="+testCursors.Encode("users", ids.New(IDPrefix)), nil)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeListUsersRequest(testCursors)(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	w := newNullWriter()
	b.Run("encode-user", func(b *testing.B) {
		u := benchUser(0)
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			if err := transport.EncodeJSONResponse(ctx, w, u); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-created", func(b *testing.B) {
		u := benchUser(0)
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			if err := encodeCreated(ctx, w, u); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-list-50", func(b *testing.B) {
		resp := ListUsersResponse{Next: ids.New(IDPrefix)}
		for i := range 50 {
			resp.Users = append(resp.Users, benchUser(i))
		}
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			if err := encodeListUsersResponse(testCursors)(ctx, w, resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-error", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			transport.EncodeError(ctx, ErrNotFound, w)
		}
	})
}

// BenchmarkHandler serves GET /v1/users/{id} in process: the service's
// whole handler as cmd/usersvc wires it, and the raw reference.
func BenchmarkHandler(b *testing.B) {
	store := newMemStore()
	u := benchUser(0)
	store.users[u.ID] = u
	r, _ := http.NewRequest(http.MethodGet, "/v1/users/"+u.ID, nil)

	kit := func(b *testing.B, logTo io.Writer) {
		logger, _ := obs.NewLogger(logTo, "logfmt", "usersvc")
		reg := obs.NewRegistry()
		var svc Service = NewService(store)
		svc = LoggingMiddleware(log.With(logger, "component", "service"))(svc)
		svc = InstrumentingMiddleware(NewMethodDuration(reg))(svc)
		h := NewHTTPHandler(NewEndpointSet(svc, testkit.AsAdmin), transport.Ops{Cursors: testCursors,
			Logger:   log.With(logger, "component", "http"),
			Metrics:  transport.NewHTTPMetrics(reg),
			Gatherer: reg,
			Timeout:  5 * time.Second,
		})
		serveBench(b, h, r)
	}
	b.Run("kit-get-user", func(b *testing.B) { kit(b, io.Discard) })
	// As the running service logs: a write(2) per line into a pipe that
	// another thread drains (the shop's supervisor, a container runtime).
	b.Run("kit-get-user-logs-to-pipe", func(b *testing.B) {
		pr, pw, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, pr)
		}()
		kit(b, pw)
		_ = pw.Close()
		<-drained
		_ = pr.Close()
	})
	b.Run("kit-get-user-bare", func(b *testing.B) {
		// The same without logging and metrics: the go-kit layers alone.
		h := NewHTTPHandler(NewEndpointSet(NewService(store), testkit.AsAdmin), transport.Ops{Cursors: testCursors, Gatherer: prometheus.NewRegistry(), Timeout: 5 * time.Second})
		serveBench(b, h, r)
	})
	b.Run("raw-get-user", func(b *testing.B) {
		users := map[string]User{u.ID: u}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			got, ok := users[r.PathValue("id")]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			_ = json.NewEncoder(w).Encode(got)
		})
		serveBench(b, mux, r)
	})
}

func serveBench(b *testing.B, h http.Handler, r *http.Request) {
	w := newNullWriter()
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r)
	}
}

// BenchmarkStoreSQLite runs the storage operations on a SQLite file, under
// a request's (cancellable) context.
func BenchmarkStoreSQLite(b *testing.B) {
	ctx := testkit.RequestContext(b)
	const hash = "$2a$10$abcdefghijklmnopqrstuuGmZ0D1b0lq8mY2r1U7kq7jzvQf5mD2e" // a bcrypt hash's size
	b.Run("create-user", func(b *testing.B) {
		s := openSQLiteStore(b)
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			if err := s.CreateUser(ctx, benchUser(i), hash); err != nil {
				b.Fatal(err)
			}
		}
	})
	s := openSQLiteStore(b)
	var seeded []User
	for i := range 1000 {
		u := benchUser(i)
		if err := s.CreateUser(ctx, u, hash); err != nil {
			b.Fatal(err)
		}
		seeded = append(seeded, u)
	}
	slices.SortFunc(seeded, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	b.Run("get-user", func(b *testing.B) {
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			if _, err := s.GetUser(ctx, seeded[i%len(seeded)].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get-user-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if _, err := s.GetUser(ctx, seeded[i%len(seeded)].ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("list-page-50", func(b *testing.B) {
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			// As ListUsers asks its store: one more than the page, to
			// know whether another follows.
			users, err := s.ListUsers(ctx, seeded[(i*50)%900].ID, 51)
			if err != nil || len(users) != 51 {
				b.Fatal(len(users), err)
			}
		}
	})
}
