package fusiond

import (
	"os"
	"runtime"
	"sync"

	"github.com/seed-4c364652/fusiond/fuse/vision"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
)

// A goroutine in a C call keeps the Go scheduler's P (its right to run Go
// code) until the runtime's monitor takes it back, and the monitor does so
// lazily: while it sleeps, up to 10 ms. The pipelines' stages that spend
// long stretches in C (a camera's capture blocks in OpenCV until the next
// frame; a camera's face detector runs its cascade passes on a worker;
// replay's passes run ahead) would leave fusion and publishing waiting
// for a P: measured with four cameras on the 2-core machine, tick p99
// 13.6 ms, against 2.1 ms with a P added for each (BENCHMARKS.md "A whole
// robot"). So a pipeline adds a P for each such thread while it runs,
// unless the GOMAXPROCS environment variable fixes them; and it runs
// OpenCV's parallel loops on the calling thread: fusiond's goroutines
// already spread the cameras over the cores, and the detector's worker
// runs at a lower priority than OpenCV's own threads would.
var cThreads struct {
	mu      sync.Mutex
	held    int // Ps added for the pipelines running
	procs   int // GOMAXPROCS before the first
	opencv  int // OpenCV's threads before the first
	running int // pipelines holding
}

// holdCThreads adds n Ps for as long as the pipeline runs and sets
// OpenCV to one thread; release puts both back when the last pipeline
// releases.
func holdCThreads(n int) (release func()) {
	c := &cThreads
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running == 0 {
		c.procs = runtime.GOMAXPROCS(0)
		c.opencv = vision.OpenCVThreads()
		vision.SetOpenCVThreads(1)
	}
	c.running++
	fixed := os.Getenv("GOMAXPROCS") != ""
	if !fixed {
		c.held += n
		runtime.GOMAXPROCS(c.procs + c.held)
	}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.running--
		if !fixed {
			c.held -= n
			runtime.GOMAXPROCS(c.procs + c.held)
		}
		if c.running == 0 {
			vision.SetOpenCVThreads(c.opencv)
		}
	}
}

// cameraThreads counts the cameras whose visual features run apart, each
// with its face detector's worker.
func (st *stages) cameraThreads() int {
	n := 0
	for _, v := range st.apart {
		if v != nil {
			n++
		}
	}
	return n
}

// waitsInC is 1 for a source kind whose capture waits in C calls, else 0.
func waitsInC(m sources.Modality, kind string) int {
	if s, err := sources.Lookup(m, kind); err == nil && s.WaitsInC {
		return 1
	}
	return 0
}
