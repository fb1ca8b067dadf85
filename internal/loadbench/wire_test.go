package loadbench

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
)

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name      string
		raw       string
		status    int
		keepAlive bool
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, true},
		{"chunked", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nTrailer: v\r\n\r\n", 201, true},
		{"no body", "HTTP/1.1 204 No Content\r\n\r\n", 204, true},
		{"connection close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 503, false},
		{"body to the end", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, false},
		{"case of header names", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Two answers back to back: the first must be read exactly.
			br := bufio.NewReader(strings.NewReader(tc.raw + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
			status, keepAlive, err := readResponse(br)
			if err != nil || status != tc.status || keepAlive != tc.keepAlive {
				t.Fatalf("got %d keep-alive %v err %v, want %d %v", status, keepAlive, err, tc.status, tc.keepAlive)
			}
			if tc.keepAlive {
				if status, _, err := readResponse(br); err != nil || status != 200 {
					t.Fatalf("next answer: %d %v: the first was not read exactly", status, err)
				}
			}
		})
	}
	for _, bad := range []string{"", "HTTP/1.1 2x0 OK\r\n\r\n", "SMTP ready\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"} {
		if _, _, err := readResponse(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("readResponse(%q) succeeded", bad)
		}
	}
}

// TestWireConnAgainstNetHTTP drives a real net/http server: keep-alive
// requests, a JSON body, and the server closing the connection.
func TestWireConnAgainstNetHTTP(t *testing.T) {
	var gotBody []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = append(gotBody, r.Method+" "+r.URL.Path+" "+r.Header.Get("Idempotency-Key")+" "+string(b))
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		if r.URL.Path == "/big" { // more than net/http buffers: chunked
			_, _ = w.Write([]byte(strings.Repeat("x", 10000)))
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	c := newWireConn(addr, 5*time.Second)
	defer c.close()
	for _, req := range [][]byte{
		buildRequest(nil, http.MethodGet, addr, "/a", nil, nil),
		buildRequest(nil, http.MethodPost, addr, "/b", []string{"Idempotency-Key: k1"}, []byte(`{"x":1}`)),
		buildRequest(nil, http.MethodGet, addr, "/big", nil, nil),
		buildRequest(nil, http.MethodGet, addr, "/close", nil, nil),
		buildRequest(nil, http.MethodGet, addr, "/after-close", nil, nil),
	} {
		status, err := c.roundTrip(req)
		if err != nil || (status != http.StatusCreated && status != http.StatusOK) {
			t.Fatalf("%q: status %d err %v", req, status, err)
		}
	}
	want := []string{"GET /a  ", `POST /b k1 {"x":1}`, "GET /big  ", "GET /close  ", "GET /after-close  "}
	if strings.Join(gotBody, "|") != strings.Join(want, "|") {
		t.Fatalf("server saw %q, want %q", gotBody, want)
	}
}

// TestRawReferenceServesWhatUsersvcServes holds the references to their
// claim: the same body and Content-Type as the user service's encoder, from
// the bare handler and from the go-kit one.
func TestRawReferenceServesWhatUsersvcServes(t *testing.T) {
	u := userservice.User{ID: "usr_01jd3k5x0r8f3m4c8q9w2e7t6y", Name: "Ada <Lovelace> & co", Email: "ada@example.com",
		CreatedAt: time.Date(2025, 3, 1, 12, 30, 45, 123456000, time.UTC)}
	b, _ := json.Marshal([]userservice.User{u})
	file := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	users, err := readUsers(file)
	if err != nil {
		t.Fatal(err)
	}
	want := httptest.NewRecorder()
	if err := transport.EncodeJSONResponse(t.Context(), want, u); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Handler{"raw": rawUsersHandler(users), "go-kit": kitUsersHandler(users)} {
		got := httptest.NewRecorder()
		h.ServeHTTP(got, httptest.NewRequest(http.MethodGet, "/v1/users/"+u.ID, nil))
		if got.Code != want.Code || got.Body.String() != want.Body.String() ||
			got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Fatalf("%s reference: %d %q %q\nuser service: %d %q %q", name, got.Code, got.Header().Get("Content-Type"), got.Body,
				want.Code, want.Header().Get("Content-Type"), want.Body)
		}
		missing := httptest.NewRecorder()
		h.ServeHTTP(missing, httptest.NewRequest(http.MethodGet, "/v1/users/usr_nobody", nil))
		if missing.Code != http.StatusNotFound {
			t.Fatalf("%s reference, unknown user: %d", name, missing.Code)
		}
	}
}

func readReport(t *testing.T, path string) Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}
