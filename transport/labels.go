package transport

import (
	"net/http"
	"strconv"
)

// The label values of http_request_duration_seconds come from these sets
// only, never from the client as sent: an invented method is "other", a
// path no route matched is "unmatched" (see Instrument), and a status
// outside the codes a service writes is "other". The series count is then
// bounded by the routes a service declares, whatever its clients send.

// knownMethods are the methods of RFC 9110 and PATCH.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodConnect: true,
	http.MethodOptions: true, http.MethodTrace: true,
}

// knownCodes are the statuses a service or the gateway writes itself, and
// those net/http or a backend may answer with.
var knownCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range []int{200, 201, 204, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 408,
		409, 411, 413, 414, 415, 422, 429, 431, 499, 500, 501, 502, 503, 504, 505} {
		m[strconv.Itoa(c)] = true
	}
	return m
}()

// codeStrings holds the label of every known code, so that labelling a
// status allocates nothing.
var codeStrings = func() map[int]string {
	m := map[int]string{}
	for s := range knownCodes {
		c, _ := strconv.Atoi(s)
		m[c] = s
	}
	return m
}()

func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "other"
}

func codeLabel(c int) string {
	if s, ok := codeStrings[c]; ok {
		return s
	}
	return "other"
}
