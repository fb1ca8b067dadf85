package loadbench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// wireConn is one keep-alive HTTP/1.1 connection of the load generator. It
// writes requests built in advance and reads only what it needs of each
// answer (status, body length), so that the generator spends a fraction
// of what the servers it measures spend per request and the servers, not
// the generator, set the pace. (net/http's client costs about as much per
// request as its server: driving a raw net/http server with it would
// measure the client.) Not safe for concurrent use: one per worker.
type wireConn struct {
	addr    string // host:port
	timeout time.Duration
	c       net.Conn
	br      *bufio.Reader
}

func newWireConn(addr string, timeout time.Duration) *wireConn {
	return &wireConn{addr: addr, timeout: timeout}
}

// roundTrip sends req, a whole HTTP/1.1 request, and returns the answer's
// status once its body has been read (and thrown away). After any error
// the connection is closed; the next call dials again.
func (w *wireConn) roundTrip(req []byte) (int, error) {
	if w.c == nil {
		c, err := net.DialTimeout("tcp", w.addr, w.timeout)
		if err != nil {
			return 0, err
		}
		w.c = c
		if w.br == nil {
			w.br = bufio.NewReaderSize(c, 16<<10)
		} else {
			w.br.Reset(c)
		}
	}
	_ = w.c.SetDeadline(time.Now().Add(w.timeout))
	if _, err := w.c.Write(req); err != nil {
		w.close()
		return 0, err
	}
	status, keepAlive, err := readResponse(w.br)
	if err != nil {
		w.close()
		return 0, err
	}
	if !keepAlive {
		w.close()
	}
	return status, nil
}

func (w *wireConn) close() {
	if w.c != nil {
		_ = w.c.Close()
		w.c = nil
	}
}

var (
	errMalformed = errors.New("malformed HTTP response")
	crlf         = []byte("\r\n")
)

// readResponse reads one HTTP/1.1 response from br, discarding its body
// (Content-Length or chunked), and tells its status and whether the
// connection may carry another request.
func readResponse(br *bufio.Reader) (status int, keepAlive bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	keepAlive = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	length, chunked := int64(-1), false
	for {
		line, err = readLine(br)
		if err != nil {
			return 0, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("%w: header line %q", errMalformed, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, err = strconv.ParseInt(string(value), 10, 64)
			if err != nil || length < 0 {
				return 0, false, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keepAlive = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keepAlive = true
			}
		}
	}
	switch {
	case status == 204 || status == 304 || status/100 == 1:
	case chunked:
		err = discardChunked(br)
	case length >= 0:
		_, err = br.Discard(int(length))
	default: // the body runs until the server closes the connection
		_, err = io.Copy(io.Discard, br)
		keepAlive = false
	}
	if err != nil {
		return 0, false, err
	}
	return status, keepAlive, nil
}

func discardChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if n == 0 {
			for { // trailers, up to the empty line
				line, err := readLine(br)
				if err != nil {
					return err
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

// readLine returns the next line without its CRLF; the slice is valid
// until the next read from br.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
}

// buildRequest writes an HTTP/1.1 request: method, path, Host, the given
// header lines ("Name: value"), and a JSON body when body is not nil.
func buildRequest(dst []byte, method, host, path string, headers []string, body []byte) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, crlf...)
	for _, h := range headers {
		dst = append(dst, h...)
		dst = append(dst, crlf...)
	}
	if body != nil {
		dst = append(dst, "Content-Type: application/json\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, crlf...)
	}
	dst = append(dst, crlf...)
	return append(dst, body...)
}
