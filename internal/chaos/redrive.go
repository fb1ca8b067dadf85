package chaos

import (
	"context"
	"sort"
	"sync"
	"time"
)

// redriveWorkers bounds the concurrent retries of the re-drive. It is kept
// near the steady load's own concurrency: ordersvc pools one keep-alive
// connection per concurrent downstream call, and a burst of re-drives
// would leave a larger (idle, harmless) pool that check 7 would see as
// goroutines above the steady baseline.
const redriveWorkers = 2

// undecided returns, sorted, the keys whose last exchange was not
// definitive (no answer, a 5xx, 409 request_in_progress).
func undecided(exchanges []Exchange) []string {
	last := map[string]Exchange{}
	for _, ex := range exchanges {
		if cur, ok := last[ex.Key]; !ok || ex.Start >= cur.Start {
			last[ex.Key] = ex
		}
	}
	var keys []string
	for k, ex := range last {
		if !ex.Definitive() {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// redrive asks again, with the same key and body, for every key in keys,
// until each gets a definitive answer or within passes; between tries of
// a key it waits the answer's Retry-After, kept within [100ms, 1s]. It
// returns the keys still undecided. This is what makes "one order per
// key" decidable: afterwards every key's outcome is known to the client.
func redrive(ctx context.Context, g *loadGen, reqs map[string]orderRequest, keys []string, within time.Duration) []string {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	work := make(chan string)
	var mu sync.Mutex
	var left []string
	var wg sync.WaitGroup
	for range min(redriveWorkers, len(keys)) {
		wg.Go(func() {
			for key := range work {
				if !redriveKey(ctx, g, reqs[key]) {
					mu.Lock()
					left = append(left, key)
					mu.Unlock()
				}
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	sort.Strings(left)
	return left
}

func redriveKey(ctx context.Context, g *loadGen, req orderRequest) bool {
	for ctx.Err() == nil {
		ex := g.send(ctx, req, kindRedrive)
		if ex.Definitive() {
			return true
		}
		wait := min(max(ex.retryAfter, 100*time.Millisecond), time.Second)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return false
}
