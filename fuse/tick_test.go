package fuse

import (
	"slices"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"gorgonia.org/tensor"
)

// snapshot copies every output of a tick.
func (t *tickWork) snapshot() [][]float32 {
	var out [][]float32
	for _, g := range t.work.Motion.Grids {
		out = append(out, slices.Clone(g.Float32s()))
	}
	for _, d := range t.work.Motion.Diffs {
		out = append(out, slices.Clone(d.Float32s()))
	}
	for _, a := range t.work.Audio {
		out = append(out, slices.Clone(a.Power.Float32s()), slices.Clone(a.LogMel.Float32s()), slices.Clone(a.MFCC.Float32s()), slices.Clone(a.GCC.Float32s()))
	}
	for _, o := range t.out {
		for _, s := range o {
			out = append(out, []float32{float32(s.Logit)})
		}
	}
	return out
}

// One Compute call gives what the single operations give, bit for bit,
// and so does the CPU backend on any number of cores.
func TestComputeIsTheOperations(t *testing.T) {
	one := NewCPUCores(1)
	tw := newTickWork(t, one, 3, 64, 48, 4, 16000)
	// The single operations, one after the other.
	m, a := &tw.work.Motion, &tw.work.Audio[0]
	for i := range m.Prev { // a previous grid, so that diffs are computed
		for j := range m.Prev[i].Float32s() {
			m.Prev[i].Float32s()[j] = float32(j % 7)
		}
	}
	if err := one.MotionGrids(m.Frames, m.Cell, m.Grids, m.Prev, m.Diffs); err != nil {
		t.Fatal(err)
	}
	if err := one.PowerSpectra(a.Power, a.Frames, a.Window); err != nil {
		t.Fatal(err)
	}
	mel := a.LogMel.Shape()[0]
	power := Matrix(mel, a.Power.Shape()[1], a.Power.Float32s()[:mel*a.Power.Shape()[1]])
	if err := one.LogMel(a.LogMel, power, a.Filterbank); err != nil {
		t.Fatal(err)
	}
	if err := one.Dense(a.MFCC, a.LogMel, a.DCT, Vector(make([]float32, a.DCT.Shape()[1])), Linear); err != nil {
		t.Fatal(err)
	}
	if err := one.GCCPHAT(a.GCC, a.GCCA, a.GCCB, a.MaxLag); err != nil {
		t.Fatal(err)
	}
	if err := tw.head.Eval(tw.rows, tw.out); err != nil {
		t.Fatal(err)
	}
	want := tw.snapshot()
	for _, cores := range []int{1, 2, 3, 7} {
		be := NewCPUCores(cores)
		tw.head.backend = be
		tw.clearOutputs()
		if err := tw.run(be); err != nil {
			t.Fatal(err)
		}
		got := tw.snapshot()
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("%d cores: output %d differs from the single operations", cores, i)
			}
		}
		be.Close()
	}
}

// A tick allocates nothing once warm.
func TestComputeAllocatesNothing(t *testing.T) {
	be := NewCPUCores(1)
	tw := newTickWork(t, be, 2, 64, 48, 2, 16000)
	if n := testing.AllocsPerRun(20, func() {
		if err := tw.run(be); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per tick", n)
	}
}

// clearOutputs zeroes every output of the tick.
func (t *tickWork) clearOutputs() {
	for i := range t.work.Motion.Grids {
		clear(t.work.Motion.Grids[i].Float32s())
		clear(t.work.Motion.Diffs[i].Float32s())
	}
	for _, a := range t.work.Audio {
		clear(a.Power.Float32s())
		clear(a.LogMel.Float32s())
		clear(a.MFCC.Float32s())
		clear(a.GCC.Float32s())
	}
	for _, o := range t.out {
		clear(o)
	}
}

// countingBackend counts the calls a tick makes.
type countingBackend struct {
	*CPU
	compute, dense, single int
	frames, mics           int // the most of each in one Compute
}

func (c *countingBackend) Compute(w *TickWork) error {
	c.compute++
	c.frames, c.mics = max(c.frames, len(w.Motion.Frames)), max(c.mics, len(w.Audio))
	return c.CPU.Compute(w)
}
func (c *countingBackend) Dense(dst, x, w, bias *tensor.Dense, act Activation) error {
	c.dense++
	return c.CPU.Dense(dst, x, w, bias, act)
}
func (c *countingBackend) MotionGrids(f []FrameRef, cell int, g, p, d []*tensor.Dense) error {
	c.single++
	return c.CPU.MotionGrids(f, cell, g, p, d)
}
func (c *countingBackend) PowerSpectra(dst, frames, window *tensor.Dense) error {
	c.single++
	return c.CPU.PowerSpectra(dst, frames, window)
}
func (c *countingBackend) LogMel(dst, power, fb *tensor.Dense) error {
	c.single++
	return c.CPU.LogMel(dst, power, fb)
}
func (c *countingBackend) GCCPHAT(dst, a, b *tensor.Dense, maxLag int) error {
	c.single++
	return c.CPU.GCCPHAT(dst, a, b, maxLag)
}

// noFaces are visual features that find nothing: a camera with visual
// features, whose motion grid is still the tick's.
type noFaces struct{}

func (noFaces) PushFrame(_ *av.Frame, ev map[string]float64) { ev["faces"] = 0 }
func (noFaces) Close() error                                 { return nil }

// With three cameras (with visual features) and a microphone array, a
// bundle is one Compute call (every camera's motion grid, the audio's
// spectra, log-mel, MFCC and GCC-PHAT) and one head call (every camera's
// step row), nothing else.
func TestOneComputeCallPerTick(t *testing.T) {
	be := &countingBackend{CPU: NewCPUCores(2)}
	defer be.Close()
	cfg := testConfig()
	cfg.Backend = be
	cfg.AudioFeatures = &AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray}
	cfg.Decide = &DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60, Camera: "cam0", HeartbeatNS: 1e9}
	cfg.Streams = map[av.Modality][]string{av.Video: {"cam0"}, av.Audio: {"mic0"}}
	cfg.Visual = noFaces{}
	cfg.MoreCameras = []CameraConfig{{Name: "cam1", YawDeg: 90, HFOVDeg: 60, Visual: noFaces{}}, {Name: "cam2", HFOVDeg: 60, Visual: noFaces{}}}
	a, err := NewActivity(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const n = 20
	var decisions int
	for i := range n {
		b := bundle(int64(i)*33, grayFrame(i%3, 0), sine(0.5, 4800))
		b.MoreFrames = []*av.Frame{grayFrame((i%5)*8, 16), grayFrame(0, i%2)}
		a.Push(b, func(*av.Decision) { decisions++ })
	}
	if be.compute != n || be.dense != n || be.single != 0 {
		t.Errorf("%d bundles: %d Compute, %d Dense, %d single operations; want %d, %d, 0", n, be.compute, be.dense, be.single, n, n)
	}
	if be.frames != 3 || be.mics != 1 {
		t.Errorf("a Compute held at most %d frames and %d microphones, want 3 and 1", be.frames, be.mics)
	}
	if decisions == 0 {
		t.Error("no decisions")
	}
}

// failingCompute is the CPU backend whose Compute always fails.
type failingCompute struct{ *CPU }

func (failingCompute) Compute(*TickWork) error { return ErrShape }

// A failed Compute costs the bundle's motion and spectral features, told
// to OnBackendError and counted, and nothing else: the level and the
// activity decisions go on.
func TestFailedComputeLosesItsFeaturesOnly(t *testing.T) {
	cfg := testConfig()
	cfg.Backend = failingCompute{NewCPUCores(1)}
	cfg.AudioFeatures = &AudioConfig{RateHz: 48000, Channels: 2}
	told := 0
	cfg.OnBackendError = func(error) { told++ }
	a, err := NewActivity(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []*av.Decision
	for i := range 10 {
		a.Push(bundle(int64(i)*33, grayFrame(i*8, 0), sine(0.5, 4800)), func(d *av.Decision) { got = append(got, d) })
	}
	a.Flush(func(d *av.Decision) { got = append(got, d) })
	if len(got) == 0 {
		t.Fatal("no decisions")
	}
	if n := a.feat.features.Counters.BackendErrors; n != 10 || told != 10 {
		t.Errorf("%d backend errors counted, %d told, want 10", n, told)
	}
	if v := a.feat.latest; v == nil || !v.Has(FeatRMS) || v.Has(FeatLogMel) {
		t.Errorf("features after a failed Compute: %+v, want the level without the spectra", v)
	}
	for _, d := range got {
		if !slices.Contains(d.Missing, string(av.Video)) {
			t.Errorf("%s decision has motion from failed Computes: missing %v", d.Kind, d.Missing)
		}
	}
}

// A failed Compute with no microphone (cameras only) is told too.
func TestFailedComputeVideoOnlyIsTold(t *testing.T) {
	cfg := testConfig()
	cfg.Backend = failingCompute{NewCPUCores(1)}
	told := 0
	cfg.OnBackendError = func(error) { told++ }
	a, err := NewActivity(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		a.Push(bundle(int64(i)*33, grayFrame(i*8, 0), nil), func(*av.Decision) {})
	}
	if told != 5 {
		t.Errorf("%d failed Computes told, want 5", told)
	}
}
