// Package transport holds what every kitshop service shares on the wire: the
// error type and its status mapping, the JSON request decoder, request IDs,
// the per-request access log and metrics, and the HTTP server runner.
//
// The error type lives here, not in each service, so that one mapping from
// error code to HTTP status serves every service, and so that an error decoded
// from a response body on the client side is the same typed error the server
// returned: a remote 404 satisfies errors.Is(err, userservice.ErrNotFound).
package transport

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is a stable, snake_case error code, as sent in the error body.
type Code string

// The error codes of the public contract. Each has exactly one HTTP status.
const (
	CodeInvalidArgument       Code = "invalid_argument"
	CodeNotFound              Code = "not_found"
	CodeMethodNotAllowed      Code = "method_not_allowed"
	CodeAlreadyExists         Code = "already_exists"
	CodeRequestInProgress     Code = "request_in_progress"
	CodeAlreadyConfirmed      Code = "already_confirmed"
	CodeReservationExpired    Code = "reservation_expired"
	CodeInsufficientStock     Code = "insufficient_stock"
	CodePayloadTooLarge       Code = "payload_too_large"
	CodeUnsupportedMediaType  Code = "unsupported_media_type"
	CodeUnknownUser           Code = "unknown_user"
	CodeUnknownProduct        Code = "unknown_product"
	CodeIdempotencyKeyReused  Code = "idempotency_key_reused"
	CodeDependencyUnavailable Code = "dependency_unavailable"
	CodeTooManyRequests       Code = "too_many_requests"
	CodeHeadersTooLarge       Code = "request_header_fields_too_large"
	CodeInternal              Code = "internal"
)

var codeStatus = map[Code]int{
	CodeInvalidArgument:       http.StatusBadRequest,
	CodeNotFound:              http.StatusNotFound,
	CodeMethodNotAllowed:      http.StatusMethodNotAllowed,
	CodeAlreadyExists:         http.StatusConflict,
	CodeRequestInProgress:     http.StatusConflict,
	CodeAlreadyConfirmed:      http.StatusConflict,
	CodeReservationExpired:    http.StatusConflict,
	CodeInsufficientStock:     http.StatusConflict,
	CodePayloadTooLarge:       http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
	CodeUnknownUser:           http.StatusUnprocessableEntity,
	CodeUnknownProduct:        http.StatusUnprocessableEntity,
	CodeIdempotencyKeyReused:  http.StatusUnprocessableEntity,
	CodeDependencyUnavailable: http.StatusServiceUnavailable,
	CodeTooManyRequests:       http.StatusTooManyRequests,
	CodeHeadersTooLarge:       http.StatusRequestHeaderFieldsTooLarge,
	CodeInternal:              http.StatusInternalServerError,
}

// Status is the HTTP status of a code; unknown codes map to 500.
func (c Code) Status() int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is the one error type of the API. Services return it (usually through
// a sentinel such as userservice.ErrNotFound, or a constructor such as
// InvalidArgument), the server encodes it as
//
//	{"error": {"code": "...", "message": "...", "dependency": "..."}}
//
// and the client decodes that body back into an *Error.
//
// Two *Error values match under errors.Is when their codes are equal, so a
// sentinel matches every error of its code, whatever the message.
type Error struct {
	// Code is the machine-readable code; it decides the HTTP status.
	Code Code
	// Message is human text, safe to show to the caller.
	Message string
	// Dependency names the unavailable dependency ("user", "product") for
	// CodeDependencyUnavailable.
	Dependency string
	// RetryAfter is how long the caller should wait before retrying; it is
	// sent as the Retry-After header (whole seconds, rounded up) on 429/503.
	RetryAfter time.Duration
	// Status is the HTTP status the error arrived with, when it was decoded
	// from a response; zero for errors made locally. Status() prefers it.
	HTTPStatus int
	// cause is an internal error kept for logs; it is never sent.
	cause error
}

// NewError makes an error of the given code with a formatted message.
func NewError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidArgument reports a bad field in a request; the message names it.
func InvalidArgument(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// DependencyUnavailable reports that the named dependency cannot be reached
// now, and when it is worth trying again.
func DependencyUnavailable(dependency string, retryAfter time.Duration, cause error) *Error {
	return &Error{
		Code:       CodeDependencyUnavailable,
		Message:    dependency + " service unavailable",
		Dependency: dependency,
		RetryAfter: retryAfter,
		cause:      cause,
	}
}

// Internal wraps an unexpected error. The caller sees only "internal error";
// the cause is kept for the logs (Unwrap).
func Internal(cause error) *Error {
	return &Error{Code: CodeInternal, Message: "internal error", cause: cause}
}

// Error implements error. It includes the cause, for logs; the wire body
// carries only Message.
func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is matches any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Status is the HTTP status for the error.
func (e *Error) Status() int {
	if e.HTTPStatus != 0 {
		return e.HTTPStatus
	}
	return e.Code.Status()
}

// WithMessage returns a copy of e with another message, keeping the code, so
// a sentinel can carry detail ("product prd_1 has 3 left") and still match.
func (e *Error) WithMessage(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// WithCause returns a copy of e that keeps cause for logs and errors.Is/As.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// AsError returns err as an *Error: itself if it is one (or wraps one), an
// internal error otherwise.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// IsFailure tells whether err says the callee is unwell rather than that the
// request was refused: transport errors, timeouts, 5xx and 429 answers. Only
// failures are retried and counted by circuit breakers; a 4xx is a result.
// A nil error is not a failure.
func IsFailure(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if !errors.As(err, &e) {
		return true // transport error, timeout, decode failure
	}
	s := e.Status()
	return s >= 500 || s == http.StatusTooManyRequests
}
