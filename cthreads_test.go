package fusiond

import (
	"runtime"
	"testing"

	"github.com/seed-4c364652/fusiond/fuse/vision"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
)

// Pipelines running at once each add their Ps, and OpenCV runs on one
// thread until the last releases; then both are as before.
func TestHoldCThreads(t *testing.T) {
	t.Setenv("GOMAXPROCS", "") // as a daemon started without it
	procs, threads := runtime.GOMAXPROCS(0), vision.OpenCVThreads()
	a := holdCThreads(3)
	b := holdCThreads(2)
	if got := runtime.GOMAXPROCS(0); got != procs+5 {
		t.Errorf("GOMAXPROCS %d with two pipelines holding 3 and 2, want %d", got, procs+5)
	}
	if vision.OpenCVThreads() != 1 {
		t.Errorf("OpenCV on %d threads while pipelines run, want 1", vision.OpenCVThreads())
	}
	a()
	if got := runtime.GOMAXPROCS(0); got != procs+2 {
		t.Errorf("GOMAXPROCS %d after the first released, want %d", got, procs+2)
	}
	b()
	if got := runtime.GOMAXPROCS(0); got != procs || vision.OpenCVThreads() != threads {
		t.Errorf("GOMAXPROCS %d, OpenCV threads %d after both released, want %d, %d", got, vision.OpenCVThreads(), procs, threads)
	}
}

// A GOMAXPROCS the user set is left alone.
func TestHoldCThreadsKeepsTheUsersGOMAXPROCS(t *testing.T) {
	t.Setenv("GOMAXPROCS", "3")
	procs := runtime.GOMAXPROCS(0)
	release := holdCThreads(4)
	defer release()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS %d with GOMAXPROCS set, want %d unchanged", got, procs)
	}
}

// The sources that wait in C calls are the OpenCV cameras and PortAudio.
func TestWaitsInC(t *testing.T) {
	for _, c := range []struct {
		m    sources.Modality
		kind string
		want int
	}{
		{sources.Camera, "device", 1}, {sources.Camera, "file", 1}, {sources.Camera, "url", 1}, {sources.Camera, "gstreamer", 1},
		{sources.Camera, "synthetic", 0}, {sources.Microphone, "portaudio", 1}, {sources.Microphone, "wav", 0},
		{sources.Microphone, "media", 0}, {sources.Microphone, "synthetic", 0}, {sources.Camera, "nonesuch", 0},
	} {
		if got := waitsInC(c.m, c.kind); got != c.want {
			t.Errorf("%s %s: %d, want %d", c.m, c.kind, got, c.want)
		}
	}
}
