package gateway

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSharedBodyGivesEveryAttemptTheWholeBody(t *testing.T) {
	const body = "0123456789abcdefghij"
	s := &sharedBody{src: iotest.OneByteReader(strings.NewReader(body)), keep: true}
	first, err := s.open()
	if err != nil {
		t.Fatal(err)
	}
	half := make([]byte, 10)
	if _, err := io.ReadFull(first, half); err != nil {
		t.Fatal(err)
	}
	_ = first.Close() // the attempt failed half way through
	if _, err := first.Read(half); !errors.Is(err, errBodyClosed) {
		t.Fatalf("read after close: %v", err)
	}
	for i := range 2 {
		again, err := s.open()
		if err != nil {
			t.Fatalf("resend %d: %v", i, err)
		}
		got, err := io.ReadAll(again)
		if string(got) != body || err != nil {
			t.Fatalf("resend %d read %q, %v", i, got, err)
		}
	}
}

func TestSharedBodyNotKeptCanBeResentOnlyUnread(t *testing.T) {
	s := &sharedBody{src: strings.NewReader("payload")}
	if !s.resendable() {
		t.Fatal("an unread body is resendable")
	}
	first, _ := s.open()
	_ = first.Close() // the attempt could not connect: it read nothing
	second, err := s.open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Read(make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	if s.resendable() {
		t.Fatal("a body read in part and not kept is resendable")
	}
	if _, err := s.open(); !errors.Is(err, errBodyGone) {
		t.Fatalf("open after a partial read: %v", err)
	}
	if got, _ := io.ReadAll(second); string(got) != "load" {
		t.Fatalf("the reader that began goes on: %q", got)
	}
}

func TestSharedBodyKeepsNoMoreThanServicesAccept(t *testing.T) {
	s := &sharedBody{src: bytes.NewReader(make([]byte, maxKeptBody+1)), keep: true}
	r, _ := s.open()
	if n, err := io.Copy(io.Discard, r); n != maxKeptBody+1 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	if s.resendable() || len(s.kept) > maxKeptBody {
		t.Fatalf("a body over the limit: resendable %v, %d bytes kept", s.resendable(), len(s.kept))
	}
}
