package periodic

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/testkit"
)

func TestPurgeInterval(t *testing.T) {
	for ttl, want := range map[time.Duration]time.Duration{
		time.Millisecond: time.Second,
		30 * time.Second: 3 * time.Second,
		24 * time.Hour:   10 * time.Minute,
	} {
		if got := PurgeInterval(ttl); got != want {
			t.Errorf("PurgeInterval(%s) = %s, want %s", ttl, got, want)
		}
	}
}

func TestRunKeepsGoingAfterFailuresAndStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, time.Millisecond, nil, "work", func(context.Context) error {
			calls.Add(1)
			return errors.New("not yet")
		})
	}()
	testkit.Eventually(t, 5*time.Second, "three calls despite failures", func() bool { return calls.Load() >= 3 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
