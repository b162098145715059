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

func TestRetriesWithBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := av.NewVirtualClock(0)
	src := &flaky{failN: 4, err: errors.New("no such device"), clock: clock}
	drops := av.NewDrops()
	s := retry.New(src, retry.Config{Stream: "cam0", MinBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}, clock, drops, nil)
	q := av.NewQueue[av.Sample]("q", 4, av.Block, nil)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), q, 0) }()
	// Drive the virtual clock until the source is through its failures.
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if s.Failures() != 4 || drops.Get("cam0", retry.DropDeviceError) != 4 {
				t.Fatalf("failures %d, counted %d; want 4", s.Failures(), drops.Get("cam0", retry.DropDeviceError))
			}
			// Backoff: 100, 200, 300 (capped), 300 ms of clock time
			// between runs; the test steps the clock 1 ms at a time, so a
			// retry may start a few steps late, never early.
			want := []int64{100e6, 200e6, 300e6, 300e6}
			for i := 1; i < len(src.at); i++ {
				if d := src.at[i] - src.at[i-1]; d < want[i-1] || d > want[i-1]+50e6 {
					t.Fatalf("run %d came %d ns after the previous one, want %d (runs at %v)", i, d, want[i-1], src.at)
				}
			}
			if len(q.C()) != 1 {
				t.Fatalf("%d samples, want 1", len(q.C()))
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("supervisor did not finish; %d runs", src.runCount())
		}
		clock.Advance(int64(time.Millisecond))
		for range 10 {
			runtime.Gosched() // let the supervisor react to the new time
		}
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
