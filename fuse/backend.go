package fuse

import (
	"errors"
	"fmt"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Backend runs the heavy numeric kernels of feature extraction and fusion on
// plain buffers, so that a GPU implementation and its tests need no OpenCV.
// Every method works on a batch (rows of audio, a list of frames) so that one
// call can cover several streams; the caller owns every slice, and a backend
// keeps none of them past the call.
//
// The CPU backend is the reference; BackendContract (backend_contract.go)
// states each operation's tolerance and runs against any implementation.
type Backend interface {
	// Name says which backend this is ("cpu", "cuda").
	Name() string

	// MotionGrids computes, for each frame i, the mean luma of each
	// cell×cell block (row-major, Width/cell × Height/cell, partial blocks
	// ignored) into grids[i]; where prev[i] is not nil it also writes the
	// absolute change of each block from prev[i] into diffs[i]. Luma is
	// ITU-R BT.601 in 8-bit fixed point: (29·B + 150·G + 77·R) >> 8.
	MotionGrids(frames []FrameRef, cell int, grids, prev, diffs [][]float32) error

	// PowerSpectra computes |FFT(x·window)|² of each of rows rows of fftSize
	// samples (row-major in frames) into dst (rows × (fftSize/2+1)).
	// fftSize must be a power of two.
	PowerSpectra(dst, frames []float32, rows, fftSize int, window []float32) error

	// LogMel computes ln(max(MelFloor, power · filterbankᵀ)) for rows rows of
	// bins power values, with filterbank nMel × bins, into dst (rows × nMel).
	LogMel(dst, power []float32, rows, bins int, filterbank []float32, nMel int) error

	// GCCPHAT computes the generalised cross-correlation with phase
	// transform of each pair of rows a[r], b[r] (rows × n samples, n a power
	// of two) for lags -maxLag..maxLag into dst (rows × (2·maxLag+1)); index
	// maxLag+k holds lag k, positive when b lags a.
	GCCPHAT(dst, a, b []float32, rows, n, maxLag int) error

	// Dense computes act(x·w + bias) for a batch of rows: x is batch × in,
	// w is in × out (row-major), bias has out values, dst is batch × out.
	Dense(dst, x []float32, batch, in int, w, bias []float32, out int, act Activation) error

	// Close releases what the backend holds (device memory, contexts).
	Close() error
}

// FrameRef is a frame's pixels as the Backend sees them.
type FrameRef struct {
	Pix                   []byte
	Width, Height, Stride int
	Format                av.PixelFormat
}

// Activation is the non-linearity Dense applies.
type Activation int

// Activations.
const (
	Linear Activation = iota
	ReLU
	Sigmoid
)

// MelFloor keeps LogMel finite on silence.
const MelFloor = 1e-10

// ErrShape is wrapped when buffers do not match the sizes given.
var ErrShape = errors.New("fuse: buffer shape mismatch")

func shapeErr(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: "+format, append([]any{ErrShape, op}, args...)...)
}

// checkFrames validates MotionGrids' arguments.
func checkFrames(frames []FrameRef, cell int, grids, prev, diffs [][]float32) error {
	if cell < 1 {
		return shapeErr("MotionGrids", "cell %d", cell)
	}
	if len(grids) != len(frames) || len(prev) != len(frames) || len(diffs) != len(frames) {
		return shapeErr("MotionGrids", "%d frames, %d grids, %d prev, %d diffs", len(frames), len(grids), len(prev), len(diffs))
	}
	for i, f := range frames {
		bpp := f.Format.BytesPerPixel()
		if bpp == 0 || f.Width < cell || f.Height < cell || f.Stride < f.Width*bpp || len(f.Pix) < f.Stride*(f.Height-1)+f.Width*bpp {
			return shapeErr("MotionGrids", "frame %d: %dx%d %v stride %d with %d bytes", i, f.Width, f.Height, f.Format, f.Stride, len(f.Pix))
		}
		n := (f.Width / cell) * (f.Height / cell)
		if len(grids[i]) != n || (prev[i] != nil && (len(prev[i]) != n || len(diffs[i]) != n)) {
			return shapeErr("MotionGrids", "frame %d: grid of %d cells, got %d grid, %d prev, %d diffs", i, n, len(grids[i]), len(prev[i]), len(diffs[i]))
		}
	}
	return nil
}

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

func checkSpectra(dst, frames []float32, rows, fftSize int, window []float32) error {
	if !isPow2(fftSize) || fftSize < 2 || rows < 0 || len(frames) != rows*fftSize || len(window) != fftSize || len(dst) != rows*(fftSize/2+1) {
		return shapeErr("PowerSpectra", "rows %d fft %d: frames %d window %d dst %d", rows, fftSize, len(frames), len(window), len(dst))
	}
	return nil
}

func checkLogMel(dst, power []float32, rows, bins int, fb []float32, nMel int) error {
	if rows < 0 || bins < 1 || nMel < 1 || len(power) != rows*bins || len(fb) != nMel*bins || len(dst) != rows*nMel {
		return shapeErr("LogMel", "rows %d bins %d mel %d: power %d filterbank %d dst %d", rows, bins, nMel, len(power), len(fb), len(dst))
	}
	return nil
}

func checkGCC(dst, a, b []float32, rows, n, maxLag int) error {
	if !isPow2(n) || rows < 0 || maxLag < 0 || maxLag >= n/2 || len(a) != rows*n || len(b) != rows*n || len(dst) != rows*(2*maxLag+1) {
		return shapeErr("GCCPHAT", "rows %d n %d maxLag %d: a %d b %d dst %d", rows, n, maxLag, len(a), len(b), len(dst))
	}
	return nil
}

func checkDense(dst, x []float32, batch, in int, w, bias []float32, out int, act Activation) error {
	if batch < 0 || in < 1 || out < 1 || len(x) != batch*in || len(w) != in*out || len(bias) != out || len(dst) != batch*out || act < Linear || act > Sigmoid {
		return shapeErr("Dense", "batch %d in %d out %d: x %d w %d bias %d dst %d", batch, in, out, len(x), len(w), len(bias), len(dst))
	}
	return nil
}
