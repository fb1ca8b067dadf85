package kitshop

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, snake_case error code, as sent in the error body.
type Code string

// The error codes of the public contract. Transports give each exactly one
// status of their own (package transport: one HTTP status per code).
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
	CodeUnauthenticated       Code = "unauthenticated"
	CodeForbidden             Code = "forbidden"
	CodeUnavailable           Code = "unavailable"
	CodeInternal              Code = "internal"
)

// Error is the one error type of the shop. Services return it, transports
// encode it (over HTTP as {"error": {"code", "message", "dependency"}}), and
// the library clients decode it back into an *Error, so a remote "not found"
// is still errors.Is(err, userservice.ErrNotFound) on the caller's side.
//
// Two *Error values match under errors.Is when their codes are equal, so a
// sentinel matches every error of its code, whatever the message.
type Error struct {
	// Code is the machine-readable code; it decides the transport status.
	Code Code
	// Message is human text, safe to show to the caller.
	Message string
	// Dependency names the unavailable dependency ("user", "product",
	// "order") for CodeDependencyUnavailable.
	Dependency string
	// RetryAfter is how long the caller should wait before retrying (sent
	// over HTTP as the Retry-After header); zero when not said.
	RetryAfter time.Duration
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

// Unavailable reports that the service's own storage cannot serve the
// request now; retryAfter says when to try again.
func Unavailable(retryAfter time.Duration, cause error) *Error {
	return &Error{Code: CodeUnavailable, Message: "storage unavailable, try again later", RetryAfter: retryAfter, cause: cause}
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

// ErrorCode is err's code: its own for an *Error (or one it wraps),
// CodeInternal for any other error, "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}
