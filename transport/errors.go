// Package transport holds what every kitshop service shares on the HTTP wire:
// the one mapping from the domain's error codes (package kitshop) to HTTP
// statuses, the error body's encoding and decoding, the JSON request decoder,
// request IDs, the per-request access log and metrics, and the HTTP server
// runner and client helpers.
//
// An error decoded from a response body on the client side is the same
// *kitshop.Error the server returned: a remote 404 satisfies
// errors.Is(err, userservice.ErrNotFound).
package transport

import (
	"errors"
	"net/http"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// CodeHeadersTooLarge is the code of a request whose headers are too large
// (431). It belongs to HTTP alone, so it is the wire's, not the domain's.
const CodeHeadersTooLarge kitshop.Code = "request_header_fields_too_large"

var codeStatus = map[kitshop.Code]int{
	CodeHeadersTooLarge:               http.StatusRequestHeaderFieldsTooLarge,
	kitshop.CodeInvalidArgument:       http.StatusBadRequest,
	kitshop.CodeNotFound:              http.StatusNotFound,
	kitshop.CodeMethodNotAllowed:      http.StatusMethodNotAllowed,
	kitshop.CodeAlreadyExists:         http.StatusConflict,
	kitshop.CodeRequestInProgress:     http.StatusConflict,
	kitshop.CodeAlreadyConfirmed:      http.StatusConflict,
	kitshop.CodeReservationExpired:    http.StatusConflict,
	kitshop.CodeInsufficientStock:     http.StatusConflict,
	kitshop.CodePayloadTooLarge:       http.StatusRequestEntityTooLarge,
	kitshop.CodeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
	kitshop.CodeUnknownUser:           http.StatusUnprocessableEntity,
	kitshop.CodeUnknownProduct:        http.StatusUnprocessableEntity,
	kitshop.CodeIdempotencyKeyReused:  http.StatusUnprocessableEntity,
	kitshop.CodeDependencyUnavailable: http.StatusServiceUnavailable,
	kitshop.CodeTooManyRequests:       http.StatusTooManyRequests,
	kitshop.CodeUnauthenticated:       http.StatusUnauthorized,
	kitshop.CodeForbidden:             http.StatusForbidden,
	kitshop.CodeUnavailable:           http.StatusServiceUnavailable,
	kitshop.CodeInternal:              http.StatusInternalServerError,
}

// CodeStatus is the HTTP status of a code; unknown codes map to 500.
func CodeStatus(c kitshop.Code) int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// StatusError is a *kitshop.Error with the HTTP status it arrived with (a
// decoded response) or must be sent with (a gateway's 502), where that
// status is not its code's own. errors.As finds the *kitshop.Error inside.
type StatusError struct {
	// Err is the domain error, code and message as sent.
	Err *kitshop.Error
	// Status is the HTTP status; it wins over the code's.
	Status int
}

// Error implements error with the domain error's text.
func (e *StatusError) Error() string { return e.Err.Error() }

// Unwrap returns the domain error.
func (e *StatusError) Unwrap() error { return e.Err }

// WithStatus makes err travel with the given HTTP status.
func WithStatus(err *kitshop.Error, status int) error {
	return &StatusError{Err: err, Status: status}
}

// Status is the HTTP status for err: the status it carries (StatusError),
// else its code's; 500 for an error that is not a *kitshop.Error.
func Status(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return CodeStatus(kitshop.AsError(err).Code)
}

// IsFailure tells whether err says the callee is unwell rather than that the
// request was refused: transport errors, timeouts, 5xx and 429 answers. Only
// failures are retried and counted by circuit breakers; a 4xx is a result.
// A nil error is not a failure.
func IsFailure(err error) bool {
	if err == nil {
		return false
	}
	var e *kitshop.Error
	if !errors.As(err, &e) {
		return true // transport error, timeout, decode failure
	}
	s := Status(err)
	return s >= 500 || s == http.StatusTooManyRequests
}
