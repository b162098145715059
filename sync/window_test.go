package sync

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// TestWindowAroundTrigger: with AudioAfterNS the slice reaches past the
// frame, and the frame waits for that audio.
func TestWindowAroundTrigger(t *testing.T) {
	cfg := testConfig()
	cfg.AudioWindowNS, cfg.AudioAfterNS = 20*ms, 30*ms
	s, err := NewFrameSync(cfg, av.NewDrops())
	if err != nil {
		t.Fatal(err)
	}
	var out []*av.Bundle
	keep := func(b *av.Bundle) { out = append(out, b) }
	s.Push(frame(0, 95, t0+96*ms), keep)
	for k := range 12 { // audio up to 120 ms: not enough for [75, 125)
		s.Push(chunk(k, t0+int64(k*chunkMS+chunkMS)*ms), keep)
	}
	if len(out) != 0 {
		t.Fatal("emitted before the window after the frame was covered")
	}
	if w := s.Watermark(); w != t0+120*ms {
		t.Fatalf("watermark %d ms", (w-t0)/ms)
	}
	s.Push(chunk(12, t0+130*ms), keep)
	if len(out) != 1 {
		t.Fatalf("%d bundles", len(out))
	}
	b := out[0]
	if b.Audio.StartNS != t0+75*ms || b.Audio.Frames() != 50 || b.Audio.Covered != 50 || b.Audio.Data[0] != 75 || b.Audio.Data[98] != 124 {
		t.Fatalf("slice from %d ms, %d frames, %d covered, first %v last %v", (b.Audio.StartNS-t0)/ms, b.Audio.Frames(), b.Audio.Covered, b.Audio.Data[0], b.Audio.Data[98])
	}
}

func TestStaticOffsets(t *testing.T) {
	cfg := testConfig()
	cfg.VideoOffsetNS, cfg.AudioOffsetNS = -5*ms, 10*ms
	s, _ := NewFrameSync(cfg, av.NewDrops())
	var out []*av.Bundle
	keep := func(b *av.Bundle) { out = append(out, b) }
	s.Push(frame(0, 100, t0+101*ms), keep) // at 95 ms on the common base
	for k := range 10 {
		s.Push(chunk(k, t0+int64(k*chunkMS+chunkMS)*ms), keep) // chunk k at 10k+10 ms
	}
	if len(out) != 1 || out[0].TimeNS != t0+95*ms {
		t.Fatalf("%d bundles", len(out))
	}
	// Window [45, 95) ms on the common base is frames [35, 85) of the stream.
	if b := out[0]; b.Audio.StartNS != t0+45*ms || b.Audio.Data[0] != 35 {
		t.Fatalf("slice from %d ms, first frame %v", (b.Audio.StartNS-t0)/ms, b.Audio.Data[0])
	}
}

// TestDriftIsTracked: a microphone whose clock runs 100 ppm fast, stamped by
// its source at the nominal rate, drifts 6 ms off in a minute; with
// EstimateDrift the slices stay within a millisecond of the truth.
func TestDriftIsTracked(t *testing.T) {
	const rateHz, chunkFrames = 48000, 480
	truePeriod := 1e9 / rateHz / (1 + 100e-6)
	run := func(estimate bool) (worstNS float64) {
		cfg := Config{Video: "cam", FramePeriodNS: 100 * ms, Audio: "mic", AudioRateHz: rateHz, AudioChannels: 1,
			AudioWindowNS: 20 * ms, MaxWaitNS: 200 * ms, MinAudioCoverage: 0.5, PendingFrames: 16,
			EstimateDrift: estimate}
		if estimate {
			cfg.AudioOffsetNS = -4 * ms // the mean input latency
		}
		s, err := NewFrameSync(cfg, av.NewDrops())
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		emit := func(b *av.Bundle) {
			if b.Frame != nil && b.TimeNS-t0 > 10e9 && b.Audio.Covered == b.Audio.Frames() {
				k := int64(b.Audio.Data[0]) // the frame index, stored as the sample
				trueStart := t0 + int64(math.Round(float64(k)*truePeriod))
				worstNS = max(worstNS, math.Abs(float64(trueStart-(b.TimeNS-cfg.AudioWindowNS))))
			}
			b.Release()
		}
		next := int64(0)
		for k := int64(0); k < 6000; k++ { // 60 s
			c := &av.AudioChunk{RateHz: rateHz, Channels: 1, FirstFrame: k * chunkFrames, Data: make([]float32, chunkFrames)}
			for i := range c.Data {
				c.Data[i] = float32(k*chunkFrames + int64(i))
			}
			trueEnd := t0 + int64(math.Round(float64((k+1)*chunkFrames)*truePeriod))
			c.Stream, c.Seq = "mic", uint64(k)
			c.CaptureNS = t0 + av.FramesToNS(k*chunkFrames, rateHz) // nominal: drifts
			c.ArrivalNS = trueEnd + 4*ms + rng.Int64N(10*ms+1) - 5*ms
			for next*100*ms < trueEnd-t0-50*ms {
				f := &av.Frame{}
				f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = "cam", uint64(next), t0+next*100*ms, c.ArrivalNS
				s.Push(f, emit)
				next++
			}
			s.Push(c, emit)
		}
		return worstNS
	}
	nominal, estimated := run(false), run(true)
	t.Logf("worst slice-start error after 10 s: nominal %.3f ms, estimated %.3f ms", nominal/1e6, estimated/1e6)
	if estimated > 1e6 || nominal < 5e6 {
		t.Fatalf("nominal %.3f ms, estimated %.3f ms", nominal/1e6, estimated/1e6)
	}
}

// TestReconnectRestartsAudio: the device's frame count starts again from 0
// (a reconnect); the audio after it is bundled, not dropped as old.
func TestReconnectRestartsAudio(t *testing.T) {
	for _, estimate := range []bool{false, true} {
		cfg := testConfig()
		cfg.EstimateDrift = estimate
		drops := av.NewDrops()
		s, _ := NewFrameSync(cfg, drops)
		var out []got
		emit := collect(&out)
		seq := 0
		phase := func(startMS int64) {
			for k := range 50 {
				c := chunk(k, t0+(startMS+int64(k*chunkMS+chunkMS))*ms)
				c.CaptureNS += startMS * ms
				s.Push(c, emit)
				if k%3 == 0 {
					s.Push(frame(seq, startMS+int64(k*chunkMS), c.ArrivalNS), emit)
					seq++
				}
			}
		}
		phase(0)
		phase(2500) // reconnected 2 s later, counting from 0 again
		var last got
		for _, g := range out {
			if g.FrameSeq >= 0 {
				last = g
			}
		}
		if last.Covered != 50 || last.TimeMS != 2980 || last.First != 430 || drops.Get("mic", av.DropOutOfOrder) != 0 || s.Stats().ClockResets != 1 {
			t.Fatalf("estimate=%v: frame bundle %+v, out-of-order %d, resets %d", estimate, last, drops.Get("mic", av.DropOutOfOrder), s.Stats().ClockResets)
		}
	}
}

// TestNeverStalls: streams stop and restart at random; every frame is
// emitted once MaxWait of arrival time has passed after it, and every
// frame comes out exactly once (emitted or counted dropped).
func TestNeverStalls(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 9))
		cfg := testConfig()
		cfg.AudioAfterNS = int64(rng.IntN(3)) * 10 * ms
		drops := av.NewDrops()
		s, _ := NewFrameSync(cfg, drops)
		emitted := map[uint64]bool{}
		var now int64
		emit := func(b *av.Bundle) {
			if b.Frame != nil {
				if emitted[b.Frame.Seq] {
					t.Fatalf("seed %d: frame %d emitted twice", seed, b.Frame.Seq)
				}
				emitted[b.Frame.Seq] = true
			}
			b.Release()
		}
		type pend struct {
			seq     uint64
			arrival int64
		}
		var frames []pend
		camOn, micOn := true, true
		var fseq, ck int
		for step := range 3000 { // 3 s in 1 ms steps
			now = t0 + int64(step)*ms
			if rng.IntN(300) == 0 {
				camOn = !camOn
			}
			if rng.IntN(300) == 0 {
				micOn = !micOn
			}
			if camOn && step%33 == 0 {
				s.Push(frame(fseq, int64(step), now), emit)
				frames = append(frames, pend{uint64(fseq), now})
				fseq++
			}
			if step%chunkMS == chunkMS-1 {
				if micOn {
					s.Push(chunk(ck, now), emit)
				}
				ck++
			}
			// A timer ticks in half the runs; without it, time moves with
			// the samples only.
			horizon := s.nowNS
			if seed%2 == 0 {
				s.Advance(now, emit)
				horizon = now
			}
			// Frames past their deadline are out.
			for len(frames) > 0 && frames[0].arrival+cfg.MaxWaitNS <= horizon {
				f := frames[0]
				if !emitted[f.seq] && drops.Get("cam", av.DropLate)+drops.Get("cam", av.DropOutOfOrder) == 0 {
					t.Fatalf("seed %d: frame %d (arrived %d ms) still pending at %d ms", seed, f.seq, (f.arrival-t0)/ms, (now-t0)/ms)
				}
				frames = frames[1:]
			}
		}
		s.Flush(emit)
		late := drops.Get("cam", av.DropLate) + drops.Get("cam", av.DropOutOfOrder)
		if uint64(len(emitted))+late != uint64(fseq) {
			t.Fatalf("seed %d: %d frames, %d emitted, %d dropped", seed, fseq, len(emitted), late)
		}
	}
}

// FuzzFrameSync pushes arbitrary samples: no panic, every frame accounted
// for, pending bounded.
func FuzzFrameSync(f *testing.F) {
	f.Add([]byte{0, 10, 5, 1, 20, 3, 0, 200, 7, 2, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := testConfig()
		if len(data) > 0 {
			cfg.AudioAfterNS = int64(data[0]%40) * ms
			cfg.EstimateDrift = data[0]&0x80 != 0
		}
		drops := av.NewDrops()
		s, err := NewFrameSync(cfg, drops)
		if err != nil {
			t.Fatal(err)
		}
		var frames, out uint64
		emit := func(b *av.Bundle) {
			if b.Frame != nil {
				out++
			}
			b.Release()
		}
		arrival := t0
		for i := 0; i+2 < len(data); i += 3 {
			kind, a, b := data[i]%4, int64(data[i+1]), int64(data[i+2])
			arrival += a * ms / 4
			switch kind {
			case 0, 1:
				frames++
				s.Push(frame(int(frames), b*5+int64(i), arrival), emit)
			case 2:
				c := chunk(int(b)-20+i/3, arrival)
				s.Push(c, emit)
			case 3:
				c := chunk(int(b), arrival)
				c.FirstFrame = -int64(a) * 1000
				s.Push(c, emit)
			}
			if len(s.pending) > cfg.PendingFrames {
				t.Fatalf("%d frames pending", len(s.pending))
			}
		}
		s.Flush(emit)
		dropped := drops.Get("cam", av.DropLate) + drops.Get("cam", av.DropOutOfOrder)
		if out+dropped != frames {
			t.Fatalf("%d frames in, %d out, %d dropped", frames, out, dropped)
		}
	})
}

// BenchmarkWindow48kStereo: 48 kHz stereo in 10 ms chunks with a 30 fps
// trigger, slicing [t-100ms, t+20ms]; reports audio samples per second.
func BenchmarkWindow48kStereo(b *testing.B) {
	cfg := Config{Video: "cam", FramePeriodNS: 33333333, Audio: "mic", AudioRateHz: 48000, AudioChannels: 2,
		AudioWindowNS: 100 * ms, AudioAfterNS: 20 * ms, MaxWaitNS: 200 * ms, MinAudioCoverage: 0.5, PendingFrames: 16}
	s, _ := NewFrameSync(cfg, av.NewDrops())
	c := &av.AudioChunk{RateHz: 48000, Channels: 2, Data: make([]float32, 480*2)}
	c.Stream = "mic"
	f := &av.Frame{}
	f.Stream = "cam"
	var bundles int
	emit := func(b *av.Bundle) { bundles++; b.Frame = nil; b.Release() }
	b.ReportAllocs()
	var k, nextFrame int64
	for b.Loop() {
		c.FirstFrame = k * 480
		c.CaptureNS = t0 + k*10*ms
		c.ArrivalNS = c.CaptureNS + 10*ms
		s.Push(c, emit)
		for t0+nextFrame*33333333 <= c.CaptureNS {
			f.CaptureNS, f.ArrivalNS = t0+nextFrame*33333333, c.ArrivalNS
			s.Push(f, emit)
			nextFrame++
		}
		k++
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(k*480)/sec, "samples/s")
	b.ReportMetric(float64(bundles)/sec, "bundles/s")
}

// TestRunStageTicksWhenStreamsStop: a frame waits for audio that never
// comes and nothing else arrives; the stage's timer still emits it, audio
// missing, once the clock passes its deadline plus the grace.
func TestRunStageTicksWhenStreamsStop(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, _ := NewFrameSync(testConfig(), av.NewDrops())
	in := make(chan av.Sample, 1)
	out := av.NewQueue[*av.Bundle]("bundles", 4, av.Block, nil)
	clock := av.NewVirtualClock(t0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, s, clock, in, out) }()
	in <- frame(0, 0, t0)
	deadline := time.Now().Add(10 * time.Second)
	var b *av.Bundle
	for b == nil {
		if time.Now().After(deadline) {
			t.Fatal("no bundle: the stage stalled")
		}
		clock.Advance(10 * ms)
		// Give the stage's timer a moment at each step.
		for step := time.Now().Add(50 * time.Millisecond); b == nil && time.Now().Before(step); {
			select {
			case b = <-out.C():
			default:
				runtime.Gosched()
			}
		}
	}
	if b.Frame == nil || b.Has(av.Audio) {
		t.Fatalf("want the frame with audio missing, got %+v", b)
	}
	if now := clock.Now(); now > t0+3*testConfig().MaxWaitNS+50*ms {
		t.Fatalf("emitted only at %d ms", (now-t0)/ms)
	}
	b.Release()
	cancel()
	<-done
}

func TestLateOutput(t *testing.T) {
	cfg := testConfig()
	var late []av.Sample
	cfg.Late = func(smp av.Sample) { late = append(late, smp) }
	drops := av.NewDrops()
	s, _ := NewFrameSync(cfg, drops)
	var out []got
	emit := collect(&out)
	s.Push(frame(0, 60, t0+61*ms), emit)
	for k := range 40 { // camera silent: audio-only bundles up to ~390 ms
		s.Push(chunk(k, t0+int64(k*chunkMS+chunkMS)*ms), emit)
	}
	s.Push(frame(1, 300, t0+401*ms), emit) // behind them: late
	s.Push(chunk(5, t0+402*ms), emit)      // audio some bundle needed: late, and old
	if len(late) != 1 || late[0].SampleMeta().Seq != 1 || drops.Get("cam", av.DropLate) != 1 {
		t.Fatalf("late output %d, counted %d", len(late), drops.Get("cam", av.DropLate))
	}
	if st := s.Stats(); st.LateAudio != 1 || st.VideoMissing == 0 || st.Bundles != uint64(len(out)) {
		t.Fatalf("stats %+v, %d bundles", st, len(out))
	}
}

// TestCameraClockRestarts: the camera's capture times start again 5 s
// earlier (a looping recording); after three such frames its timeline
// restarts instead of every later frame being dropped as late.
func TestCameraClockRestarts(t *testing.T) {
	drops := av.NewDrops()
	s, _ := NewFrameSync(testConfig(), drops)
	var out []got
	emit := collect(&out)
	for i := range 10 {
		s.Push(frame(i, int64(i)*33, t0+int64(i)*33*ms), emit)
	}
	for i := 10; i < 20; i++ {
		s.Push(frame(i, -5000+int64(i)*33, t0+int64(i)*33*ms), emit)
	}
	s.Flush(emit)
	if st := s.Stats(); st.VideoResets != 1 || drops.Get("cam", av.DropLate)+drops.Get("cam", av.DropOutOfOrder) != 2 {
		t.Fatalf("resets %d, drops %v", st.VideoResets, drops.Snapshot())
	}
	if n := len(out); n != 18 || out[n-1].FrameSeq != 19 {
		t.Fatalf("%d bundles, last %+v", n, out[n-1])
	}
}
