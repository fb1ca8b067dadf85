package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// MaxBodyBytes is the largest request body any service accepts (1 MiB).
const MaxBodyBytes = 1 << 20

// DecodeJSON reads r's body into v, the one way every service reads a request
// body. It guarantees:
//   - a Content-Type other than application/json is 415 unsupported_media_type
//     (a missing Content-Type is read as JSON);
//   - a body over MaxBodyBytes is 413 payload_too_large;
//   - malformed JSON, unknown fields, wrong types and trailing data are 400
//     invalid_argument with a message naming the field where it can;
//   - so are invalid UTF-8 in a string, a field name that differs from the
//     struct's json name in case, and a field given twice (see checkRaw).
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return kitshop.NewError(kitshop.CodeUnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
		}
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, MaxBodyBytes+1)); err != nil {
		return kitshop.InvalidArgument("body", "cannot be read")
	}
	if buf.Len() > MaxBodyBytes {
		return kitshop.NewError(kitshop.CodePayloadTooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	}
	return UnmarshalStrict(buf.Bytes(), v)
}

// buffers hold request bodies being decoded and answers being encoded, so
// that a request does not allocate and grow a fresh buffer for each.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer is the largest buffer kept for reuse: a rare big body
// should not pin its memory in the pool.
const maxPooledBuffer = 64 << 10

func getBuffer() *bytes.Buffer {
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		buffers.Put(buf)
	}
}

// UnmarshalStrict decodes one JSON value from data into v, rejecting unknown
// fields and trailing data, and turns decoding errors into invalid_argument
// errors whose message names the offending field.
func UnmarshalStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return kitshop.InvalidArgument("body", "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return kitshop.InvalidArgument("body", "must hold exactly one JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return kitshop.InvalidArgument("body", "must hold exactly one JSON value")
	}
	return checkRaw(data, reflect.TypeOf(v))
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return kitshop.InvalidArgument(field, "must be of type %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return kitshop.InvalidArgument("body", "malformed JSON at offset %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return kitshop.InvalidArgument("body", "malformed JSON: unexpected end")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if name == "" {
			name = `""` // an empty key must still be named
		}
		return kitshop.InvalidArgument(name, "unknown field")
	default:
		return kitshop.InvalidArgument("body", "malformed JSON")
	}
}

func jsonKind(k string) string {
	switch k {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return k
}

// EncodeJSONResponse is a go-kit EncodeResponseFunc writing response as JSON
// with status 200, or the status the response names through StatusCoder.
func EncodeJSONResponse(_ context.Context, w http.ResponseWriter, response any) error {
	status := http.StatusOK
	if sc, ok := response.(StatusCoder); ok {
		status = sc.StatusCode()
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return nil
	}
	// Created's body is encoded directly: through Created.MarshalJSON it
	// would be encoded, then checked and compacted a second time, for the
	// same bytes.
	if c, ok := response.(Created); ok {
		response = c.Body
	}
	return WriteJSON(w, status, response)
}

// StatusCoder lets a response choose its HTTP status (201 Created, say).
type StatusCoder interface {
	StatusCode() int
}

// WriteJSON writes v as a JSON body with the given status: json.Marshal's
// bytes and a newline.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	buf := getBuffer()
	defer putBuffer(buf)
	// Encode writes what json.Marshal returns, then '\n'; nothing on error.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// errorBody is the wire form of *kitshop.Error.
type errorBody struct {
	Error struct {
		Code       kitshop.Code `json:"code"`
		Message    string       `json:"message"`
		Dependency string       `json:"dependency,omitempty"`
	} `json:"error"`
}

// EncodeError is the go-kit ErrorEncoder of every service: it writes err as
// the contract's error body with the status of its code, and a Retry-After
// header when the error carries one; a 401 says how to authenticate
// (WWW-Authenticate: Bearer). Errors that are not *kitshop.Error become a
// bare 500 internal, so no internal text reaches the client.
func EncodeError(ctx context.Context, err error, w http.ResponseWriter) {
	e := kitshop.AsError(err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(e.RetryAfter)))
	}
	if e.Code == kitshop.CodeUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kitshop"`)
	}
	var body errorBody
	body.Error.Code, body.Error.Message, body.Error.Dependency = e.Code, e.Message, e.Dependency
	noteError(ctx, err)
	_ = WriteJSON(w, Status(err), body)
}

// DecodeErrorBody turns an error response back into the *kitshop.Error the
// server sent (errors.As finds it). A body that is not the contract's error
// JSON still yields one (code internal for 5xx, not_found for 404,
// invalid_argument otherwise). Where the response's status is not the
// code's own (a gateway's 502, say), the error is a *StatusError keeping it.
func DecodeErrorBody(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body errorBody
	e := &kitshop.Error{}
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message, e.Dependency = body.Error.Code, body.Error.Message, body.Error.Dependency
	} else {
		e.Code, e.Message = codeForStatus(resp.StatusCode), http.StatusText(resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			e.RetryAfter = secondsDuration(s)
		}
	}
	if CodeStatus(e.Code) != resp.StatusCode {
		return WithStatus(e, resp.StatusCode)
	}
	return e
}

func codeForStatus(status int) kitshop.Code {
	switch {
	case status == http.StatusNotFound:
		return kitshop.CodeNotFound
	case status == http.StatusTooManyRequests:
		return kitshop.CodeTooManyRequests
	case status == http.StatusServiceUnavailable:
		return kitshop.CodeDependencyUnavailable
	case status >= 500:
		return kitshop.CodeInternal
	}
	return kitshop.CodeInvalidArgument
}
