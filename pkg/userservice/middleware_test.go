package userservice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

func TestLoggingMiddleware(t *testing.T) {
	sink := &logSink{}
	inner, _ := newTestService(t)
	svc := LoggingMiddleware(log.NewJSONLogger(sink))(inner)
	ctx := transport.WithRequestID(context.Background(), "rid-log")

	u, err := svc.CreateUser(ctx, validRequest("log@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetUser(ctx, ids.New(IDPrefix)); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	// Successful reads are in the access log alone.
	if _, _, err := svc.ListUsers(ctx, "", 10); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	lines := sink.Records(t)
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2 (the write and the failed read): %s", len(lines), sink)
	}
	for i, want := range []map[string]any{
		{"method": "CreateUser", "outcome": "ok", "id": u.ID},
		{"method": "GetUser", "outcome": "not_found"},
	} {
		l := lines[i]
		if l["request_id"] != "rid-log" || l["took"] == nil {
			t.Errorf("line %d: %v", i, l)
		}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, l[k], v)
			}
		}
		if _, ok := l["err"]; ok {
			t.Errorf("line %d logs the error of a business outcome: %v", i, l)
		}
	}
}

func TestLoggingMiddlewareLogsInternalCause(t *testing.T) {
	sink := &logSink{}
	store := newMemStore()
	store.err = kitshop.Internal(errors.New("disk full"))
	svc := LoggingMiddleware(log.NewJSONLogger(sink))(NewService(store, WithBcryptCost(bcrypt.MinCost)))
	if _, err := svc.GetUser(context.Background(), ids.New(IDPrefix)); err == nil {
		t.Fatal("no error")
	}
	l := sink.Records(t)[0]
	if l["outcome"] != "internal" || !strings.Contains(fmt.Sprint(l["err"]), "disk full") {
		t.Fatalf("logged %v", l)
	}
}

func TestInstrumentingMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	inner, _ := newTestService(t)
	svc := InstrumentingMiddleware(NewMethodDuration(reg))(inner)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, validRequest("m@example.com")); err != nil {
		t.Fatal(err)
	}
	_, _ = svc.CreateUser(ctx, validRequest("M@example.com"))
	_, _ = svc.CreateUser(ctx, CreateUserRequest{})
	_, _ = svc.GetUser(ctx, "nope")
	_, _, _ = svc.ListUsers(ctx, "", 5)

	want := map[string]uint64{
		"CreateUser|ok":               1,
		"CreateUser|already_exists":   1,
		"CreateUser|invalid_argument": 1,
		"GetUser|not_found":           1,
		"ListUsers|ok":                1,
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "service_method_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			got[labels["method"]+"|"+labels["outcome"]] = m.GetHistogram().GetSampleCount()
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("observations %v, want %v", got, want)
	}
}
