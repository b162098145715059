package av

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
)

func TestQueueDropOldestCountsAndNeverBlocks(t *testing.T) {
	drops := NewDrops()
	q := NewQueue("capture:cam", 3, DropOldest, func(v int) { drops.Add("cam", DropQueueFull, 1) })
	for i := range 10 {
		if err := q.Send(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	var got []int
	for v := range q.C() {
		got = append(got, v)
	}
	if len(got) != 3 || got[0] != 7 || got[2] != 9 {
		t.Fatalf("kept %v, want the newest 3", got)
	}
	if n := drops.Get("cam", DropQueueFull); n != 7 {
		t.Fatalf("counted %d drops, want 7", n)
	}
}

func TestQueueBlockWaitsAndHonoursContext(t *testing.T) {
	defer goleak.VerifyNone(t)
	q := NewQueue[int]("bundles", 1, Block, nil)
	if err := q.Send(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Send(ctx, 2) }()
	select {
	case err := <-done:
		t.Fatalf("Send on a full Block queue returned %v", err)
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if q.Len() != 1 || q.Cap() != 1 {
		t.Fatalf("len %d cap %d", q.Len(), q.Cap())
	}
}

func TestQueueDropOldestWithConcurrentReader(t *testing.T) {
	defer goleak.VerifyNone(t)
	var dropped int
	q := NewQueue("q", 4, DropOldest, func(int) { dropped++ })
	received := make(chan int)
	go func() {
		n := 0
		for range q.C() {
			n++
		}
		received <- n
	}()
	for i := range 10000 {
		_ = q.Send(context.Background(), i)
	}
	q.Close()
	if n := <-received; n+dropped != 10000 {
		t.Fatalf("received %d + dropped %d != sent 10000", n, dropped)
	}
}

func TestPoolReusesAndBounds(t *testing.T) {
	fp := NewFramePool(4, 2, BGR24, 1)
	f := fp.Get()
	if len(f.Pix) != 24 || f.Stride != 12 || f.Format != BGR24 {
		t.Fatalf("bad frame %+v", f)
	}
	f.Seq = 9
	f.Release()
	f.Release() // a second release is harmless
	g := fp.Get()
	if g != f || g.Seq != 0 {
		t.Fatalf("pool did not reuse the frame with a cleared header")
	}
	if allocs := testing.AllocsPerRun(100, func() { fp.Get().Release() }); allocs != 0 {
		t.Fatalf("steady-state Get/Release allocates %v", allocs)
	}
}

func TestBundleReleaseReleasesFrame(t *testing.T) {
	fp := NewFramePool(2, 2, Gray8, 2)
	bp := NewBundlePool(8, 2)
	b := bp.Get()
	f := fp.Get()
	b.Frame = f
	b.Missing = append(b.Missing, Audio)
	b.Release()
	if fp.Get() != f {
		t.Fatal("frame not returned to its pool")
	}
	b2 := bp.Get()
	if b2 != b || b2.Frame != nil || len(b2.Missing) != 0 || len(b2.Audio.Data) != 8 {
		t.Fatalf("bundle not reset: %+v", b2)
	}
}

func TestFrameNSConversions(t *testing.T) {
	for _, tc := range []struct {
		frames int64
		rate   int
		ns     int64
	}{
		{0, 48000, 0}, {48000, 48000, 1e9}, {1, 48000, 20833}, {960, 48000, 20e6},
		{44100 * 3600 * 24 * 365, 44100, 3600 * 24 * 365 * 1e9}, {-1, 1000, -1e6},
	} {
		if got := FramesToNS(tc.frames, tc.rate); got != tc.ns {
			t.Errorf("FramesToNS(%d, %d) = %d, want %d", tc.frames, tc.rate, got, tc.ns)
		}
	}
	for _, tc := range []struct {
		ns     int64
		rate   int
		frames int64
	}{
		{1e9, 48000, 48000}, {20833, 48000, 0}, {20834, 48000, 1}, {-1, 1000, -1}, {-1e6, 1000, -1}, {-1e6 - 1, 1000, -2},
	} {
		if got := NSToFrames(tc.ns, tc.rate); got != tc.frames {
			t.Errorf("NSToFrames(%d, %d) = %d, want %d", tc.ns, tc.rate, got, tc.frames)
		}
	}
}

func TestVirtualClock(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := NewVirtualClock(100)
	done := make(chan error)
	go func() { done <- c.WaitUntil(context.Background(), 150) }()
	c.Set(120)
	c.Set(110) // never backwards
	if c.Now() != 120 {
		t.Fatalf("now %d", c.Now())
	}
	select {
	case <-done:
		t.Fatal("woke before its time")
	default:
	}
	c.Advance(30)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.WaitUntil(ctx, 1000); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestRealClockIsMonotonicEpoch(t *testing.T) {
	c := NewRealClock()
	a := c.Now()
	if a < time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() {
		t.Fatalf("not epoch time: %d", a)
	}
	if err := c.WaitUntil(context.Background(), a+int64(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if b := c.Now(); b < a+int64(time.Millisecond) {
		t.Fatalf("clock went from %d to %d", a, b)
	}
}

func TestDecisionLatency(t *testing.T) {
	d := Decision{Stamps: Stamps{100, 110, 120, 150, 160}}
	d.StampLatency()
	if d.LatencyNS["capture_to_publish"] != 60 || d.LatencyNS["sync_to_fuse"] != 30 || d.LatencyNS["arrival_to_publish"] != 50 {
		t.Fatalf("%v", d.LatencyNS)
	}
}

func TestS16RoundTrip(t *testing.T) {
	for s := -32768; s <= 32767; s++ {
		if got := ToS16(FromS16(int16(s))); got != int16(s) {
			t.Fatalf("%d -> %v -> %d", s, FromS16(int16(s)), got)
		}
	}
	for _, tc := range []struct {
		x    float32
		want int16
	}{{0, 0}, {1, 32767}, {-1, -32768}, {2, 32767}, {-2, -32768}, {0.5, 16384}, {-0.5, -16384}, {1.0 / 65536, 1}, {-1.0 / 65536, -1}} {
		if got := ToS16(tc.x); got != tc.want {
			t.Errorf("ToS16(%v) = %d, want %d", tc.x, got, tc.want)
		}
	}
	nan := float32(0)
	nan /= nan
	if ToS16(nan) != 0 {
		t.Error("NaN is not 0")
	}
	if q := QuantizeS16(0.123456); q != QuantizeS16(q) {
		t.Error("QuantizeS16 is not idempotent")
	}
}

// A pool in host memory makes its frames there, frees a buffer once its
// frame is garbage, and falls back to Go memory when the host memory has
// none to give.
func TestFramePoolInHostMemory(t *testing.T) {
	mem := &avtest.HostMemory{}
	fp := NewFramePoolIn(32, 16, BGR24, 2, mem)
	var frames []*Frame
	for range 5 {
		f := fp.Get()
		if len(f.Pix) != 32*16*3 || !mem.Owns(f.Pix) {
			t.Fatalf("a frame of %d bytes, in the host memory: %v", len(f.Pix), mem.Owns(f.Pix))
		}
		frames = append(frames, f)
	}
	for _, f := range frames {
		f.Release() // the pool keeps two; three are garbage
	}
	frames = nil
	avtest.Poll(t, "the dropped frames' buffers freed", func() bool {
		runtime.GC()
		_, frees := mem.Counts()
		return frees == 3
	})
	if f := fp.Get(); !mem.Owns(f.Pix) {
		t.Error("a pooled frame left the host memory")
	}
	mem.Fail = true
	fp = NewFramePoolIn(32, 16, Gray8, 2, mem)
	if f := fp.Get(); len(f.Pix) != 32*16 || mem.Owns(f.Pix) {
		t.Errorf("without host memory: %d bytes, owned %v", len(f.Pix), mem.Owns(f.Pix))
	}
}
