package userservice

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// checkDecodeError asserts what a request decoder may fail with: a
// *kitshop.Error of status 400 (naming a field), 413 or 415.
func checkDecodeError(t *testing.T, err error, fields ...string) *kitshop.Error {
	t.Helper()
	e, ok := err.(*kitshop.Error)
	if !ok {
		t.Fatalf("decoder error %v (%T) is not a *kitshop.Error", err, err)
	}
	switch transport.Status(e) {
	case http.StatusBadRequest:
		field, _, found := strings.Cut(e.Message, ": ")
		if e.Code != kitshop.CodeInvalidArgument || !found || field == "" {
			t.Fatalf("400 %v names no field", e)
		}
		if len(fields) > 0 && !contains(fields, field) {
			t.Fatalf("400 %v names %q, want one of %v", e, field, fields)
		}
	case http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
	default:
		t.Fatalf("decoder failed with status %d: %v", transport.Status(e), e)
	}
	return e
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func FuzzDecodeCreateUserRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/users", bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		out, err := decodeCreateUserRequest(context.Background(), r)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		req, ok := out.(CreateUserRequest)
		if !ok {
			t.Fatalf("decoded %T", out)
		}
		// What the decoder let through, validation either refuses, naming a
		// field, or it is a request the contract allows.
		if err := validateCreate(req); err != nil {
			if e := checkDecodeError(t, err, "name", "email", "password"); transport.Status(e) != http.StatusBadRequest {
				t.Fatalf("validation failed with %v", e)
			}
			return
		}
		if n := utf8.RuneCountInString(req.Name); n < 1 || n > MaxNameLength || strings.TrimSpace(req.Name) == "" || !utf8.ValidString(req.Name) {
			t.Fatalf("accepted name %q", req.Name)
		}
		if a, err := mail.ParseAddress(req.Email); err != nil || a.Name != "" || a.Address != req.Email {
			t.Fatalf("accepted email %q", req.Email)
		}
		if len(req.Password) < MinPasswordLength || len(req.Password) > MaxPasswordLength {
			t.Fatalf("accepted password of %d bytes", len(req.Password))
		}
	})
}

// A sign-in body decodes to its two strings, or fails as a decoder may; the
// service's own checks refuse what is missing or too long before any
// password is compared.
func FuzzDecodeCreateSessionRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/sessions", bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		out, err := decodeCreateSessionRequest(context.Background(), r)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		req, ok := out.(CreateSessionRequest)
		if !ok {
			t.Fatalf("decoded %T", out)
		}
		if !utf8.ValidString(req.Email) || !utf8.ValidString(req.Password) {
			t.Fatalf("decoded invalid UTF-8: %q", req)
		}
	})
}

func FuzzDecodeListUsersRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/users", nil)
		r.URL.RawQuery = rawQuery
		out, err := decodeListUsersRequest(testCursors)(context.Background(), r)
		if err != nil {
			if e := checkDecodeError(t, err, "limit", "cursor"); transport.Status(e) != http.StatusBadRequest {
				t.Fatalf("list decoding failed with %v", e)
			}
			return
		}
		req, ok := out.(ListUsersRequest)
		if !ok {
			t.Fatalf("decoded %T", out)
		}
		if req.Limit < 1 || req.Limit > kitshop.MaxPageLimit {
			t.Fatalf("accepted limit %d from %q", req.Limit, rawQuery)
		}
		q, _ := url.ParseQuery(rawQuery)
		if c := q.Get("cursor"); c == "" && req.After != "" || c != "" && testCursors.Encode("users", req.After) != c {
			t.Fatalf("query %q gave after %q", rawQuery, req.After)
		}
	})
}

func FuzzDecodeGetUserRequest(f *testing.F) {
	store := newMemStore()
	svc := NewService(store, WithBcryptCost(bcrypt.MinCost))
	known, err := svc.CreateUser(context.Background(), validRequest("known@example.com"))
	if err != nil {
		f.Fatal(err)
	}
	set := NewEndpointSet(svc, testkit.AsAdmin)
	f.Fuzz(func(t *testing.T, id string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/users/x", nil)
		r.SetPathValue("id", id)
		req, err := decodeGetUserRequest(context.Background(), r)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if req.(GetUserRequest).ID != id {
			t.Fatalf("decoded %+v from %q", req, id)
		}
		// Any ID is the known user or not found, never another error.
		out, err := set.GetUserEndpoint(context.Background(), req)
		switch {
		case id == known.ID:
			if err != nil || out.(User) != known {
				t.Fatalf("GetUser(%q) = %v, %v", id, out, err)
			}
		case !errors.Is(err, ErrNotFound):
			t.Fatalf("GetUser(%q) = %v, %v; want not found", id, out, err)
		}
		if err == nil && !ids.Valid(IDPrefix, id) {
			t.Fatalf("found a user by malformed id %q", id)
		}
	})
}
