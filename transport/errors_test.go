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
)

func TestCodeStatus(t *testing.T) {
	want := map[Code]int{
		CodeInvalidArgument:       400,
		CodeNotFound:              404,
		CodeMethodNotAllowed:      405,
		CodeAlreadyExists:         409,
		CodeRequestInProgress:     409,
		CodeAlreadyConfirmed:      409,
		CodeReservationExpired:    409,
		CodeInsufficientStock:     409,
		CodePayloadTooLarge:       413,
		CodeUnsupportedMediaType:  415,
		CodeUnknownUser:           422,
		CodeUnknownProduct:        422,
		CodeIdempotencyKeyReused:  422,
		CodeTooManyRequests:       429,
		CodeInternal:              500,
		CodeDependencyUnavailable: 503,
		Code("made_up"):           500,
	}
	for code, status := range want {
		if got := code.Status(); got != status {
			t.Errorf("%s.Status() = %d, want %d", code, got, status)
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
		{"not found", NewError(CodeNotFound, "user %s not found", "usr_1"), 404,
			map[string]string{"code": "not_found", "message": "user usr_1 not found"}, ""},
		{"invalid argument names the field", InvalidArgument("items[0].quantity", "must be positive"), 400,
			map[string]string{"code": "invalid_argument", "message": "items[0].quantity: must be positive"}, ""},
		{"wrapped", fmt.Errorf("create: %w", NewError(CodeAlreadyExists, "taken")), 409,
			map[string]string{"code": "already_exists", "message": "taken"}, ""},
		{"dependency, retry after rounded up", DependencyUnavailable("product", 1500*time.Millisecond, errors.New("dial tcp: refused")), 503,
			map[string]string{"code": "dependency_unavailable", "message": "product service unavailable", "dependency": "product"}, "2"},
		{"retry after whole second", DependencyUnavailable("user", 3*time.Second, nil), 503,
			map[string]string{"code": "dependency_unavailable", "message": "user service unavailable", "dependency": "user"}, "3"},
		{"retry after under a second", DependencyUnavailable("user", time.Millisecond, nil), 503,
			map[string]string{"code": "dependency_unavailable", "message": "user service unavailable", "dependency": "user"}, "1"},
		{"too many requests", &Error{Code: CodeTooManyRequests, Message: "slow down", RetryAfter: 2*time.Second + time.Nanosecond}, 429,
			map[string]string{"code": "too_many_requests", "message": "slow down"}, "3"},
		{"plain error hides its text", errors.New("pq: password authentication failed for user kit"), 500,
			map[string]string{"code": "internal", "message": "internal error"}, ""},
		{"internal hides its cause", Internal(errors.New("disk /var/lib/secret full")), 500,
			map[string]string{"code": "internal", "message": "internal error"}, ""},
		{"context deadline", context.DeadlineExceeded, 500,
			map[string]string{"code": "internal", "message": "internal error"}, ""},
		{"decoded remote status wins", &Error{Code: CodeInternal, Message: "bad gateway", HTTPStatus: 502}, 502,
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
func roundTrip(t *testing.T, err error) *Error {
	t.Helper()
	rec := httptest.NewRecorder()
	EncodeError(context.Background(), err, rec)
	return DecodeErrorBody(rec.Result())
}

func TestDecodeErrorBodyRoundTrip(t *testing.T) {
	sentinels := []*Error{
		NewError(CodeNotFound, "user not found"),
		NewError(CodeAlreadyExists, "taken"),
		NewError(CodeInsufficientStock, "no stock"),
		NewError(CodeUnknownProduct, "unknown product"),
		NewError(CodeIdempotencyKeyReused, "reused"),
		NewError(CodeInvalidArgument, "bad"),
	}
	for _, s := range sentinels {
		got := roundTrip(t, s.WithMessage("%s, with detail", s.Message))
		if !errors.Is(got, s) {
			t.Errorf("decoded %v does not match sentinel %v", got, s)
		}
		if got.Message != s.Message+", with detail" || got.HTTPStatus != s.Status() || got.Status() != s.Status() {
			t.Errorf("decoded %+v from %v", got, s)
		}
		for _, other := range sentinels {
			if other.Code != s.Code && errors.Is(got, other) {
				t.Errorf("decoded %v matches %v", got, other)
			}
		}
	}

	got := roundTrip(t, DependencyUnavailable("user", 1200*time.Millisecond, errors.New("breaker open")))
	if got.Code != CodeDependencyUnavailable || got.Dependency != "user" || got.RetryAfter != 2*time.Second || got.HTTPStatus != 503 {
		t.Errorf("decoded %+v", got)
	}
	if strings.Contains(got.Error(), "breaker") {
		t.Errorf("cause crossed the wire: %v", got)
	}
	if errors.Unwrap(got) != nil {
		t.Errorf("decoded error has a cause: %v", errors.Unwrap(got))
	}

	got = roundTrip(t, errors.New("secret internals"))
	if got.Code != CodeInternal || got.Message != "internal error" || strings.Contains(got.Error(), "secret") {
		t.Errorf("decoded %+v", got)
	}
}

func TestDecodeErrorBodyNotJSON(t *testing.T) {
	for _, tc := range []struct {
		status     int
		body       string
		retryAfter string
		code       Code
		wait       time.Duration
	}{
		{502, "<html>Bad Gateway</html>", "", CodeInternal, 0},
		{500, "", "", CodeInternal, 0},
		{503, "Service Unavailable", "7", CodeDependencyUnavailable, 7 * time.Second},
		{503, "down", "Wed, 21 Oct 2015 07:28:00 GMT", CodeDependencyUnavailable, 0},
		{503, "down", "-3", CodeDependencyUnavailable, 0},
		{429, "slow down", "1", CodeTooManyRequests, time.Second},
		{404, "404 page not found\n", "", CodeNotFound, 0},
		{400, "bad request", "", CodeInvalidArgument, 0},
		{409, `{"error":{}}`, "", CodeInvalidArgument, 0},
		{500, `{"error":"boom"}`, "", CodeInternal, 0},
		{500, `{"error":{"code":"internal","message":"x"}}` + strings.Repeat(" ", 100<<10), "", CodeInternal, 0},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
		if tc.retryAfter != "" {
			resp.Header.Set("Retry-After", tc.retryAfter)
		}
		got := DecodeErrorBody(resp)
		if got.Code != tc.code || got.HTTPStatus != tc.status || got.Status() != tc.status || got.RetryAfter != tc.wait {
			t.Errorf("%d %q: decoded %+v, want code %s, retry after %s", tc.status, tc.body, got, tc.code, tc.wait)
		}
		if got.Message == "" {
			t.Errorf("%d %q: empty message", tc.status, tc.body)
		}
	}
}

func TestErrorIsAndUnwrap(t *testing.T) {
	cause := errors.New("root cause")
	sentinel := NewError(CodeNotFound, "user not found")
	e := sentinel.WithMessage("user %s not found", "usr_1").WithCause(cause)
	if !errors.Is(e, sentinel) || !errors.Is(e, cause) {
		t.Errorf("%v should match its sentinel and its cause", e)
	}
	if sentinel.Message != "user not found" {
		t.Errorf("WithMessage changed the sentinel: %q", sentinel.Message)
	}
	if errors.Is(e, NewError(CodeAlreadyExists, "user not found")) {
		t.Errorf("%v matches another code", e)
	}
	if !strings.Contains(e.Error(), "root cause") {
		t.Errorf("Error() %q omits the cause the logs need", e.Error())
	}
	if AsError(fmt.Errorf("wrap: %w", e)) != e {
		t.Errorf("AsError did not find the wrapped *Error")
	}
	plain := errors.New("plain")
	if got := AsError(plain); got.Code != CodeInternal || !errors.Is(got, plain) {
		t.Errorf("AsError(plain) = %+v", got)
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
		{"400", &Error{Code: CodeInvalidArgument, HTTPStatus: 400}, false},
		{"404", &Error{Code: CodeNotFound, HTTPStatus: 404}, false},
		{"409", &Error{Code: CodeInsufficientStock, HTTPStatus: 409}, false},
		{"422", &Error{Code: CodeUnknownUser, HTTPStatus: 422}, false},
		{"wrapped 404", fmt.Errorf("get: %w", &Error{Code: CodeNotFound, HTTPStatus: 404}), false},
		{"local not found", NewError(CodeNotFound, "x"), false},
		{"429", &Error{Code: CodeTooManyRequests, HTTPStatus: 429}, true},
		{"500", &Error{Code: CodeInternal, HTTPStatus: 500}, true},
		{"502 decoded from html", DecodeErrorBody(&http.Response{StatusCode: 502, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("<html>"))}), true},
		{"503", &Error{Code: CodeDependencyUnavailable, HTTPStatus: 503}, true},
		{"local internal", Internal(errors.New("x")), true},
		{"unknown code, 4xx status", &Error{Code: "weird", HTTPStatus: 418}, false},
	} {
		if got := IsFailure(tc.err); got != tc.want {
			t.Errorf("IsFailure(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
