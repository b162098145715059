package fusetest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"gorgonia.org/tensor"
)

// Tolerances, per operation.
const (
	// TolGrid is the absolute tolerance of block luma means and their
	// changes, in grey levels.
	TolGrid = 1e-3
	// TolPower is the tolerance of a power spectrum bin, relative to the
	// largest power of its row.
	TolPower = 1e-4
	// TolLogMel is the absolute tolerance of log-mel energies where the
	// mel energy is at least 1e-6 of the row's largest (nepers).
	TolLogMel = 2e-3
	// TolGCC is the absolute tolerance of a GCC-PHAT correlation value
	// (values lie in [-1, 1]); the peak lag must match exactly.
	TolGCC = 2e-3
	// TolDense is the tolerance of a dense layer output, relative to
	// 1 + |reference|.
	TolDense = 1e-5
)

// Run runs the whole contract against b.
func Run(t *testing.T, b fuse.Backend) {
	t.Run("MotionGrids", func(t *testing.T) { testMotionGrids(t, b) })
	t.Run("PowerSpectra", func(t *testing.T) { testPowerSpectra(t, b) })
	t.Run("LogMel", func(t *testing.T) { testLogMel(t, b) })
	t.Run("GCCPHAT", func(t *testing.T) { testGCCPHAT(t, b) })
	t.Run("Dense", func(t *testing.T) { testDense(t, b) })
	t.Run("BadShapes", func(t *testing.T) { testBadShapes(t, b) })
	t.Run("Compute", func(t *testing.T) { testCompute(t, b) })
}

// testCompute: one Compute call gives what the single operations give on
// the same backend (to TolDense, relative), for two frames of different
// sizes and two microphones of different FFT sizes, log-mel and MFCC of
// the first rows, GCC-PHAT pairs on one of them.
func testCompute(t *testing.T, b fuse.Backend) {
	rng := rand.New(rand.NewPCG(5, 6))
	type out struct {
		name      string
		got, want []float32
	}
	var outs []out
	pair := func(name string, n int) (*tensor.Dense, *tensor.Dense, []float32, []float32) {
		got, want := make([]float32, n), make([]float32, n)
		outs = append(outs, out{name, got, want})
		return fuse.Vector(got), fuse.Vector(want), got, want
	}
	var w fuse.TickWork
	w.Motion.Cell = 8
	var single []func() error
	for i, sz := range [][2]int{{64, 48}, {40, 24}} {
		f := RandomFrame(rng, sz[0], sz[1], av.BGR24)
		cells := (sz[0] / 8) * (sz[1] / 8)
		g, gw, _, _ := pair(fmt.Sprint("grid ", i), cells)
		d, dw, _, _ := pair(fmt.Sprint("diff ", i), cells)
		prev := fuse.Vector(randF32(rng, cells))
		w.Motion.Frames = append(w.Motion.Frames, f)
		w.Motion.Grids, w.Motion.Prev, w.Motion.Diffs = append(w.Motion.Grids, g), append(w.Motion.Prev, prev), append(w.Motion.Diffs, d)
		single = append(single, func() error {
			return b.MotionGrids([]fuse.FrameRef{f}, 8, []*tensor.Dense{gw}, []*tensor.Dense{prev}, []*tensor.Dense{dw})
		})
	}
	for i, m := range []struct{ rows, n, mel, nMel, nMFCC, gccRows int }{{4, 256, 1, 20, 8, 2}, {3, 512, 2, 24, 10, 0}} {
		bins := m.n/2 + 1
		frames, window := fuse.Matrix(m.rows, m.n, randF32(rng, m.rows*m.n)), fuse.Vector(Hann(m.n))
		fb, dct := fuse.Matrix(m.nMel, bins, randF32(rng, m.nMel*bins)), fuse.Matrix(m.nMel, m.nMFCC, randF32(rng, m.nMel*m.nMFCC))
		_, _, p, pw := pair(fmt.Sprint("power ", i), m.rows*bins)
		_, _, l, lw := pair(fmt.Sprint("log-mel ", i), m.mel*m.nMel)
		_, _, c, cw := pair(fmt.Sprint("mfcc ", i), m.mel*m.nMFCC)
		a := fuse.AudioWork{Frames: frames, Window: window, Power: fuse.Matrix(m.rows, bins, p),
			Filterbank: fb, LogMel: fuse.Matrix(m.mel, m.nMel, l), DCT: dct, MFCC: fuse.Matrix(m.mel, m.nMFCC, c)}
		single = append(single, func() error {
			if err := b.PowerSpectra(fuse.Matrix(m.rows, bins, pw), frames, window); err != nil {
				return err
			}
			mel := fuse.Matrix(m.mel, m.nMel, lw)
			if err := b.LogMel(mel, fuse.Matrix(m.mel, bins, pw[:m.mel*bins]), fb); err != nil {
				return err
			}
			return b.Dense(fuse.Matrix(m.mel, m.nMFCC, cw), mel, dct, fuse.Vector(make([]float32, m.nMFCC)), fuse.Linear)
		})
		if m.gccRows > 0 {
			ga, gb := fuse.Matrix(m.gccRows, m.n, randF32(rng, m.gccRows*m.n)), fuse.Matrix(m.gccRows, m.n, randF32(rng, m.gccRows*m.n))
			_, _, g, gw := pair(fmt.Sprint("gcc ", i), m.gccRows*9)
			a.GCCA, a.GCCB, a.GCC, a.MaxLag = ga, gb, fuse.Matrix(m.gccRows, 9, g), 4
			single = append(single, func() error { return b.GCCPHAT(fuse.Matrix(m.gccRows, 9, gw), ga, gb, 4) })
		}
		w.Audio = append(w.Audio, a)
	}
	if err := b.Compute(&w); err != nil {
		t.Fatal(err)
	}
	for _, f := range single {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range outs {
		for j := range o.want {
			if d := math.Abs(float64(o.got[j] - o.want[j])); d > TolDense*(1+math.Abs(float64(o.want[j]))) {
				t.Fatalf("%s[%d]: Compute %v, single operation %v", o.name, j, o.got[j], o.want[j])
			}
		}
	}
	testResidentConstants(t, b, &w, func() [][]float32 {
		var got [][]float32
		for _, o := range outs {
			got = append(got, o.got)
		}
		return got
	})
	// A mismatch anywhere in the batch is refused.
	w.Audio[1].MFCC = fuse.Matrix(1, 3, make([]float32, 3))
	if err := b.Compute(&w); !errors.Is(err, fuse.ErrShape) {
		t.Errorf("a wrong MFCC shape: got %v, want ErrShape", err)
	}
}

// residentBackend is a backend that keeps constant tensors on its device
// (fuse.CUDA.Resident).
type residentBackend interface {
	Resident(t *tensor.Dense) (*tensor.Dense, error)
}

// testResidentConstants: on a backend that keeps constants on its device,
// Compute gives the same results with every microphone's window,
// filterbank and DCT resident as with them uploaded (outputs: w's output
// buffers), and refuses a device tensor anywhere else. It restores w.
func testResidentConstants(t *testing.T, b fuse.Backend, w *fuse.TickWork, outputs func() [][]float32) {
	r, ok := b.(residentBackend)
	if !ok {
		return
	}
	var want [][]float32
	for _, o := range outputs() {
		want = append(want, slices.Clone(o))
		clear(o)
	}
	host := slices.Clone(w.Audio)
	defer copy(w.Audio, host)
	resident := func(x *tensor.Dense) *tensor.Dense {
		d, err := r.Resident(x)
		if err != nil {
			t.Fatalf("Resident %v: %v", x.Shape(), err)
		}
		return d
	}
	for i := range w.Audio {
		a := &w.Audio[i]
		a.Window, a.Filterbank, a.DCT = resident(a.Window), resident(a.Filterbank), resident(a.DCT)
	}
	if err := b.Compute(w); err != nil {
		t.Fatalf("Compute with resident constants: %v", err)
	}
	for k, o := range outputs() {
		for j := range o {
			if d := math.Abs(float64(o[j] - want[k][j])); d > TolDense*(1+math.Abs(float64(want[k][j]))) {
				t.Fatalf("output %d[%d]: %v with resident constants, %v uploaded", k, j, o[j], want[k][j])
			}
		}
	}
	w.Audio[0].Frames = resident(w.Audio[0].Frames)
	if err := b.Compute(w); !errors.Is(err, fuse.ErrShape) {
		t.Errorf("device frames: got %v, want ErrShape", err)
	}
}

// Frame makes a w×h frame of format f filled by pix(x, y, channel).
func Frame(w, h int, f av.PixelFormat, pix func(x, y, c int) byte) fuse.FrameRef {
	bpp := f.BytesPerPixel()
	ref := fuse.FrameRef{Pix: make([]byte, w*h*bpp), Width: w, Height: h, Stride: w * bpp, Format: f}
	for y := range h {
		for x := range w {
			for c := range bpp {
				ref.Pix[y*ref.Stride+x*bpp+c] = pix(x, y, c)
			}
		}
	}
	return ref
}

// RandomFrame makes a frame of random pixels.
func RandomFrame(rng *rand.Rand, w, h int, f av.PixelFormat) fuse.FrameRef {
	return Frame(w, h, f, func(x, y, c int) byte { return byte(rng.Uint32()) })
}

// refGrid is the reference block luma.
func refGrid(f fuse.FrameRef, cell int) []float64 {
	gw, gh := f.Width/cell, f.Height/cell
	out := make([]float64, gw*gh)
	for by := range gh {
		for bx := range gw {
			sum := 0
			for y := by * cell; y < (by+1)*cell; y++ {
				for x := bx * cell; x < (bx+1)*cell; x++ {
					if f.Format == av.Gray8 {
						sum += int(f.Pix[y*f.Stride+x])
					} else {
						p := f.Pix[y*f.Stride+3*x:]
						sum += (29*int(p[0]) + 150*int(p[1]) + 77*int(p[2])) >> 8
					}
				}
			}
			out[by*gw+bx] = float64(sum) / float64(cell*cell)
		}
	}
	return out
}

func testMotionGrids(t *testing.T, b fuse.Backend) {
	// Known answers: gray blocks of value 10·bx + by; a BGR frame of pure
	// green; partial blocks at the edges are ignored.
	gray := Frame(37, 21, av.Gray8, func(x, y, c int) byte { return byte(10*(x/8) + y/8) })
	green := Frame(16, 16, av.BGR24, func(x, y, c int) byte { return [3]byte{0, 200, 0}[c] })
	grids := [][]float32{make([]float32, 4*2), make([]float32, 4)}
	if err := b.MotionGrids([]fuse.FrameRef{gray, green}, 8, Vectors(grids), Vectors([][]float32{nil, nil}), Vectors([][]float32{nil, nil})); err != nil {
		t.Fatal(err)
	}
	for by := range 2 {
		for bx := range 4 {
			if got, want := grids[0][by*4+bx], float32(10*bx+by); math.Abs(float64(got-want)) > TolGrid {
				t.Fatalf("gray block (%d,%d) = %v, want %v", bx, by, got, want)
			}
		}
	}
	if want := float32(150 * 200 >> 8); math.Abs(float64(grids[1][0]-want)) > TolGrid {
		t.Fatalf("green luma %v, want %v", grids[1][0], want)
	}

	// Random frames of several shapes and both formats, in one batch, with
	// changes against the previous frames.
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []struct {
		w, h, cell int
		f          av.PixelFormat
	}{{64, 48, 8, av.BGR24}, {64, 48, 8, av.BGR24}, {100, 30, 4, av.Gray8}, {640, 480, 8, av.BGR24}, {33, 17, 16, av.BGR24}}
	for _, cell := range []int{8, 4, 16} {
		var frames, prevFrames []fuse.FrameRef
		for _, s := range shapes {
			if s.cell != cell {
				continue
			}
			frames = append(frames, RandomFrame(rng, s.w, s.h, s.f))
			prevFrames = append(prevFrames, RandomFrame(rng, s.w, s.h, s.f))
		}
		n := len(frames)
		grids, prev, diffs := make([][]float32, n), make([][]float32, n), make([][]float32, n)
		for i, f := range frames {
			cells := (f.Width / cell) * (f.Height / cell)
			grids[i], diffs[i] = make([]float32, cells), make([]float32, cells)
			prev[i] = toF32(refGrid(prevFrames[i], cell))
		}
		if err := b.MotionGrids(frames, cell, Vectors(grids), Vectors(prev), Vectors(diffs)); err != nil {
			t.Fatal(err)
		}
		for i, f := range frames {
			want := refGrid(f, cell)
			for j := range want {
				if d := math.Abs(float64(grids[i][j]) - want[j]); d > TolGrid {
					t.Fatalf("cell %d frame %d block %d: grid %v, want %v", cell, i, j, grids[i][j], want[j])
				}
				wd := math.Abs(want[j] - float64(prev[i][j]))
				if d := math.Abs(float64(diffs[i][j]) - wd); d > TolGrid {
					t.Fatalf("cell %d frame %d block %d: diff %v, want %v", cell, i, j, diffs[i][j], wd)
				}
			}
		}
	}
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// refDFT returns the DFT of x (complex, float64, direct).
func refDFT(x []float64) []complex128 {
	n := len(x)
	out := make([]complex128, n)
	for k := range n {
		var s complex128
		for i, v := range x {
			ang := -2 * math.Pi * float64(k*i%n) / float64(n)
			s += complex(v*math.Cos(ang), v*math.Sin(ang))
		}
		out[k] = s
	}
	return out
}

// Hann returns a periodic Hann window.
func Hann(n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n)))
	}
	return w
}

func testPowerSpectra(t *testing.T, b fuse.Backend) {
	// A sine on bin 5 with a rectangular window has power (N·A/2)² there.
	n, amp := 64, 0.5
	rect := make([]float32, n)
	x := make([]float32, n)
	for i := range x {
		rect[i] = 1
		x[i] = float32(amp * math.Cos(2*math.Pi*5*float64(i)/float64(n)))
	}
	dst := make([]float32, n/2+1)
	if err := b.PowerSpectra(fuse.Matrix(1, n/2+1, dst), fuse.Matrix(1, n, x), fuse.Vector(rect)); err != nil {
		t.Fatal(err)
	}
	want := math.Pow(float64(n)*amp/2, 2)
	for k, p := range dst {
		w := 0.0
		if k == 5 {
			w = want
		}
		if math.Abs(float64(p)-w) > TolPower*want {
			t.Fatalf("bin %d power %v, want %v", k, p, w)
		}
	}

	// Random rows against the direct DFT, with a Hann window.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{2, 64, 512, 2048} {
		rows := 3
		win := Hann(size)
		frames := make([]float32, rows*size)
		for i := range frames {
			frames[i] = float32(rng.Float64()*2 - 1)
		}
		got := make([]float32, rows*(size/2+1))
		if err := b.PowerSpectra(fuse.Matrix(rows, size/2+1, got), fuse.Matrix(rows, size, frames), fuse.Vector(win)); err != nil {
			t.Fatal(err)
		}
		for r := range rows {
			seq := make([]float64, size)
			for i := range seq {
				seq[i] = float64(frames[r*size+i]) * float64(win[i])
			}
			spec := refDFT(seq)
			ref := make([]float64, size/2+1)
			peak := 0.0
			for k := range ref {
				ref[k] = real(spec[k])*real(spec[k]) + imag(spec[k])*imag(spec[k])
				peak = max(peak, ref[k])
			}
			for k := range ref {
				if d := math.Abs(float64(got[r*(size/2+1)+k]) - ref[k]); d > TolPower*peak {
					t.Fatalf("size %d row %d bin %d: %v, want %v", size, r, k, got[r*(size/2+1)+k], ref[k])
				}
			}
		}
	}
}

func testLogMel(t *testing.T, b fuse.Backend) {
	rng := rand.New(rand.NewPCG(5, 6))
	rows, bins, nMel := 4, 257, 40
	power := make([]float32, rows*bins)
	for i := range power {
		power[i] = float32(rng.Float64() * 100)
	}
	for i := range bins { // a silent row hits the floor
		power[bins+i] = 0
	}
	fb := make([]float32, nMel*bins)
	for m := range nMel {
		for k := m * 6; k < m*6+12 && k < bins; k++ {
			fb[m*bins+k] = float32(rng.Float64())
		}
	}
	dst := make([]float32, rows*nMel)
	if err := b.LogMel(fuse.Matrix(rows, nMel, dst), fuse.Matrix(rows, bins, power), fuse.Matrix(nMel, bins, fb)); err != nil {
		t.Fatal(err)
	}
	for r := range rows {
		for m := range nMel {
			var e float64
			for k := range bins {
				e += float64(power[r*bins+k]) * float64(fb[m*bins+k])
			}
			want := math.Log(max(e, fuse.MelFloor))
			if d := math.Abs(float64(dst[r*nMel+m]) - want); d > TolLogMel {
				t.Fatalf("row %d mel %d: %v, want %v", r, m, dst[r*nMel+m], want)
			}
		}
	}
}

// refGCC is the direct GCC-PHAT of one pair of rows.
func refGCC(a, b []float64, maxLag int) []float64 {
	n := len(a)
	fa, fb := refDFT(a), refDFT(b)
	cross := make([]complex128, n)
	for k := range cross {
		x := complex(real(fa[k]), -imag(fa[k])) * fb[k]
		if m := math.Hypot(real(x), imag(x)); m > 1e-20 {
			cross[k] = x / complex(m, 0)
		}
	}
	out := make([]float64, 2*maxLag+1)
	for lag := -maxLag; lag <= maxLag; lag++ {
		var s float64
		for k, c := range cross {
			ang := 2 * math.Pi * float64(k*((lag+n)%n)%n) / float64(n)
			s += real(c)*math.Cos(ang) - imag(c)*math.Sin(ang)
		}
		out[maxLag+lag] = s / float64(n)
	}
	return out
}

func testGCCPHAT(t *testing.T, b fuse.Backend) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{64, 256, 1024, 2048} {
		delays := []int{0, 3, -5, 17}
		rows, maxLag := len(delays), min(24, n/2-1)
		a, bb := make([]float32, rows*n), make([]float32, rows*n)
		for r, d := range delays {
			src := make([]float64, n)
			for i := range src {
				src[i] = rng.Float64()*2 - 1
			}
			for i := range n {
				a[r*n+i] = float32(src[i])
				bb[r*n+i] = float32(src[((i-d)%n+n)%n]) // b lags a by d
			}
		}
		dst := make([]float32, rows*(2*maxLag+1))
		if err := b.GCCPHAT(fuse.Matrix(rows, 2*maxLag+1, dst), fuse.Matrix(rows, n, a), fuse.Matrix(rows, n, bb), maxLag); err != nil {
			t.Fatal(err)
		}
		for r, d := range delays {
			row := dst[r*(2*maxLag+1) : (r+1)*(2*maxLag+1)]
			if peak := argmax(row) - maxLag; peak != d {
				t.Fatalf("n %d row %d: peak at lag %d, want %d", n, r, peak, d)
			}
			if n > 256 {
				continue // the direct reference is O(n²) per lag
			}
			fa, fb := make([]float64, n), make([]float64, n)
			for i := range n {
				fa[i], fb[i] = float64(a[r*n+i]), float64(bb[r*n+i])
			}
			for j, want := range refGCC(fa, fb, maxLag) {
				if math.Abs(float64(row[j])-want) > TolGCC {
					t.Fatalf("n %d row %d lag %d: %v, want %v", n, r, j-maxLag, row[j], want)
				}
			}
		}
	}
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func testDense(t *testing.T, b fuse.Backend) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, act := range []fuse.Activation{fuse.Linear, fuse.ReLU, fuse.Sigmoid} {
		for _, shape := range [][3]int{{1, 1, 1}, {5, 13, 7}, {64, 40, 16}, {0, 3, 2}} {
			batch, in, out := shape[0], shape[1], shape[2]
			x, w, bias := randF32(rng, batch*in), randF32(rng, in*out), randF32(rng, out)
			dst := make([]float32, batch*out)
			if err := b.Dense(fuse.Matrix(batch, out, dst), fuse.Matrix(batch, in, x), fuse.Matrix(in, out, w), fuse.Vector(bias), act); err != nil {
				t.Fatal(err)
			}
			for r := range batch {
				for o := range out {
					acc := float64(bias[o])
					for i := range in {
						acc += float64(x[r*in+i]) * float64(w[i*out+o])
					}
					switch act {
					case fuse.ReLU:
						acc = max(acc, 0)
					case fuse.Sigmoid:
						acc = 1 / (1 + math.Exp(-acc))
					}
					if d := math.Abs(float64(dst[r*out+o]) - acc); d > TolDense*(1+math.Abs(acc)) {
						t.Fatalf("act %d shape %v (%d,%d): %v, want %v", act, shape, r, o, dst[r*out+o], acc)
					}
				}
			}
		}
	}
}

func randF32(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.Float64()*2 - 1)
	}
	return out
}

func testBadShapes(t *testing.T, b fuse.Backend) {
	ok := Frame(16, 16, av.Gray8, func(x, y, c int) byte { return 0 })
	zero := fuse.FrameRef{Format: av.BGR24}
	short := fuse.FrameRef{Pix: make([]byte, 10), Width: 16, Height: 16, Stride: 48, Format: av.BGR24}
	g := []*tensor.Dense{fuse.Vector(make([]float32, 4))}
	none := []*tensor.Dense{nil}
	f64 := tensor.New(tensor.WithShape(1, 8), tensor.WithBacking(make([]float64, 8)))
	for name, err := range map[string]error{
		"zero-size frame":   b.MotionGrids([]fuse.FrameRef{zero}, 8, g, none, none),
		"short frame":       b.MotionGrids([]fuse.FrameRef{short}, 8, g, none, none),
		"wrong grid":        b.MotionGrids([]fuse.FrameRef{ok}, 4, g, none, none),
		"cell 0":            b.MotionGrids([]fuse.FrameRef{ok}, 0, g, none, none),
		"fft not pow2":      b.PowerSpectra(mat(1, 4), mat(1, 6), vec(6)),
		"fft short dst":     b.PowerSpectra(mat(1, 4), mat(1, 8), vec(8)),
		"fft short window":  b.PowerSpectra(mat(1, 5), mat(1, 8), vec(7)),
		"fft rows":          b.PowerSpectra(mat(2, 5), mat(1, 8), vec(8)),
		"fft float64":       b.PowerSpectra(mat(1, 5), f64, vec(8)),
		"fft vector frames": b.PowerSpectra(mat(1, 5), vec(8), vec(8)),
		"fft nil":           b.PowerSpectra(nil, mat(1, 8), vec(8)),
		"logmel mismatch":   b.LogMel(mat(1, 2), mat(2, 5), mat(1, 5)),
		"logmel bins":       b.LogMel(mat(2, 3), mat(2, 5), mat(3, 4)),
		"gcc lag too large": b.GCCPHAT(mat(1, 17), mat(1, 16), mat(1, 16), 8),
		"gcc rows":          b.GCCPHAT(mat(1, 5), mat(1, 16), mat(2, 16), 2),
		"dense mismatch":    b.Dense(mat(1, 2), mat(1, 3), mat(1, 5), vec(2), fuse.Linear),
		"dense bias":        b.Dense(mat(1, 2), mat(1, 3), mat(3, 2), vec(3), fuse.Linear),
		"dense activation":  b.Dense(mat(1, 2), mat(1, 3), mat(3, 2), vec(2), fuse.Activation(9)),
	} {
		if !errors.Is(err, fuse.ErrShape) {
			t.Errorf("%s: got %v, want ErrShape", name, err)
		}
	}
	// Empty batches are fine.
	if err := b.MotionGrids(nil, 8, nil, nil, nil); err != nil {
		t.Errorf("empty MotionGrids: %v", err)
	}
	if err := b.PowerSpectra(mat(0, 33), mat(0, 64), vec(64)); err != nil {
		t.Errorf("empty PowerSpectra: %v", err)
	}
}

// Vectors wraps each slice in a float32 vector tensor; nil stays nil.
func Vectors(s [][]float32) []*tensor.Dense {
	out := make([]*tensor.Dense, len(s))
	for i, v := range s {
		if v != nil {
			out[i] = fuse.Vector(v)
		}
	}
	return out
}

func mat(rows, cols int) *tensor.Dense { return fuse.Matrix(rows, cols, make([]float32, rows*cols)) }
func vec(n int) *tensor.Dense          { return fuse.Vector(make([]float32, n)) }
