package userservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// stack is the user service wired as cmd/usersvc wires it, logging as JSON
// into sinks the test can read.
type stack struct {
	handler   http.Handler
	store     SQLStore
	accessLog *logSink
	serviceLg *logSink
	reg       *prometheus.Registry
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return newStackOn(t, openSQLiteStore(t))
}

// newStackOn is the stack over store.
func newStackOn(t *testing.T, store SQLStore) *stack {
	t.Helper()
	inner := newTestServiceOn(store)
	st := &stack{store: store, accessLog: &logSink{}, serviceLg: &logSink{}, reg: prometheus.NewRegistry()}
	var svc Service = inner
	svc = LoggingMiddleware(log.NewJSONLogger(st.serviceLg))(svc)
	svc = InstrumentingMiddleware(NewMethodDuration(st.reg))(svc)
	st.handler = NewHTTPHandler(NewEndpointSet(svc, testkit.AsAdmin), transport.Ops{Cursors: testCursors,
		Logger:  log.NewJSONLogger(st.accessLog),
		Metrics: transport.NewHTTPMetrics(st.reg),
		Ready: func(ctx context.Context) (map[string]any, error) {
			if err := store.Ping(ctx); err != nil {
				return nil, kitshop.NewError(kitshop.CodeInternal, "database unavailable").WithCause(err)
			}
			return nil, nil
		},
		Gatherer: st.reg,
		Timeout:  5 * time.Second,
	})
	return st
}

// do serves one request; contentType "" sends none.
func (st *stack) do(method, target, contentType, body string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	st.handler.ServeHTTP(rec, req)
	return rec
}

func (st *stack) create(t *testing.T, name, email, password string) User {
	t.Helper()
	body, _ := json.Marshal(CreateUserRequest{Name: name, Email: email, Password: password})
	rec := st.do(http.MethodPost, "/v1/users", "application/json", string(body))
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /v1/users: %d %s", rec.Code, rec.Body)
	}
	var u User
	if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	return body.Error.Code, body.Error.Message
}

func TestHTTPCreateGetList(t *testing.T) {
	st := newStack(t)
	rec := st.do(http.MethodPost, "/v1/users", "application/json; charset=utf-8",
		`{"name":"Ada Lovelace","email":"Ada@Example.com","password":"analytical-engine"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if rec.Header().Get(transport.RequestIDHeader) == "" {
		t.Error("no X-Request-ID on the response")
	}
	var created map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	if len(created) != 5 || created["name"] != "Ada Lovelace" || created["email"] != "Ada@Example.com" || created["role"] != "customer" {
		t.Fatalf("created %v", created)
	}
	id, _ := created["id"].(string)
	if !ids.Valid(IDPrefix, id) {
		t.Fatalf("id %q", id)
	}
	ts, err := time.Parse(time.RFC3339, fmt.Sprint(created["created_at"]))
	if err != nil || !strings.HasSuffix(fmt.Sprint(created["created_at"]), "Z") || !ts.Equal(fixedNow.Truncate(time.Microsecond)) {
		t.Fatalf("created_at %v is not RFC 3339 UTC of the clock: %v", created["created_at"], err)
	}

	rec = st.do(http.MethodGet, "/v1/users/"+id, "", "")
	var got map[string]any
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &got) != nil || fmt.Sprint(got) != fmt.Sprint(created) {
		t.Fatalf("GET: %d %s, want %v", rec.Code, rec.Body, created)
	}

	rec = st.do(http.MethodGet, "/v1/users", "", "")
	var list struct {
		Items      []map[string]any `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &list) != nil || len(list.Items) != 1 ||
		fmt.Sprint(list.Items[0]) != fmt.Sprint(created) || list.NextCursor == nil || *list.NextCursor != "" {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
}

func TestHTTPEmptyListIsAnEmptyArray(t *testing.T) {
	rec := newStack(t).do(http.MethodGet, "/v1/users?limit=5", "", "")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"items":[],"next_cursor":""}` {
		t.Fatalf("empty list: %d %s", rec.Code, rec.Body)
	}
}

func TestHTTPErrors(t *testing.T) {
	st := newStack(t)
	taken := st.create(t, "Taken", "taken@example.com", "password1")
	validCursor := testCursors.Encode("users", taken.ID)
	for _, tc := range []struct {
		name                  string
		method, target, ctype string
		body                  string
		status                int
		code                  string
		field                 string // the message must start with it
	}{
		{"malformed JSON", "POST", "/v1/users", "application/json", `{"name":"A",`, 400, "invalid_argument", "body"},
		{"not JSON", "POST", "/v1/users", "", `name=A`, 400, "invalid_argument", "body"},
		{"empty body", "POST", "/v1/users", "application/json", ``, 400, "invalid_argument", "body"},
		{"array body", "POST", "/v1/users", "application/json", `[]`, 400, "invalid_argument", "body"},
		{"trailing data", "POST", "/v1/users", "application/json", `{"name":"A","email":"a@example.com","password":"password1"} {}`, 400, "invalid_argument", "body"},
		{"unknown field", "POST", "/v1/users", "application/json", `{"name":"A","email":"a@example.com","password":"password1","admin":true}`, 400, "invalid_argument", "admin"},
		{"wrong type", "POST", "/v1/users", "application/json", `{"name":"A","email":42,"password":"password1"}`, 400, "invalid_argument", "email"},
		{"null field", "POST", "/v1/users", "application/json", `{"name":null,"email":"a@example.com","password":"password1"}`, 400, "invalid_argument", "name"},
		{"missing fields", "POST", "/v1/users", "application/json", `{}`, 400, "invalid_argument", "name"},
		{"missing email", "POST", "/v1/users", "application/json", `{"name":"A","password":"password1"}`, 400, "invalid_argument", "email"},
		{"missing password", "POST", "/v1/users", "application/json", `{"name":"A","email":"a@example.com"}`, 400, "invalid_argument", "password"},
		{"name too long", "POST", "/v1/users", "application/json", `{"name":"` + strings.Repeat("n", 201) + `","email":"a@example.com","password":"password1"}`, 400, "invalid_argument", "name"},
		{"blank name", "POST", "/v1/users", "application/json", `{"name":"  ","email":"a@example.com","password":"password1"}`, 400, "invalid_argument", "name"},
		{"display-name email", "POST", "/v1/users", "application/json", `{"name":"A","email":"Ada <a@example.com>","password":"password1"}`, 400, "invalid_argument", "email"},
		{"short password", "POST", "/v1/users", "application/json", `{"name":"A","email":"a@example.com","password":"1234567"}`, 400, "invalid_argument", "password"},
		{"long password", "POST", "/v1/users", "application/json", `{"name":"A","email":"a@example.com","password":"` + strings.Repeat("p", 73) + `"}`, 400, "invalid_argument", "password"},
		{"limit zero", "GET", "/v1/users?limit=0", "", "", 400, "invalid_argument", "limit"},
		{"limit too large", "GET", "/v1/users?limit=501", "", "", 400, "invalid_argument", "limit"},
		{"limit not a number", "GET", "/v1/users?limit=abc", "", "", 400, "invalid_argument", "limit"},
		{"cursor made up", "GET", "/v1/users?cursor=" + taken.ID, "", "", 400, "invalid_argument", "cursor"},
		{"cursor truncated", "GET", "/v1/users?cursor=" + url.QueryEscape(validCursor[:len(validCursor)-3]), "", "", 400, "invalid_argument", "cursor"},
		{"unknown user", "GET", "/v1/users/" + ids.New(IDPrefix), "", "", 404, "not_found", ""},
		{"malformed id", "GET", "/v1/users/not-an-id", "", "", 404, "not_found", ""},
		{"unknown route", "GET", "/v1/userz", "", "", 404, "not_found", ""},
		{"nested route", "GET", "/v1/users/" + taken.ID + "/orders", "", "", 404, "not_found", ""},
		{"duplicate email", "POST", "/v1/users", "application/json", `{"name":"B","email":"TAKEN@example.com","password":"password1"}`, 409, "already_exists", ""},
		{"too large", "POST", "/v1/users", "application/json", `{"name":"` + strings.Repeat("n", transport.MaxBodyBytes) + `"}`, 413, "payload_too_large", ""},
		{"not JSON content type", "POST", "/v1/users", "text/plain", `{"name":"A","email":"a@example.com","password":"password1"}`, 415, "unsupported_media_type", ""},
		{"form content type", "POST", "/v1/users", "application/x-www-form-urlencoded", `name=A`, 415, "unsupported_media_type", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := st.do(tc.method, tc.target, tc.ctype, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			code, message := decodeError(t, rec)
			if code != tc.code {
				t.Fatalf("code %q, want %q (%s)", code, tc.code, message)
			}
			if tc.field != "" && !strings.HasPrefix(message, tc.field+": ") {
				t.Fatalf("message %q does not name %s", message, tc.field)
			}
		})
	}
}

func TestHTTPMethodNotAllowed(t *testing.T) {
	st := newStack(t)
	for _, tc := range []struct {
		method, target string
		allow          []string
	}{
		{http.MethodDelete, "/v1/users", []string{"GET", "POST"}},
		{http.MethodPut, "/v1/users", []string{"GET", "POST"}},
		{http.MethodPost, "/v1/users/" + ids.New(IDPrefix), []string{"GET"}},
		{http.MethodDelete, "/v1/users/" + ids.New(IDPrefix), []string{"GET"}},
		{http.MethodPost, "/healthz", []string{"GET"}},
	} {
		rec := st.do(tc.method, tc.target, "", "")
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d", tc.method, tc.target, rec.Code)
			continue
		}
		if code, _ := decodeError(t, rec); code != "method_not_allowed" {
			t.Errorf("%s %s: code %s", tc.method, tc.target, code)
		}
		allow := rec.Header().Get("Allow")
		for _, m := range tc.allow {
			if !strings.Contains(allow, m) {
				t.Errorf("%s %s: Allow %q lacks %s", tc.method, tc.target, allow, m)
			}
		}
	}
}

// Walking the pages with the cursors the service hands out visits every
// user once, in ID order, with no duplicates or gaps.
func TestHTTPPaginationWalk(t *testing.T) {
	st := newStack(t)
	const total, limit = 23, 5
	var want []string
	for i := range total {
		want = append(want, st.create(t, fmt.Sprintf("User %d", i), fmt.Sprintf("user%d@example.com", i), "password1").ID)
	}
	sort.Strings(want)

	var got []string
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		target := fmt.Sprintf("/v1/users?limit=%d", limit)
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		rec := st.do(http.MethodGet, target, "", "")
		var page transport.ListBody[User]
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
			t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		pages++
		if pages > total {
			t.Fatal("pagination does not end")
		}
		if len(page.Items) > limit || (page.NextCursor != "" && len(page.Items) != limit) {
			t.Fatalf("page %d has %d items, next %q", pages, len(page.Items), page.NextCursor)
		}
		for _, u := range page.Items {
			if seen[u.ID] {
				t.Fatalf("user %s listed twice", u.ID)
			}
			seen[u.ID] = true
			got = append(got, u.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("walked %v\nwant   %v", got, want)
	}
	if pages != (total+limit-1)/limit {
		t.Fatalf("%d pages", pages)
	}
	// The default limit (50) returns them all at once.
	rec := st.do(http.MethodGet, "/v1/users", "", "")
	var page transport.ListBody[User]
	if json.Unmarshal(rec.Body.Bytes(), &page) != nil || len(page.Items) != total || page.NextCursor != "" {
		t.Fatalf("default page: %s", rec.Body)
	}
}

func TestHTTPOps(t *testing.T) {
	st := newStack(t)
	st.create(t, "Ops", "ops@example.com", "password1")
	if rec := st.do(http.MethodGet, "/healthz", "", ""); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Fatalf("/healthz: %d %s", rec.Code, rec.Body)
	}
	if rec := st.do(http.MethodGet, "/readyz", "", ""); rec.Code != 200 {
		t.Fatalf("/readyz: %d %s", rec.Code, rec.Body)
	}
	rec := st.do(http.MethodGet, "/metrics", "", "")
	for _, want := range []string{
		`http_request_duration_seconds_count{code="201",method="POST",route="POST /v1/users"} 1`,
		`service_method_duration_seconds_count{method="CreateUser",outcome="ok"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	st.store.Close()
	if rec := st.do(http.MethodGet, "/readyz", "", ""); rec.Code != 503 {
		t.Fatalf("/readyz with the database closed: %d %s", rec.Code, rec.Body)
	}
	if rec := st.do(http.MethodGet, "/healthz", "", ""); rec.Code != 200 {
		t.Fatalf("/healthz with the database closed: %d", rec.Code)
	}
}

// Passwords never reach a log line, nor an answer, whatever the request.
func TestHTTPNeverLogsPassword(t *testing.T) {
	st := newStack(t)
	const secret = "Zebra-Secret-4242"
	bodies := []string{
		`{"name":"Ada","email":"ada@example.com","password":"` + secret + `"}`,
		`{"name":"Ada","email":"ADA@example.com","password":"` + secret + `"}`,
		`{"name":"Ada","email":"bad","password":"` + secret + `"}`,
		`{"name":"Ada","email":"ada2@example.com","password":"` + secret + strings.Repeat("x", 60) + `"}`,
		`{"name":"Ada","email":"ada3@example.com","password":"` + secret + `","extra":1}`,
		`{"name":"Ada","email":"ada4@example.com","password":"` + secret + `"`,
		`{"name":"Ada","email":"ada5@example.com","password":["` + secret + `"]}`,
	}
	for _, body := range bodies {
		rec := st.do(http.MethodPost, "/v1/users", "application/json", body)
		if strings.Contains(rec.Body.String(), secret) || strings.Contains(rec.Body.String(), "$2a$") {
			t.Errorf("answer %d %s carries the password or its hash", rec.Code, rec.Body)
		}
	}
	if len(st.accessLog.Records(t)) != len(bodies) || len(st.serviceLg.Records(t)) < 3 {
		t.Fatalf("logs were not written:\n%s\n%s", st.accessLog, st.serviceLg)
	}
	for name, sink := range map[string]*logSink{"access": st.accessLog, "service": st.serviceLg} {
		if s := sink.String(); strings.Contains(s, secret) || strings.Contains(s, "$2a$") {
			t.Errorf("%s log carries the password or its hash:\n%s", name, s)
		}
	}
}

func TestHTTPAccessLogLine(t *testing.T) {
	st := newStack(t)
	req := httptest.NewRequest(http.MethodGet, "/v1/users/"+ids.New(IDPrefix), nil)
	req.Header.Set(transport.RequestIDHeader, "rid-http-1")
	rec := httptest.NewRecorder()
	st.handler.ServeHTTP(rec, req)
	if rec.Code != 404 || rec.Header().Get(transport.RequestIDHeader) != "rid-http-1" {
		t.Fatalf("%d, request id %q", rec.Code, rec.Header().Get(transport.RequestIDHeader))
	}
	lines := st.accessLog.Records(t)
	if len(lines) != 1 {
		t.Fatalf("%d access log lines", len(lines))
	}
	l := lines[0]
	if l["request_id"] != "rid-http-1" || l["method"] != "GET" || l["route"] != "GET /v1/users/{id}" || l["status"] != float64(404) || l["duration"] == nil {
		t.Fatalf("access log %v", l)
	}
	if s := st.serviceLg.Records(t); len(s) != 1 || s[0]["request_id"] != "rid-http-1" {
		t.Fatalf("service log %v does not carry the request id", s)
	}
}

func TestHTTPCreateWithoutContentTypeIsJSON(t *testing.T) {
	rec := newStack(t).do(http.MethodPost, "/v1/users", "", `{"name":"N","email":"n@example.com","password":"password1"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST without Content-Type: %d %s", rec.Code, rec.Body)
	}
}

// A failing store is a 500 internal whose cause reaches the logs, not the
// caller.
func TestHTTPInternalErrorLeaksNothing(t *testing.T) {
	store := newMemStore()
	store.err = kitshop.Internal(errors.New("disk full at /var/lib/kitshop/users.db"))
	access, service := &logSink{}, &logSink{}
	svc := LoggingMiddleware(log.NewJSONLogger(service))(NewService(store, WithBcryptCost(bcrypt.MinCost)))
	h := NewHTTPHandler(NewEndpointSet(svc, testkit.AsAdmin), transport.Ops{Cursors: testCursors, Logger: log.NewJSONLogger(access)})
	for _, tc := range []struct{ method, target, body string }{
		{http.MethodPost, "/v1/users", `{"name":"N","email":"n@example.com","password":"password1"}`},
		{http.MethodGet, "/v1/users/" + ids.New(IDPrefix), ""},
		{http.MethodGet, "/v1/users", ""},
	} {
		access.Reset()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body)))
		if rec.Code != 500 {
			t.Fatalf("%s %s: %d", tc.method, tc.target, rec.Code)
		}
		if code, msg := decodeError(t, rec); code != "internal" || msg != "internal error" || strings.Contains(rec.Body.String(), "disk") {
			t.Fatalf("%s %s: %s", tc.method, tc.target, rec.Body)
		}
		if !strings.Contains(access.String(), "disk full") {
			t.Fatalf("%s %s: access log lacks the cause: %s", tc.method, tc.target, access)
		}
	}
	if !strings.Contains(service.String(), "disk full") {
		t.Fatalf("service log lacks the cause: %s", service)
	}
}
