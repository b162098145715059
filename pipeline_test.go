package fusiond

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"github.com/seed-4c364652/fusiond/sinks"
	"go.uber.org/goleak"
)

// recordingSink keeps what the publish stage writes.
type recordingSink struct {
	mu        sync.Mutex
	decisions []*av.Decision
	release   chan struct{} // when set, every write waits for it
}

func (s *recordingSink) WriteDecision(d *av.Decision, payload []byte) error {
	if s.release != nil {
		<-s.release
	}
	s.mu.Lock()
	s.decisions = append(s.decisions, d)
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.decisions)
}

// TestPipelineDrainsOnShutdown: stopping the sources lets everything queued
// reach the sinks, including the decision of the interval in progress.
func TestPipelineDrainsOnShutdown(t *testing.T) {
	defer goleak.VerifyNone(t)
	sink := &recordingSink{}
	p, err := newPipeline(testenv.Config(t), &options{clock: av.NewRealClock(), log: slog.New(slog.DiscardHandler)}, []sinks.Sink{sink})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.run(ctx) }()
	avtest.Poll(t, "three decisions", func() bool { return sink.count() >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, d := range p.drops.Snapshot() {
		if d.Reason == av.DropShutdown && d.Count > 0 {
			t.Errorf("dropped at shutdown with ample drain time: %+v", d)
		}
	}
	for i, d := range sink.decisions {
		if d.Seq != uint64(i+1) {
			t.Fatalf("decision %d has seq %d", i, d.Seq)
		}
	}
}

// TestPipelineDrainTimeout: a sink that hangs cannot hold shutdown past the
// drain timeout, and what was in flight is counted.
func TestPipelineDrainTimeout(t *testing.T) {
	defer goleak.VerifyNone(t)
	sink := &recordingSink{release: make(chan struct{})}
	logs := &avtest.LogBuffer{}
	cfg := testenv.Config(t, "pipeline.drain_timeout=50ms")
	p, err := newPipeline(cfg, &options{clock: av.NewRealClock(), log: slog.New(slog.NewTextHandler(logs, nil))}, []sinks.Sink{sink})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.run(ctx) }()
	// Let the hung sink back the pipeline up, all the way to the capture
	// queues, which then drop their oldest samples.
	avtest.Poll(t, "capture drops", func() bool { return p.drops.Get("cam0", av.DropQueueFull) > 0 })
	cancel()
	avtest.Poll(t, "the drain timeout", func() bool { return strings.Contains(logs.String(), "drain timeout passed") })
	close(sink.release) // the sink comes back; the pipeline must now stop
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var shutdown uint64
	for _, d := range p.drops.Snapshot() {
		if d.Reason == av.DropShutdown {
			shutdown += d.Count
		}
	}
	if shutdown == 0 {
		t.Fatalf("nothing counted as dropped at shutdown: %+v", p.drops.Snapshot())
	}
}
