package sync

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

const (
	ms      = int64(1e6)
	rate    = 1000 // 1 kHz audio: one frame per millisecond keeps the arithmetic readable
	chunkMS = 10
	t0      = int64(1_700_000_000) * 1e9
)

func testConfig() Config {
	return Config{
		Video: "cam", FramePeriodNS: 33 * ms,
		Audio: "mic", AudioRateHz: rate, AudioChannels: 2,
		AudioWindowNS: 50 * ms, MaxWaitNS: 100 * ms, MinAudioCoverage: 0.5, PendingFrames: 8,
	}
}

// chunk makes audio chunk k; sample value = 1000*channel + frame index, so
// slices can be checked exactly.
func chunk(k int, arrival int64) *av.AudioChunk {
	c := &av.AudioChunk{RateHz: rate, Channels: 2, FirstFrame: int64(k * chunkMS), Data: make([]float32, chunkMS*2)}
	c.Stream, c.Seq = "mic", uint64(k)
	c.CaptureNS = t0 + int64(k*chunkMS)*ms
	c.ArrivalNS = arrival
	for i := range chunkMS {
		f := float32(k*chunkMS + i)
		c.Data[2*i], c.Data[2*i+1] = f, 1000+f
	}
	return c
}

func frame(seq int, captureMS, arrival int64) *av.Frame {
	f := &av.Frame{Width: 1, Height: 1, Stride: 1, Format: av.Gray8, Pix: []byte{byte(seq)}}
	f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = "cam", uint64(seq), t0+captureMS*ms, arrival
	return f
}

// got is what a test keeps of a bundle.
type got struct {
	TimeMS   int64
	FrameSeq int // -1 when video is missing
	Missing  []av.Modality
	First    float32 // first sample of channel 0
	Covered  int
	Frames   int
}

func collect(out *[]got) func(*av.Bundle) {
	return func(b *av.Bundle) {
		g := got{TimeMS: (b.TimeNS - t0) / ms, FrameSeq: -1, Missing: append([]av.Modality{}, b.Missing...), Covered: b.Audio.Covered, Frames: b.Audio.Frames()}
		if b.Frame != nil {
			g.FrameSeq = int(b.Frame.Seq)
		}
		if len(b.Audio.Data) > 0 {
			g.First = b.Audio.Data[0]
		}
		*out = append(*out, g)
		b.Release()
	}
}

func TestAudioSliceIsSampleAccurate(t *testing.T) {
	s, err := NewFrameSync(testConfig(), av.NewDrops())
	if err != nil {
		t.Fatal(err)
	}
	var bundles []*av.Bundle
	keep := func(b *av.Bundle) { bundles = append(bundles, b) }
	// Frame at 95 ms needs audio [45, 95) ms: chunks 4..9.
	s.Push(frame(0, 95, t0+96*ms), keep)
	for k := range 9 {
		s.Push(chunk(k, t0+int64(k*chunkMS+chunkMS)*ms), keep)
	}
	if len(bundles) != 0 {
		t.Fatalf("emitted before the window was covered")
	}
	s.Push(chunk(9, t0+100*ms), keep)
	if len(bundles) != 1 {
		t.Fatalf("got %d bundles, want 1", len(bundles))
	}
	b := bundles[0]
	if b.Frame == nil || b.Frame.Seq != 0 || len(b.Missing) != 0 {
		t.Fatalf("bad bundle: %+v", b)
	}
	if b.Audio.StartNS != t0+45*ms || b.Audio.Frames() != 50 || b.Audio.Covered != 50 {
		t.Fatalf("slice start %d frames %d covered %d", (b.Audio.StartNS-t0)/ms, b.Audio.Frames(), b.Audio.Covered)
	}
	for i := range 50 {
		want0, want1 := float32(45+i), float32(1045+i)
		if b.Audio.Data[2*i] != want0 || b.Audio.Data[2*i+1] != want1 {
			t.Fatalf("frame %d = (%v, %v), want (%v, %v)", i, b.Audio.Data[2*i], b.Audio.Data[2*i+1], want0, want1)
		}
	}
	if b.Stamps[av.StageCapture] != t0+95*ms || b.Stamps[av.StageArrival] != t0+100*ms {
		t.Fatalf("stamps %v", b.Stamps)
	}
}

func TestDroppedChunkLeavesAGap(t *testing.T) {
	drops := av.NewDrops()
	s, _ := NewFrameSync(testConfig(), drops)
	var out []got
	emit := collect(&out)
	for k := range 10 {
		if k == 6 { // lost on the way
			continue
		}
		s.Push(chunk(k, t0+int64(k*chunkMS+chunkMS)*ms), emit)
	}
	s.Push(frame(0, 95, t0+100*ms), emit)
	if len(out) != 1 || out[0].Covered != 40 || len(out[0].Missing) != 0 {
		t.Fatalf("got %+v, want one bundle with 40 of 50 frames covered", out)
	}
	// A chunk wholly in the past is counted, not written.
	s.Push(chunk(3, t0+101*ms), emit)
	if n := drops.Get("mic", av.DropOutOfOrder); n != 1 {
		t.Fatalf("out-of-order chunks counted %d, want 1", n)
	}
}

func TestStoppedAudioMeetsDeadline(t *testing.T) {
	s, _ := NewFrameSync(testConfig(), av.NewDrops())
	var out []got
	emit := collect(&out)
	for k := range 3 { // audio up to 30 ms, then the microphone dies
		s.Push(chunk(k, t0+int64(k*chunkMS+chunkMS)*ms), emit)
	}
	for i := range 10 {
		c := int64(i) * 33
		s.Push(frame(i, c, t0+c*ms+ms), emit)
	}
	// Frames 0..5 (arrival ≤ 166 ms) are past the 100 ms deadline at 298 ms;
	// frame 0 has no audio before it, frame 1 enough of it.
	if len(out) != 6 {
		t.Fatalf("got %d bundles, want 6: %+v", len(out), out)
	}
	for _, g := range out[2:] {
		if len(g.Missing) != 1 || g.Missing[0] != av.Audio || g.FrameSeq < 0 {
			t.Fatalf("want video with audio missing, got %+v", g)
		}
	}
	s.Flush(emit)
	if len(out) != 10 {
		t.Fatalf("flush left %d bundles", 10-len(out))
	}
}

func TestStoppedCameraGivesAudioOnlyBundles(t *testing.T) {
	drops := av.NewDrops()
	s, _ := NewFrameSync(testConfig(), drops)
	var out []got
	emit := collect(&out)
	s.Push(frame(0, 60, t0+61*ms), emit)
	for k := range 40 { // 400 ms of audio, no more frames
		s.Push(chunk(k, t0+int64(k*chunkMS+chunkMS)*ms), emit)
	}
	if len(out) == 0 || out[0].FrameSeq != 0 {
		t.Fatalf("frame bundle missing: %+v", out)
	}
	var audioOnly []got
	for _, g := range out[1:] {
		if g.FrameSeq != -1 || len(g.Missing) != 1 || g.Missing[0] != av.Video {
			t.Fatalf("want audio-only bundle, got %+v", g)
		}
		audioOnly = append(audioOnly, g)
	}
	// After the deadline (161 ms) bundles follow the frame period from 60 ms.
	if len(audioOnly) < 5 || audioOnly[0].TimeMS != 93 || audioOnly[1].TimeMS != 126 {
		t.Fatalf("audio-only triggers %+v", audioOnly)
	}
	// The camera comes back with a frame older than the last bundle: late.
	s.Push(frame(1, 300, t0+401*ms), emit)
	if drops.Get("cam", av.DropLate) != 1 {
		t.Fatalf("late frame not counted")
	}
}

func TestNoAudioConfigured(t *testing.T) {
	cfg := testConfig()
	cfg.Audio = ""
	s, _ := NewFrameSync(cfg, av.NewDrops())
	var out []got
	s.Push(frame(0, 0, t0), collect(&out))
	if len(out) != 1 || len(out[0].Missing) != 1 || out[0].Missing[0] != av.Audio {
		t.Fatalf("got %+v", out)
	}
}

func TestNoVideoConfigured(t *testing.T) {
	cfg := testConfig()
	cfg.Video = ""
	s, _ := NewFrameSync(cfg, av.NewDrops())
	var out []got
	emit := collect(&out)
	for k := range 20 {
		s.Push(chunk(k, t0+int64(k*chunkMS+chunkMS)*ms), emit)
	}
	if len(out) != 5 || out[0].TimeMS != 50 || out[1].TimeMS != 83 {
		t.Fatalf("got %+v", out)
	}
}

func TestBadSamplesAreCounted(t *testing.T) {
	drops := av.NewDrops()
	s, _ := NewFrameSync(testConfig(), drops)
	var out []got
	emit := collect(&out)
	s.Push(frame(0, 100, t0+100*ms), emit)
	s.Push(frame(1, 100, t0+101*ms), emit) // same capture time
	s.Push(frame(2, 50, t0+102*ms), emit)  // backwards
	mono := chunk(0, t0)
	mono.Channels = 1
	s.Push(mono, emit)
	other := frame(3, 200, t0+103*ms)
	other.Stream = "cam9"
	s.Push(other, emit)
	if drops.Get("cam", av.DropOutOfOrder) != 2 || drops.Get("mic", av.DropWrongKind) != 1 || drops.Get("cam9", av.DropUnknownStream) != 1 {
		t.Fatalf("drops %v", drops.Snapshot())
	}
}

func TestPendingOverflowEmitsOldest(t *testing.T) {
	s, _ := NewFrameSync(testConfig(), av.NewDrops())
	var out []got
	emit := collect(&out)
	// No audio yet, frames arriving within the deadline: the 9th frame
	// pushes the 1st out.
	for i := range 9 {
		s.Push(frame(i, int64(i), t0+int64(i)*ms), emit)
	}
	if len(out) != 1 || out[0].FrameSeq != 0 {
		t.Fatalf("got %+v", out)
	}
}

func TestBadConfig(t *testing.T) {
	for _, mod := range []func(*Config){
		func(c *Config) { c.Video, c.Audio = "", "" },
		func(c *Config) { c.FramePeriodNS = 0 },
		func(c *Config) { c.AudioRateHz = 0 },
		func(c *Config) { c.AudioWindowNS = 1 },
		func(c *Config) { c.MaxWaitNS = -1 },
		func(c *Config) { c.PendingFrames = 0 },
	} {
		cfg := testConfig()
		mod(&cfg)
		if _, err := NewFrameSync(cfg, av.NewDrops()); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
}

// events makes 2 s of 30 fps video and 10 ms audio chunks, each stream in
// its own arrival order.
func events() (video, audio []func() av.Sample) {
	for i := range 60 {
		c := int64(i) * 33
		video = append(video, func() av.Sample { return frame(i, c, t0+(c+2)*ms) })
	}
	for k := range 200 {
		audio = append(audio, func() av.Sample { return chunk(k, t0+int64(k*chunkMS+chunkMS+1)*ms) })
	}
	return video, audio
}

// TestAnyInterleavingSameBundles is the determinism property: with deadlines
// not hit, how the two streams interleave does not change the bundles.
func TestAnyInterleavingSameBundles(t *testing.T) {
	cfg := testConfig()
	cfg.MaxWaitNS = 10e9
	cfg.PendingFrames = 100
	run := func(rng *rand.Rand) []got {
		s, _ := NewFrameSync(cfg, av.NewDrops())
		var out []got
		emit := collect(&out)
		video, audio := events()
		for len(video) > 0 || len(audio) > 0 {
			if len(audio) == 0 || (len(video) > 0 && rng.IntN(2) == 0) {
				s.Push(video[0](), emit)
				video = video[1:]
			} else {
				s.Push(audio[0](), emit)
				audio = audio[1:]
			}
		}
		s.Flush(emit)
		return out
	}
	want := run(rand.New(rand.NewPCG(0, 0)))
	if len(want) != 60 {
		t.Fatalf("got %d bundles, want 60", len(want))
	}
	for seed := range uint64(50) {
		if g := run(rand.New(rand.NewPCG(seed, 1))); !reflect.DeepEqual(g, want) {
			t.Fatalf("interleaving %d differs", seed)
		}
	}
}

func TestRunStage(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, _ := NewFrameSync(testConfig(), av.NewDrops())
	in := make(chan av.Sample, 4)
	out := av.NewQueue[*av.Bundle]("bundles", 4, av.Block, nil)
	clock := av.NewVirtualClock(t0)
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), s, clock, in, out) }()
	in <- frame(0, 0, t0)
	close(in)
	var n int
	for b := range out.C() {
		if b.Stamps[av.StageSync] != t0 {
			t.Errorf("sync stamp %d", b.Stamps[av.StageSync])
		}
		b.Release()
		n++
	}
	if err := <-done; err != nil || n != 1 {
		t.Fatalf("err %v, %d bundles", err, n)
	}
}

func TestRunStageCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	drops := av.NewDrops()
	s, _ := NewFrameSync(testConfig(), drops)
	in := make(chan av.Sample)
	out := av.NewQueue[*av.Bundle]("bundles", 1, av.Block, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, s, av.NewVirtualClock(t0), in, out) }()
	in <- frame(0, 0, t0) // waits for audio
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("err %v", err)
	}
	if drops.Get("cam", av.DropShutdown) != 1 {
		t.Fatalf("pending frame not counted at shutdown: %v", drops.Snapshot())
	}
}

func BenchmarkFrameSync(b *testing.B) {
	cfg := testConfig()
	cfg.AudioRateHz = 48000
	s, _ := NewFrameSync(cfg, av.NewDrops())
	c := &av.AudioChunk{RateHz: 48000, Channels: 2, Data: make([]float32, 960*2)}
	c.Stream = "mic"
	f := &av.Frame{}
	f.Stream = "cam"
	emit := func(b *av.Bundle) { b.Frame = nil; b.Release() }
	b.ReportAllocs()
	var k int64
	for i := 0; b.Loop(); i++ {
		// 20 ms chunks, a frame every ~33 ms.
		c.FirstFrame = k * 960
		c.CaptureNS = t0 + k*20*ms
		c.ArrivalNS = c.CaptureNS + 20*ms
		s.Push(c, emit)
		if k%5 == 0 || k%5 == 2 {
			f.CaptureNS = c.CaptureNS
			f.ArrivalNS = c.ArrivalNS
			s.Push(f, emit)
		}
		k++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(k), "ns/chunk")
}

func ExampleFrameSync() {
	s, _ := NewFrameSync(testConfig(), av.NewDrops())
	emit := func(b *av.Bundle) {
		fmt.Printf("bundle %d at %d ms: frame %v, %d audio frames from %d ms, missing %v\n",
			b.Seq, (b.TimeNS-t0)/ms, b.Frame != nil, b.Audio.Covered, (b.Audio.StartNS-t0)/ms, b.Missing)
		b.Release()
	}
	s.Push(frame(0, 60, t0+61*ms), emit)
	for k := range 7 {
		s.Push(chunk(k, t0+int64(k*chunkMS+chunkMS)*ms), emit)
	}
	// Output:
	// bundle 1 at 60 ms: frame true, 50 audio frames from 10 ms, missing []
}
