package fuse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
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
	work TickWork
	head *Head
	rows []HeadRow
	out  [][]HeadScore
}

func newTickWork(tb testing.TB, be Backend, cameras, width, height, channels, rateHz int) *tickWork {
	tb.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	t := &tickWork{}
	cells := (width / MotionCell) * (height / MotionCell)
	for range cameras {
		pix := make([]byte, 3*width*height)
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
	// A square array, 6 cm a side.
	mics := [][2]float64{{-0.03, -0.03}, {0.03, -0.03}, {0.03, 0.03}, {-0.03, 0.03}}[:channels]
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

// BenchmarkTick is one tick of the daemon's Backend work for 4 cameras of
// 640×480 and a 4-channel 48 kHz array, on the CPU backend on one core and
// on every core (GOMAXPROCS), in the same run.
func BenchmarkTick(b *testing.B) {
	for _, cores := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("4cam640x480+4ch48k/cores=%d", cores), func(b *testing.B) {
			be := NewCPUCores(cores)
			defer be.Close()
			t := newTickWork(b, be, 4, 640, 480, 4, 48000)
			if err := t.run(be); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(4 * 640 * 480 * 3)
			b.ReportAllocs()
			for b.Loop() {
				if err := t.run(be); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
