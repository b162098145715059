package retry_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/retry"
)

// flaky fails its first failN runs, then sends one sample and ends.
type flaky struct {
	mu    sync.Mutex
	runs  int
	failN int
	err   error
	at    []int64
	clock av.Clock
}

func (f *flaky) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	f.mu.Lock()
	f.runs++
	n := f.runs
	f.at = append(f.at, f.clock.Now())
	f.mu.Unlock()
	if n <= f.failN {
		return f.err
	}
	return out.Send(ctx, &av.Frame{Meta: av.Meta{Stream: "cam0", Seq: uint64(n)}})
}

func (f *flaky) runCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs
}

// steppedClock is a virtual clock that reports each wait, so a test can
// move time exactly to the moment the supervisor waits for.
type steppedClock struct {
	*av.VirtualClock
	waits chan int64
}

func (c *steppedClock) WaitUntil(ctx context.Context, t int64) error {
	select {
	case c.waits <- t:
	case <-ctx.Done():
		return ctx.Err()
	}
	return c.VirtualClock.WaitUntil(ctx, t)
}

func TestRetriesWithBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := &steppedClock{av.NewVirtualClock(0), make(chan int64)}
	src := &flaky{failN: 4, err: errors.New("no such device"), clock: clock}
	drops := av.NewDrops()
	s := retry.New(src, retry.Config{Stream: "cam0", MinBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}, clock, drops, nil)
	q := av.NewQueue[av.Sample]("q", 4, av.Block, nil)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), q, 0) }()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case target := <-clock.waits:
			clock.Set(target) // the backoff passes
			continue
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout.C:
			t.Fatalf("supervisor did not finish; %d runs", src.runCount())
		}
		break
	}
	if s.Failures() != 4 || drops.Get("cam0", retry.DropDeviceError) != 4 {
		t.Fatalf("failures %d, counted %d; want 4", s.Failures(), drops.Get("cam0", retry.DropDeviceError))
	}
	// Backoff: 100, 200, 300 (capped), 300 ms between runs.
	want := []int64{0, 100e6, 300e6, 600e6, 900e6}
	for i, at := range src.at {
		if at != want[i] {
			t.Fatalf("runs at %v, want %v", src.at, want)
		}
	}
	if len(q.C()) != 1 {
		t.Fatalf("%d samples, want 1", len(q.C()))
	}
}

func TestPermanentStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := av.NewVirtualClock(0)
	bad := errors.New("corrupt file")
	src := &flaky{failN: 10, err: retry.Permanent(bad), clock: clock}
	s := retry.New(src, retry.Config{Stream: "mic0"}, clock, nil, nil)
	err := s.Run(context.Background(), av.NewQueue[av.Sample]("q", 1, av.Block, nil), 0)
	if !errors.Is(err, bad) || !retry.IsPermanent(err) || src.runCount() != 1 {
		t.Fatalf("err %v after %d runs; want the permanent error after 1", err, src.runCount())
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := av.NewVirtualClock(0)
	src := &flaky{failN: 1 << 30, err: errors.New("gone"), clock: clock}
	s := retry.New(src, retry.Config{Stream: "cam0"}, clock, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, av.NewQueue[av.Sample]("q", 1, av.Block, nil), 0) }()
	deadline := time.Now().Add(10 * time.Second)
	for src.runCount() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("source never ran")
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("err = %v, want nil after cancellation", err)
	}
}
