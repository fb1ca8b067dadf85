package procs

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// maxLine is the longest line passed on whole; a longer one is passed on
// in pieces of this size, each with the prefix.
const maxLine = 64 << 10

// copyLines writes each line read from r to w as prefix+line+"\n" in one
// Write, and reports each non-empty line to last. It reads until r ends, so
// the child never blocks on a full pipe, whatever w does.
func copyLines(r io.Reader, w io.Writer, prefix string, last func(string)) {
	br := bufio.NewReaderSize(r, maxLine)
	var out []byte
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			out = append(append(out[:0], prefix...), line...)
			if out[len(out)-1] != '\n' {
				out = append(out, '\n')
			}
			_, _ = w.Write(out)
			if text := bytes.TrimRight(line, "\r\n"); len(text) > 0 {
				last(string(text))
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// SyncWriter returns a writer that passes each Write on to w under a lock,
// so that several processes' Output, and the caller's own messages, can
// share w (a terminal, a file, a buffer in a test) without interleaving
// within a line.
func SyncWriter(w io.Writer) io.Writer { return &syncWriter{w: w} }

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
