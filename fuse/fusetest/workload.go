package fusetest

import (
	"math/rand/v2"
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"gorgonia.org/tensor"
)

// Workload is one pipeline tick of feature and fusion work for a number of
// cameras and stereo microphones, as a robot (or a fleet worker) does it 30
// times a second: motion grids of every frame, 40-band log-mel of 33 ms of
// 48 kHz audio per channel (1024-point STFT, hop 512), GCC-PHAT between the
// two channels of each microphone (2048 points, ±32 lags) and a 64→16→1
// fusion head over every stream.
type Workload struct {
	Cameras, Mics int

	frames               []fuse.FrameRef
	grids, prev, diffs   [][]float32
	audio, window        []float32
	power, logmel, fb    []float32
	left, right, gcc     []float32
	x, w1, b1, h, w2, b2 []float32
	y                    []float32

	// Tensors over the buffers above, built once.
	tGrids, tPrev, tDiffs                 []*tensor.Dense
	tAudio, tWindow, tPower, tLogmel, tFB *tensor.Dense
	tLeft, tRight, tGCC                   *tensor.Dense
	tX, tW1, tB1, tH, tW2, tB2, tY        *tensor.Dense
}

// Workload sizes.
const (
	FFTSize     = 1024
	Bins        = FFTSize/2 + 1
	MelBands    = 40
	STFTPerTick = 3 // 33 ms of 48 kHz audio at hop 512
	GCCSize     = 2048
	GCCMaxLag   = 32
	HeadIn      = 64
	HeadHidden  = 16
	MotionCell  = 8
	MicChannels = 2
)

// NewWorkload makes a workload of random frames (width×height BGR24) and
// random audio. The frames live in the backend's host memory when it has
// some (av.HostMemory: pinned memory), as a daemon's cameras capture them.
func NewWorkload(b fuse.Backend, cameras, mics, width, height int) (*Workload, error) {
	rng := rand.New(rand.NewPCG(11, 12))
	w := &Workload{Cameras: cameras, Mics: mics}
	cells := (width / MotionCell) * (height / MotionCell)
	for range cameras {
		f := fuse.FrameRef{Width: width, Height: height, Stride: 3 * width, Format: av.BGR24}
		if ha := fuse.HostMemory(b); ha != nil {
			pix, err := ha.AllocHost(3 * width * height)
			if err != nil {
				return nil, err
			}
			f.Pix = pix
		} else {
			f.Pix = make([]byte, 3*width*height)
		}
		for i := range f.Pix {
			f.Pix[i] = byte(rng.Uint32())
		}
		w.frames = append(w.frames, f)
		w.grids = append(w.grids, make([]float32, cells))
		w.prev = append(w.prev, randF32(rng, cells))
		w.diffs = append(w.diffs, make([]float32, cells))
	}
	rows := mics * MicChannels * STFTPerTick
	w.audio = randF32(rng, rows*FFTSize)
	w.window = Hann(FFTSize)
	w.power = make([]float32, rows*Bins)
	w.logmel = make([]float32, rows*MelBands)
	w.fb = make([]float32, MelBands*Bins)
	for m := range MelBands {
		for k := m * 12; k < m*12+24 && k < Bins; k++ {
			w.fb[m*Bins+k] = 0.5
		}
	}
	w.left, w.right = randF32(rng, mics*GCCSize), randF32(rng, mics*GCCSize)
	w.gcc = make([]float32, mics*(2*GCCMaxLag+1))
	streams := cameras + mics
	w.x, w.w1, w.b1 = randF32(rng, streams*HeadIn), randF32(rng, HeadIn*HeadHidden), randF32(rng, HeadHidden)
	w.h = make([]float32, streams*HeadHidden)
	w.w2, w.b2 = randF32(rng, HeadHidden), randF32(rng, 1)
	w.y = make([]float32, streams)
	w.tGrids, w.tPrev, w.tDiffs = Vectors(w.grids), Vectors(w.prev), Vectors(w.diffs)
	w.tAudio, w.tWindow = fuse.Matrix(rows, FFTSize, w.audio), fuse.Vector(w.window)
	w.tPower, w.tLogmel, w.tFB = fuse.Matrix(rows, Bins, w.power), fuse.Matrix(rows, MelBands, w.logmel), fuse.Matrix(MelBands, Bins, w.fb)
	w.tLeft, w.tRight = fuse.Matrix(mics, GCCSize, w.left), fuse.Matrix(mics, GCCSize, w.right)
	w.tGCC = fuse.Matrix(mics, 2*GCCMaxLag+1, w.gcc)
	w.tX, w.tW1, w.tB1 = fuse.Matrix(streams, HeadIn, w.x), fuse.Matrix(HeadIn, HeadHidden, w.w1), fuse.Vector(w.b1)
	w.tH, w.tW2, w.tB2 = fuse.Matrix(streams, HeadHidden, w.h), fuse.Matrix(HeadHidden, 1, w.w2), fuse.Vector(w.b2)
	w.tY = fuse.Matrix(streams, 1, w.y)
	return w, nil
}

// Run does one tick on b.
func (w *Workload) Run(b fuse.Backend) error {
	if err := b.MotionGrids(w.frames, MotionCell, w.tGrids, w.tPrev, w.tDiffs); err != nil {
		return err
	}
	if err := b.PowerSpectra(w.tPower, w.tAudio, w.tWindow); err != nil {
		return err
	}
	if err := b.LogMel(w.tLogmel, w.tPower, w.tFB); err != nil {
		return err
	}
	if err := b.GCCPHAT(w.tGCC, w.tLeft, w.tRight, GCCMaxLag); err != nil {
		return err
	}
	if err := b.Dense(w.tH, w.tX, w.tW1, w.tB1, fuse.ReLU); err != nil {
		return err
	}
	return b.Dense(w.tY, w.tH, w.tW2, w.tB2, fuse.Sigmoid)
}

// Benchmark runs the workload on b, reporting ticks per second and the
// bytes of frames processed per second.
func Benchmark(tb *testing.B, b fuse.Backend, cameras, mics, width, height int) {
	w, err := NewWorkload(b, cameras, mics, width, height)
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Run(b); err != nil { // warm up: scratch buffers, compiled kernels
		tb.Fatal(err)
	}
	tb.SetBytes(int64(cameras * width * height * 3))
	tb.ReportAllocs()
	for tb.Loop() {
		if err := w.Run(b); err != nil {
			tb.Fatal(err)
		}
	}
	tb.ReportMetric(float64(tb.N)/tb.Elapsed().Seconds(), "ticks/s")
}
