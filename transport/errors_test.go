package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

func TestCodeStatus(t *testing.T) {
	want := map[kitshop.Code]int{
		kitshop.CodeInvalidArgument:       400,
		kitshop.CodeNotFound:              404,
		kitshop.CodeMethodNotAllowed:      405,
		kitshop.CodeAlreadyExists:         409,
		kitshop.CodeRequestInProgress:     409,
		kitshop.CodeAlreadyConfirmed:      409,
		kitshop.CodeReservationExpired:    409,
		kitshop.CodeInsufficientStock:     409,
		kitshop.CodePayloadTooLarge:       413,
		kitshop.CodeUnsupportedMediaType:  415,
		kitshop.CodeUnknownUser:           422,
		kitshop.CodeUnknownProduct:        422,
		kitshop.CodeIdempotencyKeyReused:  422,
		kitshop.CodeTooManyRequests:       429,
		kitshop.CodeInternal:              500,
		kitshop.CodeDependencyUnavailable: 503,
		kitshop.Code("made_up"):           500,
	}
	for code, status := range want {
		if got := CodeStatus(code); got != status {
			t.Errorf("CodeStatus(%s) = %d, want %d", code, got, status)
		}
	}
}

// errorResponse decodes an error body strictly: exactly the contract's keys.
func errorResponse(t *testing.T, rec *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &outer); err != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	if len(outer) != 1 || outer["error"] == nil {
		t.Fatalf("error body %s: want exactly one key, error", rec.Body.String())
	}
	var inner map[string]string
	if err := json.Unmarshal(outer["error"], &inner); err != nil {
		t.Fatalf("error object %s: %v", outer["error"], err)
	}
	return inner
}

func TestEncodeError(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		body       map[string]string
		retryAfter string
	}{
		{"not found", kitshop.NewError(kitshop.CodeNotFound, "user %s not found", "usr_1"), 404,
			map[string]string{"code": "not_found", "message": "user usr_1 not found"}, ""},
		{"invalid argument names the field", kitshop.InvalidArgument("items[0].quantity", "must be positive"), 400,
			map[string]string{"code": "invalid_argument", "message": "items[0].quantity: must be positive"}, ""},
		{"wrapped", fmt.Errorf("create: %w", kitshop.NewError(kitshop.CodeAlreadyExists, "taken")), 409,
			map[string]string{"code": "already_exists", "message": "taken"}, ""},
		{"dependency, retry after rounded up", kitshop.DependencyUnavailable("product", 1500*time.Millisecond, errors.New("dial tcp: refused")), 503,
			map[string]string{"code": "dependency_unavailable", "message": "product service unavailable", "dependency": "product"}, "2"},
		{"retry after whole second", kitshop.DependencyUnavailable("user", 3*time.Second, nil), 503,
			map[string]string{"code": "dependency_unavailable", "message": "user service unavailable", "dependency": "user"}, "3"},
		{"retry after under a second", kitshop.DependencyUnavailable("user", time.Millisecond, nil), 503,
			map[string]string{"code": "dependency_unavailable", "message": "user service unavailable", "dependency": "user"}, "1"},
		{"too many requests", &kitshop.Error{Code: kitshop.CodeTooManyRequests, Message: "slow down", RetryAfter: 2*time.Second + time.Nanosecond}, 429,
			map[string]string{"code": "too_many_requests", "message": "slow down"}, "3"},
		{"plain error hides its text", errors.New("pq: password authentication failed for user kit"), 500,
			map[string]string{"code": "internal", "message": "internal error"}, ""},
		{"internal hides its cause", kitshop.Internal(errors.New("disk /var/lib/secret full")), 500,
			map[string]string{"code": "internal", "message": "internal error"}, ""},
		{"context deadline", context.DeadlineExceeded, 500,
			map[string]string{"code": "internal", "message": "internal error"}, ""},
		{"decoded remote status wins", WithStatus(&kitshop.Error{Code: kitshop.CodeInternal, Message: "bad gateway"}, 502), 502,
			map[string]string{"code": "internal", "message": "bad gateway"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			EncodeError(context.Background(), tc.err, rec)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			got := errorResponse(t, rec)
			if len(got) != len(tc.body) {
				t.Errorf("error object %v, want %v", got, tc.body)
			}
			for k, v := range tc.body {
				if got[k] != v {
					t.Errorf("error.%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{
		0:                           1,
		-time.Second:                1,
		time.Nanosecond:             1,
		time.Second:                 1,
		time.Second + 1:             2,
		1500 * time.Millisecond:     2,
		5 * time.Second:             5,
		5*time.Second + time.Second: 6,
	} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%s) = %d, want %d", d, got, want)
		}
	}
}

// roundTrip encodes err as a server would and decodes it as a client would.
// roundTrip encodes err as a response and decodes it again, returning the
// domain error and the status it travels with.
func roundTrip(t *testing.T, err error) (*kitshop.Error, int) {
	t.Helper()
	rec := httptest.NewRecorder()
	EncodeError(context.Background(), err, rec)
	decoded := DecodeErrorBody(rec.Result())
	if Status(decoded) != rec.Code {
		t.Errorf("decoded status %d, sent %d", Status(decoded), rec.Code)
	}
	var e *kitshop.Error
	if !errors.As(decoded, &e) {
		t.Fatalf("decoded %T is no *kitshop.Error", decoded)
	}
	return e, rec.Code
}

func TestDecodeErrorBodyRoundTrip(t *testing.T) {
	sentinels := []*kitshop.Error{
		kitshop.NewError(kitshop.CodeNotFound, "user not found"),
		kitshop.NewError(kitshop.CodeAlreadyExists, "taken"),
		kitshop.NewError(kitshop.CodeInsufficientStock, "no stock"),
		kitshop.NewError(kitshop.CodeUnknownProduct, "unknown product"),
		kitshop.NewError(kitshop.CodeIdempotencyKeyReused, "reused"),
		kitshop.NewError(kitshop.CodeInvalidArgument, "bad"),
	}
	for _, s := range sentinels {
		got, status := roundTrip(t, s.WithMessage("%s, with detail", s.Message))
		if !errors.Is(got, s) {
			t.Errorf("decoded %v does not match sentinel %v", got, s)
		}
		if got.Message != s.Message+", with detail" || status != CodeStatus(s.Code) || Status(got) != status {
			t.Errorf("decoded %+v from %v", got, s)
		}
		for _, other := range sentinels {
			if other.Code != s.Code && errors.Is(got, other) {
				t.Errorf("decoded %v matches %v", got, other)
			}
		}
	}

	got, status := roundTrip(t, kitshop.DependencyUnavailable("user", 1200*time.Millisecond, errors.New("breaker open")))
	if got.Code != kitshop.CodeDependencyUnavailable || got.Dependency != "user" || got.RetryAfter != 2*time.Second || status != 503 {
		t.Errorf("decoded %+v", got)
	}
	if strings.Contains(got.Error(), "breaker") {
		t.Errorf("cause crossed the wire: %v", got)
	}
	if errors.Unwrap(got) != nil {
		t.Errorf("decoded error has a cause: %v", errors.Unwrap(got))
	}

	got, _ = roundTrip(t, errors.New("secret internals"))
	if got.Code != kitshop.CodeInternal || got.Message != "internal error" || strings.Contains(got.Error(), "secret") {
		t.Errorf("decoded %+v", got)
	}
}

func TestDecodeErrorBodyNotJSON(t *testing.T) {
	for _, tc := range []struct {
		status     int
		body       string
		retryAfter string
		code       kitshop.Code
		wait       time.Duration
	}{
		{502, "<html>Bad Gateway</html>", "", kitshop.CodeInternal, 0},
		{500, "", "", kitshop.CodeInternal, 0},
		{503, "Service Unavailable", "7", kitshop.CodeDependencyUnavailable, 7 * time.Second},
		{503, "down", "Wed, 21 Oct 2015 07:28:00 GMT", kitshop.CodeDependencyUnavailable, 0},
		{503, "down", "-3", kitshop.CodeDependencyUnavailable, 0},
		{429, "slow down", "1", kitshop.CodeTooManyRequests, time.Second},
		{404, "404 page not found\n", "", kitshop.CodeNotFound, 0},
		{400, "bad request", "", kitshop.CodeInvalidArgument, 0},
		{409, `{"error":{}}`, "", kitshop.CodeInvalidArgument, 0},
		{500, `{"error":"boom"}`, "", kitshop.CodeInternal, 0},
		{500, `{"error":{"code":"internal","message":"x"}}` + strings.Repeat(" ", 100<<10), "", kitshop.CodeInternal, 0},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
		if tc.retryAfter != "" {
			resp.Header.Set("Retry-After", tc.retryAfter)
		}
		decoded := DecodeErrorBody(resp)
		var got *kitshop.Error
		if !errors.As(decoded, &got) {
			t.Fatalf("%d %q: decoded %T is no *kitshop.Error", tc.status, tc.body, decoded)
		}
		if got.Code != tc.code || Status(decoded) != tc.status || got.RetryAfter != tc.wait {
			t.Errorf("%d %q: decoded %+v, want code %s, retry after %s", tc.status, tc.body, got, tc.code, tc.wait)
		}
		if got.Message == "" {
			t.Errorf("%d %q: empty message", tc.status, tc.body)
		}
	}
}

func TestErrorIsAndUnwrap(t *testing.T) {
	cause := errors.New("root cause")
	sentinel := kitshop.NewError(kitshop.CodeNotFound, "user not found")
	e := sentinel.WithMessage("user %s not found", "usr_1").WithCause(cause)
	if !errors.Is(e, sentinel) || !errors.Is(e, cause) {
		t.Errorf("%v should match its sentinel and its cause", e)
	}
	if sentinel.Message != "user not found" {
		t.Errorf("WithMessage changed the sentinel: %q", sentinel.Message)
	}
	if errors.Is(e, kitshop.NewError(kitshop.CodeAlreadyExists, "user not found")) {
		t.Errorf("%v matches another code", e)
	}
	if !strings.Contains(e.Error(), "root cause") {
		t.Errorf("Error() %q omits the cause the logs need", e.Error())
	}
	if kitshop.AsError(fmt.Errorf("wrap: %w", e)) != e {
		t.Errorf("AsError did not find the wrapped *kitshop.Error")
	}
	plain := errors.New("plain")
	if got := kitshop.AsError(plain); got.Code != kitshop.CodeInternal || !errors.Is(got, plain) {
		t.Errorf("kitshop.AsError(plain) = %+v", got)
	}
}

func TestIsFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"transport error", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), true},
		{"timeout", context.DeadlineExceeded, true},
		{"wrapped timeout", fmt.Errorf("call: %w", context.DeadlineExceeded), true},
		{"400", &kitshop.Error{Code: kitshop.CodeInvalidArgument}, false},
		{"404", &kitshop.Error{Code: kitshop.CodeNotFound}, false},
		{"409", &kitshop.Error{Code: kitshop.CodeInsufficientStock}, false},
		{"422", &kitshop.Error{Code: kitshop.CodeUnknownUser}, false},
		{"wrapped 404", fmt.Errorf("get: %w", &kitshop.Error{Code: kitshop.CodeNotFound}), false},
		{"local not found", kitshop.NewError(kitshop.CodeNotFound, "x"), false},
		{"429", &kitshop.Error{Code: kitshop.CodeTooManyRequests}, true},
		{"500", &kitshop.Error{Code: kitshop.CodeInternal}, true},
		{"502 decoded from html", DecodeErrorBody(&http.Response{StatusCode: 502, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("<html>"))}), true},
		{"503", &kitshop.Error{Code: kitshop.CodeDependencyUnavailable}, true},
		{"local internal", kitshop.Internal(errors.New("x")), true},
		{"unknown code, 4xx status", WithStatus(&kitshop.Error{Code: "weird"}, 418), false},
	} {
		if got := IsFailure(tc.err); got != tc.want {
			t.Errorf("IsFailure(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
