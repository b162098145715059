package fuse

import (
	"sync"
	"time"
)

// workerIdle is how long a worker goroutine waits for the next part before
// it exits. Workers live while ticks keep coming (a tick is at most tens of
// milliseconds apart) and are gone soon after the last one, so a backend
// that nobody closes leaks nothing for long.
const workerIdle = 50 * time.Millisecond

// pool runs the parts of a batch on worker goroutines, part p always on
// worker p-1 (the caller runs part 0), so the split is fixed. Starting a
// worker allocates; a warm pool does not.
type pool struct {
	workers []worker
	wg      sync.WaitGroup
	stop    chan struct{}
	once    sync.Once
}

type worker struct {
	mu    sync.Mutex
	alive bool
	jobs  chan job // at most one part outstanding
}

type job struct {
	fn           func(part, lo, hi int)
	part, lo, hi int
}

func newPool(n int) *pool {
	p := &pool{workers: make([]worker, n), stop: make(chan struct{})}
	for i := range p.workers {
		p.workers[i].jobs = make(chan job, 1)
	}
	return p
}

// run splits rows into parts contiguous runs (parts ≤ len(workers)+1), runs
// them and waits for all of them.
func (p *pool) run(parts, rows int, fn func(part, lo, hi int)) {
	p.wg.Add(parts - 1)
	for part := 1; part < parts; part++ {
		w := &p.workers[part-1]
		w.mu.Lock()
		w.jobs <- job{fn: fn, part: part, lo: part * rows / parts, hi: (part + 1) * rows / parts}
		if !w.alive {
			w.alive = true
			go p.loop(w)
		}
		w.mu.Unlock()
	}
	fn(0, 0, rows/parts)
	p.wg.Wait()
}

func (p *pool) loop(w *worker) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		select {
		case j := <-w.jobs:
			j.fn(j.part, j.lo, j.hi)
			p.wg.Done()
			idle.Reset(workerIdle)
		case <-idle.C:
			if p.exit(w) {
				return
			}
			idle.Reset(workerIdle)
		case <-p.stop:
			if p.exit(w) {
				return
			}
		}
	}
}

// exit marks w stopped unless a part is waiting for it.
func (p *pool) exit(w *worker) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.jobs) > 0 {
		return false
	}
	w.alive = false
	return true
}

// close stops the workers; a later run starts them again.
func (p *pool) close() {
	p.once.Do(func() { close(p.stop) })
}
