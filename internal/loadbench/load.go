package loadbench

import (
	"context"
	"sync"
	"time"
)

// A doer makes one request and returns nil when the answer was the one
// expected. Each worker has its own (its own connection), so a doer need
// not be safe for concurrent use.
type doer func(ctx context.Context) error

// A target is what a window of load is aimed at: how each worker makes its
// requests, and which processes serve them (for the CPU figures).
type target struct {
	name      string
	newWorker func(worker int) (do doer, done func())
	pids      func() []int
}

// cpuMeter snapshots CPU time: the load generator's (this process), the
// target's processes', all of the run's processes', and the machine's.
type cpuMeter struct {
	all func() []int // every process this run started
}

type cpuSnapshot struct {
	at                     time.Time
	self, target, ours, am float64
}

func (m cpuMeter) snap(target []int) cpuSnapshot {
	s := cpuSnapshot{at: time.Now(), self: processCPU(0), am: machineBusy()}
	for _, pid := range target {
		s.target += processCPU(pid)
	}
	if m.all != nil {
		for _, pid := range m.all() {
			s.ours += processCPU(pid)
		}
	}
	return s
}

// use is the CPU spent from a to b, in cores.
func (a cpuSnapshot) use(b cpuSnapshot) CPUUse {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 {
		return CPUUse{}
	}
	self, target := b.self-a.self, b.target-a.target
	others := (b.am - a.am) - self - (b.ours - a.ours)
	return CPUUse{Loadgen: self / secs, Services: target / secs, Others: max(others, 0) / secs}
}

// closedLoop runs workers that each make requests back to back: warmup
// first (not measured, but it opens and warms the connections), then d
// measured. Requests started within the measured stretch count.
func closedLoop(ctx context.Context, t target, workers int, warmup, d time.Duration, meter cpuMeter) Window {
	start := time.Now().Add(warmup)
	end := start.Add(d)
	lat := make([][]time.Duration, workers)
	errs := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		do, done := t.newWorker(w)
		wg.Go(func() {
			defer done()
			mine := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				err := do(ctx)
				if t0.Before(start) {
					continue
				}
				if err != nil {
					errs[w]++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			lat[w] = mine
		})
	}
	cpu := measureCPU(ctx, t, meter, start, end)
	wg.Wait()
	return collect(lat, errs, d, cpu)
}

// openLoop sends rate requests per second over conns connections, each
// connection paced on its own fixed schedule (a request every conns/rate
// seconds), whatever the answers do: warmup first, then d measured.
//
// Each latency runs from the request's scheduled start when the
// connection was still busy with an earlier answer at that time (so a
// slow server cannot hide its queue: no coordinated omission), and from
// the moment the request was sent when the connection was idle and its
// timer woke up late (the generator's lateness is not the server's).
func openLoop(ctx context.Context, t target, conns int, rate float64, warmup, d time.Duration, meter cpuMeter) Window {
	period := time.Duration(float64(conns) / rate * float64(time.Second))
	// A window shorter than two periods could measure no request at all
	// (a low rate: the order path of a slow disk, in a short run).
	d = max(d, 2*period)
	t0 := time.Now()
	start := t0.Add(warmup)
	end := start.Add(d)
	lat := make([][]time.Duration, conns)
	errs := make([]int, conns)
	var wg sync.WaitGroup
	for w := range conns {
		do, done := t.newWorker(w)
		first := t0.Add(time.Duration(w) * period / time.Duration(conns))
		wg.Go(func() {
			defer done()
			mine := make([]time.Duration, 0, 1024)
			for k := 0; ctx.Err() == nil; k++ {
				scheduled := first.Add(time.Duration(k) * period)
				if !scheduled.Before(end) {
					break
				}
				from := scheduled
				if wait := time.Until(scheduled); wait > 0 {
					if !sleep(ctx, wait) {
						break
					}
					from = time.Now()
				}
				err := do(ctx)
				if scheduled.Before(start) {
					continue
				}
				if err != nil {
					errs[w]++
					continue
				}
				mine = append(mine, time.Since(from))
			}
			lat[w] = mine
		})
	}
	cpu := measureCPU(ctx, t, meter, start, end)
	wg.Wait()
	return collect(lat, errs, d, cpu)
}

// measureCPU snapshots CPU use at start and end.
func measureCPU(ctx context.Context, t target, meter cpuMeter, start, end time.Time) CPUUse {
	var pids []int
	if t.pids != nil {
		pids = t.pids()
	}
	if !sleep(ctx, time.Until(start)) {
		return CPUUse{}
	}
	a := meter.snap(pids)
	if !sleep(ctx, time.Until(end)) {
		return CPUUse{}
	}
	return a.use(meter.snap(pids))
}

func collect(lat [][]time.Duration, errs []int, d time.Duration, cpu CPUUse) Window {
	w := Window{Elapsed: d, CPU: cpu}
	for i := range lat {
		w.Latencies = append(w.Latencies, lat[i]...)
		w.Errors += errs[i]
	}
	return w
}

// sleep waits d or until ctx ends; it tells whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
