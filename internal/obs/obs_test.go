package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	logger, err := NewLogger(&buf, "json", "usersvc")
	if err != nil {
		t.Fatal(err)
	}
	_ = logger.Log("msg", "hello")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("json log line %q: %v", buf.String(), err)
	}
	ts, err := time.Parse(time.RFC3339, fmt.Sprint(line["ts"]))
	if err != nil || ts.Location() != time.UTC || line["service"] != "usersvc" || line["msg"] != "hello" {
		t.Fatalf("line %v (%v)", line, err)
	}

	for _, format := range []string{"", "logfmt"} {
		buf.Reset()
		logger, err := NewLogger(&buf, format, "ordersvc")
		if err != nil {
			t.Fatal(err)
		}
		_ = logger.Log("msg", "hello world")
		if s := buf.String(); !strings.Contains(s, "service=ordersvc") || !strings.Contains(s, `msg="hello world"`) || !strings.Contains(s, "ts=") {
			t.Fatalf("format %q: %q", format, s)
		}
	}
	if _, err := NewLogger(&buf, "xml", "x"); err == nil {
		t.Fatal("unknown log format accepted")
	}
}

func TestOutcome(t *testing.T) {
	for err, want := range map[error]string{
		nil:                "ok",
		errors.New("boom"): "internal",
		kitshop.NewError(kitshop.CodeNotFound, "x"):                              "not_found",
		fmt.Errorf("wrap: %w", kitshop.NewError(kitshop.CodeAlreadyExists, "x")): "already_exists",
		kitshop.Internal(errors.New("x")):                                        "internal",
		fmt.Errorf("get: %w", context.DeadlineExceeded):                          "timeout",
		context.Canceled: "canceled",
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}: "unreachable",
		&url.Error{Op: "Get", URL: "http://u", Err: syscall.ECONNRESET}: "unreachable",
	} {
		if got := Outcome(err); got != want {
			t.Errorf("Outcome(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestRegistryAndMethodDuration(t *testing.T) {
	reg := NewRegistry()
	h := MethodDuration(reg)
	h.With("method", "GetUser", "outcome", "ok").Observe(0.01)
	if n := testutil.CollectAndCount(reg, "service_method_duration_seconds"); n != 1 {
		t.Fatalf("%d series", n)
	}
	if n := testutil.CollectAndCount(reg, "go_goroutines"); n != 1 {
		t.Fatalf("go collector missing: %d", n)
	}
	if n := testutil.CollectAndCount(reg, "process_open_fds"); n != 1 {
		t.Fatalf("process collector missing: %d", n)
	}
}
