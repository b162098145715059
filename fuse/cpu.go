package fuse

import (
	"math"
	"runtime"

	"gonum.org/v1/gonum/dsp/fourier"
	"gorgonia.org/tensor"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// CPU is the reference Backend: plain Go, float64 arithmetic where it
// matters (FFTs), no allocation once its scratch buffers have grown to the
// sizes in use. A batch is split across every core: its rows (frames, block
// rows of a frame, audio rows, head rows) go to a fixed number of parts in
// contiguous runs, each part with its own scratch, and every row is computed
// exactly as on one core, so results are bit-identical whatever the number
// of cores. It is not safe for concurrent use: give each pipeline its own.
type CPU struct {
	parts []cpuPart
	pool  *pool

	// The call in progress, read by the parts.
	frames          []FrameRef
	cell            int
	grids, prevs    []*tensor.Dense
	diffs           []*tensor.Dense
	rowOf           []int // MotionGrids: first block row of each frame, then the total
	dst, x, y, win  []float32
	rows, n, k, out int
	act             Activation

	// Compute's work: the microphones' unwrapped tensors and the current
	// phase's segments.
	args []audioArgs
	segs []segment

	// Part functions, bound once so a call allocates nothing.
	motionFn, powerFn, melFn, gccFn, denseFn, tickFn func(part, lo, hi int)
}

type cpuPart struct {
	ffts    map[int]*fftScratch
	reverse []float32
}

type fftScratch struct {
	fft      *fourier.FFT
	seq      []float64
	coeff    []complex128
	coeff2   []complex128
	spectrum []float64
}

// NewCPU returns the CPU backend for the cores Go runs on (GOMAXPROCS),
// its batches split in two parts per core, NewCPUCores(2 × GOMAXPROCS):
// while another thread holds a core, the parts left finish on the others
// (four cameras on two cores: tick p99 6.4–7.1 ms with a part per core,
// 2.0–3.1 ms with two; BENCHMARKS.md "A whole robot").
func NewCPU() *CPU { return NewCPUCores(2 * runtime.GOMAXPROCS(0)) }

// NewCPUCores returns the CPU backend on at most cores cores (at least one).
func NewCPUCores(cores int) *CPU {
	cores = max(cores, 1)
	c := &CPU{parts: make([]cpuPart, cores), pool: newPool(cores - 1)}
	for i := range c.parts {
		c.parts[i].ffts = map[int]*fftScratch{}
	}
	c.motionFn, c.powerFn, c.melFn, c.gccFn, c.denseFn = c.motionRows, c.powerRows, c.melRows, c.gccRows, c.denseRows
	c.tickFn = c.tickRows
	return c
}

// Name implements Backend.
func (c *CPU) Name() string { return "cpu" }

// Close implements Backend: it stops the worker goroutines.
func (c *CPU) Close() error {
	c.pool.close()
	return nil
}

// split runs fn over rows 0..rows-1 in min(parts, rows) contiguous runs,
// run p on part p, and returns when all are done.
func (c *CPU) split(rows int, fn func(part, lo, hi int)) {
	parts := min(len(c.parts), rows)
	if parts <= 1 {
		if rows > 0 {
			fn(0, 0, rows)
		}
		return
	}
	c.pool.run(parts, rows, fn)
}

func (p *cpuPart) scratch(n int) *fftScratch {
	s := p.ffts[n]
	if s == nil {
		s = &fftScratch{
			fft:      fourier.NewFFT(n),
			seq:      make([]float64, n),
			coeff:    make([]complex128, n/2+1),
			coeff2:   make([]complex128, n/2+1),
			spectrum: make([]float64, n),
		}
		p.ffts[n] = s
	}
	return s
}

// MotionGrids implements Backend. The parts share out block rows, of all
// frames together.
func (c *CPU) MotionGrids(frames []FrameRef, cell int, grids, prev, diffs []*tensor.Dense) error {
	if err := checkFrames(frames, cell, grids, prev, diffs); err != nil {
		return err
	}
	c.rowOf = c.rowOf[:0]
	total := 0
	for _, f := range frames {
		c.rowOf = append(c.rowOf, total)
		total += f.Height / cell
	}
	c.frames, c.cell, c.grids, c.prevs, c.diffs = frames, cell, grids, prev, diffs
	c.split(total, c.motionFn)
	c.frames, c.grids, c.prevs, c.diffs = nil, nil, nil, nil
	return nil
}

// motionRows computes block rows lo..hi-1 of the frames in c.frames.
func (c *CPU) motionRows(_, lo, hi int) {
	for i, f := range c.frames {
		gw, gh := f.Width/c.cell, f.Height/c.cell
		first := c.rowOf[i]
		a, b := max(lo, first)-first, min(hi, first+gh)-first
		if a >= b {
			continue
		}
		grid := c.grids[i].Float32s()
		blockLuma(f, c.cell, grid, gw, a, b)
		if c.prevs[i] == nil {
			continue
		}
		prev, diff := c.prevs[i].Float32s(), c.diffs[i].Float32s()
		for j := a * gw; j < b*gw; j++ {
			diff[j] = float32(math.Abs(float64(grid[j] - prev[j])))
		}
	}
}

// blockLuma writes the mean luma of each cell×cell block of block rows
// by0..by1-1 of f.
func blockLuma(f FrameRef, cell int, grid []float32, gw, by0, by1 int) {
	n := float32(cell * cell)
	for by := by0; by < by1; by++ {
		for bx := range gw {
			var sum int
			for y := by * cell; y < (by+1)*cell; y++ {
				row := f.Pix[y*f.Stride:]
				if f.Format == av.Gray8 {
					for _, v := range row[bx*cell : (bx+1)*cell] {
						sum += int(v)
					}
					continue
				}
				px := row[3*bx*cell : 3*(bx+1)*cell]
				for x := 0; x < len(px); x += 3 {
					sum += (29*int(px[x]) + 150*int(px[x+1]) + 77*int(px[x+2])) >> 8
				}
			}
			grid[by*gw+bx] = float32(sum) / n
		}
	}
}

// PowerSpectra implements Backend.
func (c *CPU) PowerSpectra(dst, frames, window *tensor.Dense) error {
	rows, fftSize, d, f, w, err := spectraArgs(dst, frames, window)
	if err != nil {
		return err
	}
	c.powerSpectra(d, f, rows, fftSize, w)
	return nil
}

func (c *CPU) powerSpectra(dst, frames []float32, rows, fftSize int, window []float32) {
	c.dst, c.x, c.win, c.n = dst, frames, window, fftSize
	c.split(rows, c.powerFn)
}

func (c *CPU) powerRows(part, lo, hi int) {
	powerRange(c.parts[part].scratch(c.n), c.dst, c.x, c.win, c.n, lo, hi)
}

// powerRange computes rows lo..hi-1 of PowerSpectra.
func powerRange(s *fftScratch, dst, frames, window []float32, fftSize, lo, hi int) {
	bins := fftSize/2 + 1
	for r := lo; r < hi; r++ {
		x := frames[r*fftSize : (r+1)*fftSize]
		for i, v := range x {
			s.seq[i] = float64(v) * float64(window[i])
		}
		s.fft.Coefficients(s.coeff, s.seq)
		out := dst[r*bins : (r+1)*bins]
		for k, z := range s.coeff {
			out[k] = float32(real(z)*real(z) + imag(z)*imag(z))
		}
	}
}

// LogMel implements Backend.
func (c *CPU) LogMel(dst, power, filterbank *tensor.Dense) error {
	rows, bins, nMel, d, p, fb, err := logMelArgs(dst, power, filterbank)
	if err != nil {
		return err
	}
	c.logMel(d, p, rows, bins, fb, nMel)
	return nil
}

func (c *CPU) logMel(dst, power []float32, rows, bins int, filterbank []float32, nMel int) {
	c.dst, c.x, c.y, c.n, c.k = dst, power, filterbank, bins, nMel
	c.split(rows, c.melFn)
}

func (c *CPU) melRows(_, lo, hi int) { melRange(c.dst, c.x, c.y, c.n, c.k, lo, hi) }

// melRange computes rows lo..hi-1 of LogMel.
func melRange(dst, power, filterbank []float32, bins, nMel, lo, hi int) {
	for r := lo; r < hi; r++ {
		p := power[r*bins : (r+1)*bins]
		for m := range nMel {
			w := filterbank[m*bins : (m+1)*bins]
			var e float64
			for b, v := range p {
				e += float64(v) * float64(w[b])
			}
			dst[r*nMel+m] = float32(math.Log(max(e, MelFloor)))
		}
	}
}

// GCCPHAT implements Backend.
func (c *CPU) GCCPHAT(dst, a, b *tensor.Dense, maxLag int) error {
	rows, n, d, va, vb, err := gccArgs(dst, a, b, maxLag)
	if err != nil {
		return err
	}
	c.gccPHAT(d, va, vb, rows, n, maxLag)
	return nil
}

func (c *CPU) gccPHAT(dst, a, b []float32, rows, n, maxLag int) {
	c.dst, c.x, c.y, c.n, c.k = dst, a, b, n, maxLag
	c.split(rows, c.gccFn)
}

func (c *CPU) gccRows(part, lo, hi int) {
	gccRange(c.parts[part].scratch(c.n), c.dst, c.x, c.y, c.n, c.k, lo, hi)
}

// gccRange computes rows lo..hi-1 of GCCPHAT.
func gccRange(s *fftScratch, dst, a, b []float32, n, maxLag, lo, hi int) {
	for r := lo; r < hi; r++ {
		for i, v := range a[r*n : (r+1)*n] {
			s.seq[i] = float64(v)
		}
		s.fft.Coefficients(s.coeff, s.seq)
		for i, v := range b[r*n : (r+1)*n] {
			s.seq[i] = float64(v)
		}
		s.fft.Coefficients(s.coeff2, s.seq)
		// Cross-spectrum conj(A)·B, whitened: only the phase is kept.
		for k := range s.coeff {
			x := complex(real(s.coeff[k]), -imag(s.coeff[k])) * s.coeff2[k]
			m := math.Hypot(real(x), imag(x))
			if m < 1e-20 {
				x = 0
			} else {
				x /= complex(m, 0)
			}
			s.coeff[k] = x
		}
		s.fft.Sequence(s.spectrum, s.coeff)
		out := dst[r*(2*maxLag+1) : (r+1)*(2*maxLag+1)]
		for k := -maxLag; k <= maxLag; k++ {
			out[maxLag+k] = float32(s.spectrum[(k+n)%n] / float64(n))
		}
	}
}

// Dense implements Backend.
func (c *CPU) Dense(dst, x, w, bias *tensor.Dense, act Activation) error {
	batch, in, out, d, vx, vw, vb, err := denseArgs(dst, x, w, bias, act)
	if err != nil {
		return err
	}
	c.dense(d, vx, batch, in, vw, vb, out, act)
	return nil
}

func (c *CPU) dense(dst, x []float32, batch, in int, w, bias []float32, out int, act Activation) {
	c.dst, c.x, c.y, c.win, c.n, c.out, c.act = dst, x, w, bias, in, out, act
	c.split(batch, c.denseFn)
}

func (c *CPU) denseRows(_, lo, hi int) { denseRange(c.dst, c.x, c.y, c.win, c.n, c.out, c.act, lo, hi) }

// denseRange computes rows lo..hi-1 of Dense; bias nil is no bias.
func denseRange(dst, x, w, bias []float32, in, out int, act Activation, lo, hi int) {
	for r := lo; r < hi; r++ {
		xr := x[r*in : (r+1)*in]
		y := dst[r*out : (r+1)*out]
		for o := range out {
			var acc float64
			if bias != nil {
				acc = float64(bias[o])
			}
			for i, v := range xr {
				acc += float64(v) * float64(w[i*out+o])
			}
			y[o] = float32(applyActivation(acc, act))
		}
	}
}

func applyActivation(v float64, act Activation) float64 {
	switch act {
	case ReLU:
		return max(v, 0)
	case Sigmoid:
		return 1 / (1 + math.Exp(-v))
	}
	return v
}
