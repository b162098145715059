package fuse

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

const ms = int64(1e6)

func testConfig() ActivityConfig {
	return ActivityConfig{Robot: "r1", IntervalNS: 100 * ms, Prior: -2, MotionWeight: 1, MotionRef: 1, AudioWeight: 0.1, AudioRefDBFS: -40}
}

// grayFrame is a 64×64 frame, dark but for a 16×16 bright square at (x, y).
func grayFrame(x, y int) *av.Frame {
	f := &av.Frame{Width: 64, Height: 64, Stride: 64, Format: av.Gray8, Pix: make([]byte, 64*64)}
	for r := y; r < y+16; r++ {
		for c := x; c < x+16; c++ {
			f.Pix[r*64+c] = 255
		}
	}
	return f
}

func sine(amp float64, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*float64(i)/48))
	}
	return out
}

func bundle(tMS int64, f *av.Frame, audio []float32) *av.Bundle {
	b := &av.Bundle{TimeNS: tMS * ms, Frame: f, Audio: av.AudioSlice{RateHz: 48000, Channels: 1, Data: audio, Covered: len(audio), StartNS: tMS*ms - av.FramesToNS(int64(len(audio)), 48000)}}
	if f == nil {
		b.Missing = append(b.Missing, av.Video)
	}
	if audio == nil {
		b.Missing = append(b.Missing, av.Audio)
	}
	return b
}

func decide(t *testing.T, cfg ActivityConfig, bundles ...*av.Bundle) []*av.Decision {
	t.Helper()
	a, err := NewActivity(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []*av.Decision
	emit := func(d *av.Decision) { out = append(out, d) }
	for _, b := range bundles {
		a.Push(b, emit)
	}
	a.Flush(emit)
	return out
}

func TestMotionAndLevelKnownAnswers(t *testing.T) {
	// A 16×16 square moving right by 8 px leaves one column of two 8×8
	// blocks (255 → 0) and enters another (0 → 255): 4 blocks × (255 −
	// floor) / 64 blocks, centred on the middle of the top-left 24×16 px.
	wantMotion := 4 * (255.0 - MotionFloor) / 64
	// A sine of amplitude 0.5 has mean square 0.125: -9.03 dBFS.
	wantLevel := 10 * math.Log10(0.125)
	ds := decide(t, testConfig(),
		bundle(0, grayFrame(0, 0), sine(0.5, 480)),
		bundle(33, grayFrame(8, 0), sine(0.5, 480)),
	)
	if len(ds) != 1 {
		t.Fatalf("got %d decisions", len(ds))
	}
	d := ds[0]
	if got := d.Evidence["motion_energy"]; math.Abs(got-wantMotion) > 1e-9 {
		t.Errorf("motion %v, want %v", got, wantMotion)
	}
	if x, y := d.Evidence["motion_x"], d.Evidence["motion_y"]; math.Abs(x-12.0/64) > 1e-9 || math.Abs(y-8.0/64) > 1e-9 {
		t.Errorf("motion centre (%v, %v), want (%v, %v)", x, y, 12.0/64, 8.0/64)
	}
	if got := d.Evidence["audio_level_dbfs"]; math.Abs(got-wantLevel) > 1e-6 {
		t.Errorf("level %v, want %v", got, wantLevel)
	}
	wantLogit := -2 + 1*(wantMotion-1) + 0.1*(wantLevel+40)
	if math.Abs(d.Logit-wantLogit) > 1e-6 {
		t.Errorf("logit %v, want %v", d.Logit, wantLogit)
	}
	if d.Degraded || len(d.Missing) != 0 || d.Seq != 1 || d.TimeNS != 33*ms || d.Kind != KindActivity || d.Robot != "r1" {
		t.Errorf("bad decision %+v", d)
	}
}

func TestContributionsSumToLogit(t *testing.T) {
	for _, bs := range [][]*av.Bundle{
		{bundle(0, grayFrame(0, 0), sine(0.1, 480)), bundle(33, grayFrame(8, 8), sine(0.1, 480))},
		{bundle(0, nil, sine(0.9, 480))},
		{bundle(0, grayFrame(0, 0), nil), bundle(33, grayFrame(0, 0), nil)},
		{bundle(0, nil, nil)},
	} {
		for _, d := range decide(t, testConfig(), bs...) {
			var sum float64
			for _, c := range d.Contributions {
				sum += c
			}
			if math.Abs(sum-d.Logit) > 1e-12 {
				t.Errorf("contributions %v sum to %v, logit %v", d.Contributions, sum, d.Logit)
			}
			if math.Abs(d.Confidence-1/(1+math.Exp(-d.Logit))) > 1e-12 {
				t.Errorf("confidence %v for logit %v", d.Confidence, d.Logit)
			}
		}
	}
}

func TestMissingModalitiesDegrade(t *testing.T) {
	ds := decide(t, testConfig(), bundle(0, nil, sine(0.5, 480)), bundle(33, nil, sine(0.5, 480)))
	if len(ds) != 1 || !ds[0].Degraded || fmt.Sprint(ds[0].Missing) != "[video]" || ds[0].Contributions["video"] != 0 {
		t.Fatalf("got %+v", ds[0])
	}
	// One frame alone gives no motion: video counts as missing.
	ds = decide(t, testConfig(), bundle(0, grayFrame(0, 0), nil))
	if fmt.Sprint(ds[0].Missing) != "[video audio]" {
		t.Fatalf("got %+v", ds[0])
	}
}

func TestOneDecisionPerInterval(t *testing.T) {
	var bs []*av.Bundle
	for i := range int64(30) { // 1 s at 30 fps → 10 intervals of 100 ms
		bs = append(bs, bundle(i*100/3, grayFrame(int(i%4)*8, 0), sine(0.2, 480)))
	}
	ds := decide(t, testConfig(), bs...)
	if len(ds) != 10 {
		t.Fatalf("got %d decisions, want 10", len(ds))
	}
	for i, d := range ds {
		if d.Seq != uint64(i+1) || d.TimeNS/(100*ms) != int64(i) {
			t.Errorf("decision %d: seq %d time %d", i, d.Seq, d.TimeNS)
		}
	}
}

func TestDecisionJSONIsDeterministic(t *testing.T) {
	run := func() string {
		ds := decide(t, testConfig(), bundle(0, grayFrame(0, 0), sine(0.3, 480)), bundle(33, grayFrame(8, 0), sine(0.3, 480)))
		b, _ := json.Marshal(ds[0])
		return string(b)
	}
	a := run()
	for range 20 {
		if b := run(); b != a {
			t.Fatalf("%s\n%s", a, b)
		}
	}
}

func TestBGRLumaMatchesGray(t *testing.T) {
	g := grayFrame(8, 8)
	c := &av.Frame{Width: 64, Height: 64, Stride: 64 * 3, Format: av.BGR24, Pix: make([]byte, 64*64*3)}
	for i, v := range g.Pix {
		c.Pix[3*i], c.Pix[3*i+1], c.Pix[3*i+2] = v, v, v
	}
	gg, cg := make([]float32, 64), make([]float32, 64)
	ref := func(f *av.Frame) FrameRef {
		return FrameRef{Pix: f.Pix, Width: f.Width, Height: f.Height, Stride: f.Stride, Format: f.Format}
	}
	blockLuma(ref(g), 8, gg, 8, 0, 8)
	blockLuma(ref(c), 8, cg, 8, 0, 8)
	for i := range gg {
		if math.Abs(float64(gg[i]-cg[i])) > 1 {
			t.Fatalf("block %d: gray %v bgr %v", i, gg[i], cg[i])
		}
	}
}

func TestBadFramesAreNoEvidence(t *testing.T) {
	short := &av.Frame{Width: 64, Height: 64, Stride: 64, Format: av.Gray8, Pix: make([]byte, 10)}
	tiny := &av.Frame{Width: 4, Height: 4, Stride: 4, Format: av.Gray8, Pix: make([]byte, 16)}
	ds := decide(t, testConfig(), bundle(0, short, nil), bundle(10, tiny, nil), bundle(20, short, nil))
	if fmt.Sprint(ds[0].Missing) != "[video audio]" {
		t.Fatalf("got %+v", ds[0])
	}
}

func TestRunStage(t *testing.T) {
	defer goleak.VerifyNone(t)
	a, _ := NewActivity(testConfig())
	in := make(chan *av.Bundle, 3)
	out := av.NewQueue[*av.Decision]("decisions", 4, av.Block, nil)
	clock := av.NewVirtualClock(5)
	in <- bundle(0, grayFrame(0, 0), sine(0.1, 48))
	in <- bundle(150, grayFrame(8, 0), sine(0.1, 48))
	close(in)
	if err := Run(context.Background(), a, clock, in, out, nil); err != nil {
		t.Fatal(err)
	}
	var n int
	for d := range out.C() {
		if d.Stamps[av.StageFuse] != 5 {
			t.Errorf("fuse stamp %d", d.Stamps[av.StageFuse])
		}
		n++
	}
	if n != 2 {
		t.Fatalf("got %d decisions", n)
	}
}

// Run's before hook sees a bundle once the activity decision its arrival
// closes has been sent: that decision does not wait for the hook's work.
func TestRunClosesTheIntervalBeforeTheHook(t *testing.T) {
	defer goleak.VerifyNone(t)
	a, _ := NewActivity(testConfig())
	in := make(chan *av.Bundle, 3)
	out := av.NewQueue[*av.Decision]("decisions", 8, av.Block, nil)
	in <- bundle(0, grayFrame(0, 0), sine(0.1, 48))
	in <- bundle(150, grayFrame(8, 0), sine(0.1, 48)) // closes the interval of the first
	close(in)
	var sentAtHook []int
	before := func(*av.Bundle) { sentAtHook = append(sentAtHook, out.Len()) }
	if err := Run(context.Background(), a, av.NewVirtualClock(5), in, out, before); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sentAtHook) != "[0 1]" {
		t.Fatalf("decisions sent when the hook saw each bundle: %v, want [0 1]", sentAtHook)
	}
}

// handedFeatures are visual features measured by Run's before hook, as the
// daemon's are (its visualApart), and handed over when the activity reads
// them.
type handedFeatures struct {
	next  *av.Bundle // set by before
	seen  []uint64
	wrong int
}

func (h *handedFeatures) PushFrame(f *av.Frame, ev map[string]float64) {
	if h.next == nil || h.next.Frame != f {
		h.wrong++
		return
	}
	h.seen = append(h.seen, h.next.Seq)
	ev["faces"] = 0
	h.next = nil
}
func (h *handedFeatures) Close() error { return nil }

// Run's before hook measures beside the tick's Compute, and the activity
// reads each bundle's measurements only once the hook has made them (the
// race detector watches the hand-over).
func TestRunMeasuresBesideCompute(t *testing.T) {
	defer goleak.VerifyNone(t)
	h := &handedFeatures{}
	cfg := testConfig()
	cfg.Visual = h
	a, err := NewActivity(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const n = 10
	in := make(chan *av.Bundle, n)
	for i := range n {
		b := bundle(int64(i)*33, grayFrame(i%4*8, 0), sine(0.1, 1600))
		b.Seq = uint64(i)
		in <- b
	}
	close(in)
	out := av.NewQueue[*av.Decision]("decisions", 64, av.Block, nil)
	if err := Run(context.Background(), a, av.NewVirtualClock(5), in, out, func(b *av.Bundle) { h.next = b }); err != nil {
		t.Fatal(err)
	}
	if h.wrong != 0 || fmt.Sprint(h.seen) != "[0 1 2 3 4 5 6 7 8 9]" {
		t.Fatalf("the activity read the features of bundles %v, %d of them not yet measured", h.seen, h.wrong)
	}
}

func BenchmarkActivity320x240(b *testing.B) {
	a, _ := NewActivity(testConfig())
	f0 := &av.Frame{Width: 320, Height: 240, Stride: 960, Format: av.BGR24, Pix: make([]byte, 320*240*3)}
	bd := &av.Bundle{Frame: f0, Audio: av.AudioSlice{RateHz: 48000, Channels: 2, Data: sine(0.2, 9600), Covered: 4800}}
	emit := func(*av.Decision) {}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		bd.TimeNS = int64(i) * 33 * ms
		a.Push(bd, emit)
	}
}

func ExampleActivity() {
	a, _ := NewActivity(ActivityConfig{Robot: "r1", IntervalNS: 100 * ms, Prior: -2, MotionWeight: 1, MotionRef: 1, AudioWeight: 0.1, AudioRefDBFS: -40})
	emit := func(d *av.Decision) {
		fmt.Printf("%s seq=%d confidence=%.3f video=%+.2f audio=%+.2f missing=%v\n",
			d.Kind, d.Seq, d.Confidence, d.Contributions["video"], d.Contributions["audio"], d.Missing)
	}
	a.Push(bundle(0, grayFrame(0, 0), sine(0.5, 480)), emit)
	a.Push(bundle(33, grayFrame(8, 0), sine(0.5, 480)), emit)
	a.Push(bundle(133, nil, sine(0.5, 480)), emit)
	a.Flush(emit)
	// Output:
	// activity seq=1 confidence=1.000 video=+14.75 audio=+3.10 missing=[]
	// activity seq=2 confidence=0.750 video=+0.00 audio=+3.10 missing=[video]
}

// BenchmarkActivityDecisionSteps: a bundle's frame-rate decision step (the
// window, the head, the tracker) on top of the activity's own work.
func BenchmarkActivityDecisionSteps(b *testing.B) {
	cfg := testConfig()
	cfg.Decide = &DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, MinOffNS: 150e6, HFOVDeg: 60, HeartbeatNS: 5e9, ChangeBearingDeg: 15}
	a, err := NewActivity(cfg)
	if err != nil {
		b.Fatal(err)
	}
	f0 := &av.Frame{Width: 320, Height: 240, Stride: 960, Format: av.BGR24, Pix: make([]byte, 320*240*3)}
	bd := &av.Bundle{Frame: f0, Audio: av.AudioSlice{RateHz: 48000, Channels: 2, Data: sine(0.2, 9600), Covered: 4800}}
	emit := func(*av.Decision) {}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		bd.TimeNS = int64(i) * 33 * ms
		a.Push(bd, emit)
	}
}

// A moving synthetic disc gives each frame's motion centred where it
// moved, with visual features or without: the tick measures it.
func TestMotionFollowsDisc(t *testing.T) {
	src, err := synthetic.NewVideo(synthetic.VideoConfig{Stream: "cam0", Width: 640, Height: 480, FPS: 30, Seed: 3, NoiseAmplitude: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, visual := range []FrameFeatures{nil, noFaces{}} {
		cfg := testConfig()
		cfg.Backend = NewCPUCores(2)
		cfg.Visual = visual
		var got []motionSample
		var measured []bool
		a, err := NewActivity(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for seq := uint64(0); seq < 40; seq++ {
			f := &av.Frame{Width: 640, Height: 480, Stride: 1920, Format: av.BGR24, Pix: make([]byte, 640*480*3)}
			src.Render(seq, f)
			w := TickWork{Motion: MotionWork{Cell: MotionCell}}
			b := bundle(int64(seq)*33, f, nil)
			a.gatherMotion(b, &w)
			if err := cfg.Backend.Compute(&w); err != nil {
				t.Fatal(err)
			}
			m, ok := a.finishMotion(nil)
			got, measured = append(got, m), append(measured, ok)
			if visual != nil {
				a.vis.push(b, &a.feat, m, ok)
				if x, y := a.vis.frame["video_motion_x"], a.vis.frame["video_motion_y"]; ok && (x != m.x || y != m.y || a.vis.frame["video_motion_energy"] != m.energy) {
					t.Fatalf("frame %d: evidence %v, motion %+v", seq, a.vis.frame, m)
				}
			}
		}
		a.Close()
		cfg.Backend.Close()
		if measured[0] {
			t.Error("motion on the first frame")
		}
		for seq := uint64(1); seq < 40; seq++ {
			x0, y0, _ := src.ShapeAt(seq - 1)
			x1, y1, _ := src.ShapeAt(seq)
			wx, wy := (x0+x1)/2/640, (y0+y1)/2/480
			m := got[seq]
			if !measured[seq] || m.energy <= 0 || math.Abs(m.x-wx) > 0.03 || math.Abs(m.y-wy) > 0.03 {
				t.Fatalf("visual %T, frame %d: motion %+v (measured %v), disc moved around (%.3f, %.3f)", visual, seq, m, measured[seq], wx, wy)
			}
		}
	}
}
