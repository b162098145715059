//go:build !nosensors

package vision

import (
	"runtime"

	"gocv.io/x/gocv"
)

// detectLag is how many frames after its own a frame's cascade passes are
// matched to the tracked faces. The passes run beside the frames that
// follow, on a worker thread of lower priority, so that a frame's
// features never wait for them (a pass over the smallest faces costs a
// whole frame period's worth of a core); tracking and verification still
// run on every frame. A new face is reported detectLag frames later, the
// same in live runs and replays. A worker that has not finished a pass by
// then is waited for.
const detectLag = 1

// pass is one frame's cascade passes: handed over made ahead (UseScan),
// or run by the worker on copies of the frame's lumas.
type pass struct {
	n            uint64 // the frame's place since the last restart
	valid        bool   // a frame with cascades on took this slot
	running      bool   // on the worker: wait for it before reading
	hasSmall     bool   // the frame's band of small faces ran
	hasLarge     bool   // its band of large faces ran
	sLo, sHi     int    // the bands, for the worker
	lLo, lHi     int
	small, large []hit    // raw: grouped when matched
	scan, smallG gocv.Mat // the worker's inputs
}

// passWorker runs passes in order on a goroutine locked to a thread of
// lower priority, with cascades and buffers of its own (x).
type passWorker struct {
	x    *Extractor
	jobs chan *pass
	done chan *pass
}

// newWorker returns a worker with cascades of its own, running.
func newWorker(cfg Config, slots int) (*passWorker, error) {
	x, err := newExtractor(cfg)
	if err != nil {
		return nil, err
	}
	w := &passWorker{x: x, jobs: make(chan *pass, slots), done: make(chan *pass, slots)}
	go w.run()
	return w, nil
}

func (w *passWorker) run() {
	runtime.LockOSThread() // the lowered priority dies with the thread
	lowerThreadPriority()
	for p := range w.jobs {
		x := w.x
		if p.hasSmall {
			p.small = append(p.small[:0], x.rawPass(p.scan, x.sw, p.sLo, p.sHi)...)
		}
		if p.hasLarge {
			p.large = append(p.large[:0], x.rawPass(p.smallG, x.dw, p.lLo, p.lHi)...)
		}
		w.done <- p
	}
	close(w.done)
}

// stop waits for the passes running and stops the worker.
func (w *passWorker) stop() {
	close(w.jobs)
	for range w.done {
	}
	w.x.Close()
}

// settle waits for the passes running, forgets every frame's, and sets
// the worker up for frames of the extractor's geometry (after a restart).
func (e *Extractor) settle() {
	for i := range e.passes {
		p := &e.passes[i]
		if p.running {
			<-e.worker.done
		}
		p.valid, p.running = false, false
	}
	if e.worker != nil {
		e.worker.x.restart(e.w, e.h)
	}
}

// startPasses starts frame e.frameN's cascade passes: pre's, when made
// ahead, else on the worker over copies of scan (called only when a band
// of small faces is due) and of the detection luma.
func (e *Extractor) startPasses(pre *Scanned, scan func() gocv.Mat) {
	p := &e.passes[e.frameN%uint64(len(e.passes))]
	p.n, p.valid, p.running = e.frameN, true, false
	p.sLo, p.sHi, p.hasSmall = e.smallSched.band(e.frameN)
	p.lLo, p.lHi, p.hasLarge = e.largeSched.band(e.frameN)
	switch {
	case !p.hasSmall && !p.hasLarge:
	case pre != nil:
		p.small = append(p.small[:0], pre.small...)
		p.large = append(p.large[:0], pre.large...)
	default:
		if p.hasSmall {
			src := scan()
			src.CopyTo(&p.scan)
		}
		if p.hasLarge {
			e.smallG.CopyTo(&p.smallG)
		}
		p.running = true
		e.worker.jobs <- p
	}
}

// lagged returns the passes of the frame detectLag before e.frameN,
// waiting for the worker when they are still running; nil when there is
// no such frame since the last restart.
func (e *Extractor) lagged() *pass {
	if e.frameN < detectLag {
		return nil
	}
	n := e.frameN - detectLag
	p := &e.passes[n%uint64(len(e.passes))]
	if !p.valid || p.n != n {
		return nil
	}
	if p.running {
		<-e.worker.done // passes finish in the order they start
		p.running = false
	}
	return p
}
