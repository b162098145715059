package fuse

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// CPU is the reference Backend: plain Go on one core, float64 arithmetic
// where it matters (FFTs), no allocation once its scratch buffers have grown
// to the sizes in use. It is not safe for concurrent use: give each pipeline
// its own.
type CPU struct {
	ffts    map[int]*fftScratch
	reverse []float32 // GCCPHAT: the cross-correlation of one row
}

type fftScratch struct {
	fft      *fourier.FFT
	seq      []float64
	coeff    []complex128
	coeff2   []complex128
	spectrum []float64
}

// NewCPU returns the CPU backend.
func NewCPU() *CPU { return &CPU{ffts: map[int]*fftScratch{}} }

// Name implements Backend.
func (c *CPU) Name() string { return "cpu" }

// Close implements Backend.
func (c *CPU) Close() error { return nil }

func (c *CPU) scratch(n int) *fftScratch {
	s := c.ffts[n]
	if s == nil {
		s = &fftScratch{
			fft:      fourier.NewFFT(n),
			seq:      make([]float64, n),
			coeff:    make([]complex128, n/2+1),
			coeff2:   make([]complex128, n/2+1),
			spectrum: make([]float64, n),
		}
		c.ffts[n] = s
	}
	return s
}

// MotionGrids implements Backend.
func (c *CPU) MotionGrids(frames []FrameRef, cell int, grids, prev, diffs [][]float32) error {
	if err := checkFrames(frames, cell, grids, prev, diffs); err != nil {
		return err
	}
	for i, f := range frames {
		gw, gh := f.Width/cell, f.Height/cell
		blockLuma(f, cell, grids[i], gw, gh)
		if prev[i] == nil {
			continue
		}
		for j, v := range grids[i] {
			diffs[i][j] = float32(math.Abs(float64(v - prev[i][j])))
		}
	}
	return nil
}

// blockLuma writes the mean luma of each cell×cell block of f.
func blockLuma(f FrameRef, cell int, grid []float32, gw, gh int) {
	n := float32(cell * cell)
	for by := range gh {
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
func (c *CPU) PowerSpectra(dst, frames []float32, rows, fftSize int, window []float32) error {
	if err := checkSpectra(dst, frames, rows, fftSize, window); err != nil {
		return err
	}
	s := c.scratch(fftSize)
	bins := fftSize/2 + 1
	for r := range rows {
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
	return nil
}

// LogMel implements Backend.
func (c *CPU) LogMel(dst, power []float32, rows, bins int, filterbank []float32, nMel int) error {
	if err := checkLogMel(dst, power, rows, bins, filterbank, nMel); err != nil {
		return err
	}
	for r := range rows {
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
	return nil
}

// GCCPHAT implements Backend.
func (c *CPU) GCCPHAT(dst, a, b []float32, rows, n, maxLag int) error {
	if err := checkGCC(dst, a, b, rows, n, maxLag); err != nil {
		return err
	}
	s := c.scratch(n)
	for r := range rows {
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
	return nil
}

// Dense implements Backend.
func (c *CPU) Dense(dst, x []float32, batch, in int, w, bias []float32, out int, act Activation) error {
	if err := checkDense(dst, x, batch, in, w, bias, out, act); err != nil {
		return err
	}
	for r := range batch {
		xr := x[r*in : (r+1)*in]
		y := dst[r*out : (r+1)*out]
		for o := range out {
			acc := float64(bias[o])
			for i, v := range xr {
				acc += float64(v) * float64(w[i*out+o])
			}
			y[o] = float32(applyActivation(acc, act))
		}
	}
	return nil
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
