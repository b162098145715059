package fuse

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// tickWork is one daemon tick's Backend work for cameras cameras of
// width×height and one microphone array of channels channels at rateHz:
// the TickWork of Backend.Compute (motion grids of every frame; spectra of
// the analysis frame and the VAD's hops, log-mel and MFCC, the GCC-PHAT
// pairs, as AudioFeatures gathers them from 33 ms of audio) and the head's
// rows, one per camera, for the second call.
type tickWork struct {
	work   TickWork
	frames []*av.Frame // the frames' own: their pixels are freed with them
	head   *Head
	rows   []HeadRow
	out    [][]HeadScore
}

func newTickWork(tb testing.TB, be Backend, cameras, width, height, channels, rateHz int) *tickWork {
	tb.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	t := &tickWork{}
	cells := (width / MotionCell) * (height / MotionCell)
	// The frames in the backend's host memory where it has some (CUDA's
	// pinned memory), as the daemon's cameras capture them.
	frames := av.NewFramePoolIn(width, height, av.BGR24, cameras, HostMemory(be))
	for range cameras {
		f := frames.Get()
		t.frames = append(t.frames, f)
		pix := f.Pix
		for i := range pix {
			pix[i] = byte(rng.Uint32())
		}
		m := &t.work.Motion
		m.Frames = append(m.Frames, FrameRef{Pix: pix, Width: width, Height: height, Stride: 3 * width, Format: av.BGR24})
		m.Grids = append(m.Grids, Vector(make([]float32, cells)))
		m.Prev = append(m.Prev, Vector(make([]float32, cells)))
		m.Diffs = append(m.Diffs, Vector(make([]float32, cells)))
	}
	t.work.Motion.Cell = MotionCell
	// A circular array, 4 cm across.
	mics := make([][2]float64, channels)
	for i := range mics {
		th := 2 * math.Pi * float64(i) / float64(channels)
		mics[i] = [2]float64{0.02 * math.Cos(th), 0.02 * math.Sin(th)}
	}
	a, err := NewAudioFeatures(AudioConfig{RateHz: rateHz, Channels: channels, DOA: DOAConfig{Mics: mics}}, be)
	if err != nil {
		tb.Fatal(err)
	}
	window := rateHz / 30 // one bundle's new audio...
	window += a.fftSize   // ...and the analysis frame before it
	data := make([]float32, channels*window)
	for i := range data {
		data[i] = float32(0.2*math.Sin(float64(i/channels)*0.07) + 0.01*rng.NormFloat64())
	}
	s := av.AudioSlice{RateHz: rateHz, Channels: channels, Data: data, Covered: window, StartNS: 0}
	a.Push(0, &s) // the VAD's hop grid starts
	s.StartNS = av.FramesToNS(int64(rateHz/30), rateHz)
	if !a.gather(s.StartNS, &s, &t.work) {
		tb.Fatal("no audio work")
	}
	if got := t.work.Audio[0].Frames.Shape()[0]; got < 2 {
		tb.Fatalf("%d spectra rows, want the analysis frame and the VAD's hops", got)
	}
	if t.head, err = NewHead(DefaultModel(), be); err != nil {
		tb.Fatal(err)
	}
	for range cameras {
		x := make([]float32, len(HeadFeatures))
		for i := range x {
			x[i] = float32(rng.Float64())
		}
		t.rows = append(t.rows, HeadRow{X: x, Head: HeadAV})
		t.out = append(t.out, make([]HeadScore, len(DecisionKinds)))
	}
	return t
}

// run does the tick's two Backend calls.
func (t *tickWork) run(be Backend) error {
	if err := be.Compute(&t.work); err != nil {
		return err
	}
	return t.head.Eval(t.rows, t.out)
}

// BenchmarkTick is one tick of the daemon's Backend work (Compute, then
// the head over every camera's row): 4 cameras of 640×480 and a 4-channel
// 48 kHz array, and 8 cameras of 1920×1080 and an 8-channel array; on the
// CPU backend on one core (cpu-1core) and on every core (cpu: GOMAXPROCS),
// in the same run, and on the CUDA backend when a GPU is there.
func BenchmarkTick(b *testing.B) {
	type backend struct {
		name string
		make func() Backend
	}
	backends := []backend{
		{"cpu-1core", func() Backend { return NewCPUCores(1) }},
		{"cpu", func() Backend { return NewCPU() }},
	}
	if c, err := NewCUDA(CUDAOptions{}); err == nil {
		c.Close()
		backends = append(backends, backend{"cuda", func() Backend {
			c, err := NewCUDA(CUDAOptions{})
			if err != nil {
				b.Fatal(err)
			}
			return c
		}})
	}
	for _, w := range []struct {
		name                                   string
		cameras, width, height, channels, rate int
	}{
		{"4cam640x480+4ch48k", 4, 640, 480, 4, 48000},
		{"8cam1920x1080+8ch48k", 8, 1920, 1080, 8, 48000},
	} {
		for _, bk := range backends {
			b.Run(bk.name+"/"+w.name, func(b *testing.B) {
				be := bk.make()
				defer be.Close()
				t := newTickWork(b, be, w.cameras, w.width, w.height, w.channels, w.rate)
				if err := t.run(be); err != nil { // warm up: scratch, workers, kernels
					b.Fatal(err)
				}
				b.SetBytes(int64(w.cameras * w.width * w.height * 3))
				b.ReportAllocs()
				for b.Loop() {
					if err := t.run(be); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
