package fuse

import (
	"errors"
	"fmt"

	"gorgonia.org/tensor"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// HostMemory is the host memory frames are best captured into for be: its
// pinned memory where it has some (CUDA), else nil (Go memory).
func HostMemory(be Backend) av.HostMemory {
	if m, ok := be.(av.HostMemory); ok {
		return m
	}
	return nil
}

// Backend runs the heavy numeric kernels of feature extraction and fusion on
// float32 gorgonia tensors, so that a GPU implementation and its tests need
// no OpenCV. Every method works on a batch (rows of audio, a list of frames)
// so that one call can cover several streams; the caller owns every tensor,
// and a backend keeps none of them past the call.
//
// Tensors are built once over the caller's buffers (Matrix, Vector:
// tensor.WithBacking) and reused call after call, so a tick allocates
// nothing; each method checks the shapes its tensors carry against each
// other and wraps ErrShape when they disagree. Frames stay FrameRef byte
// views: a frame's buffer changes every tick (capture and decode pools) and
// its rows may be padded (Stride), which a tensor built once cannot follow.
//
// The CPU backend is the reference; fusetest.Contract states each
// operation's tolerance and runs against any implementation.
type Backend interface {
	// Name says which backend this is ("cpu", "cuda").
	Name() string

	// MotionGrids computes, for each frame i, the mean luma of each
	// cell×cell block (row-major, Width/cell × Height/cell, partial blocks
	// ignored) into grids[i] (a vector or a gh × gw matrix); where prev[i] is
	// not nil it also writes the absolute change of each block from prev[i]
	// into diffs[i]. Luma is ITU-R BT.601 in 8-bit fixed point:
	// (29·B + 150·G + 77·R) >> 8.
	MotionGrids(frames []FrameRef, cell int, grids, prev, diffs []*tensor.Dense) error

	// PowerSpectra computes |FFT(x·window)|² of each row of frames
	// (rows × fftSize) into dst (rows × (fftSize/2+1)); window has fftSize
	// values. fftSize must be a power of two.
	PowerSpectra(dst, frames, window *tensor.Dense) error

	// LogMel computes ln(max(MelFloor, power · filterbankᵀ)) for each row of
	// power (rows × bins), with filterbank nMel × bins, into dst
	// (rows × nMel).
	LogMel(dst, power, filterbank *tensor.Dense) error

	// GCCPHAT computes the generalised cross-correlation with phase
	// transform of each pair of rows a[r], b[r] (rows × n samples, n a power
	// of two) for lags -maxLag..maxLag into dst (rows × (2·maxLag+1)); index
	// maxLag+k holds lag k, positive when b lags a.
	GCCPHAT(dst, a, b *tensor.Dense, maxLag int) error

	// Dense computes act(x·w + bias) for a batch of rows: x is batch × in,
	// w is in × out, bias has out values, dst is batch × out.
	Dense(dst, x, w, bias *tensor.Dense, act Activation) error

	// Compute does all the work of one tick (TickWork) in one call: what
	// the operations above do, for every camera and microphone at once.
	Compute(w *TickWork) error

	// Close releases what the backend holds (device memory, contexts,
	// worker goroutines).
	Close() error
}

// Matrix returns a rows × cols float32 tensor over backing, which must hold
// exactly rows·cols values; the tensor shares backing, so build it once and
// refill the buffer.
func Matrix(rows, cols int, backing []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(backing))
}

// Vector returns a float32 tensor of len(backing) values over backing.
func Vector(backing []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(len(backing)), tensor.WithBacking(backing))
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

// ErrShape is wrapped when tensors do not have the shapes an operation needs.
var ErrShape = errors.New("fuse: buffer shape mismatch")

func shapeErr(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: "+format, append([]any{ErrShape, op}, args...)...)
}

// matrix returns t's rows, columns and values when t is a float32 matrix.
func matrix(t *tensor.Dense) (rows, cols int, v []float32, ok bool) {
	if t == nil || t.Dtype() != tensor.Float32 || t.Dims() != 2 {
		return 0, 0, nil, false
	}
	s := t.Shape()
	return s[0], s[1], t.Float32s(), true
}

// vector returns t's values when t is a float32 tensor of n values in all
// (a vector, or a matrix read row-major).
func vector(t *tensor.Dense, n int) ([]float32, bool) {
	if t == nil || t.Dtype() != tensor.Float32 || t.Shape().TotalSize() != n {
		return nil, false
	}
	return t.Float32s(), true
}

func describe(t *tensor.Dense) string {
	if t == nil {
		return "nil"
	}
	return fmt.Sprintf("%v %v", t.Dtype(), t.Shape())
}

// checkFrames validates MotionGrids' arguments.
func checkFrames(frames []FrameRef, cell int, grids, prev, diffs []*tensor.Dense) error {
	if cell < 1 {
		return shapeErr("MotionGrids", "cell %d", cell)
	}
	if len(grids) != len(frames) || len(prev) != len(frames) || len(diffs) != len(frames) {
		return shapeErr("MotionGrids", "%d frames, %d grids, %d prev, %d diffs", len(frames), len(grids), len(prev), len(diffs))
	}
	for i, f := range frames {
		if !frameOK(f, cell) {
			return shapeErr("MotionGrids", "frame %d: %dx%d %v stride %d with %d bytes", i, f.Width, f.Height, f.Format, f.Stride, len(f.Pix))
		}
		n := (f.Width / cell) * (f.Height / cell)
		_, okG := vector(grids[i], n)
		okP := true
		if prev[i] != nil {
			_, okP = vector(prev[i], n)
			_, okD := vector(diffs[i], n)
			okP = okP && okD
		}
		if !okG || !okP {
			return shapeErr("MotionGrids", "frame %d: grid of %d cells, got grid %s, prev %s, diffs %s", i, n, describe(grids[i]), describe(prev[i]), describe(diffs[i]))
		}
	}
	return nil
}

// frameOK says whether f holds at least one cell×cell block and all the
// bytes its size says.
func frameOK(f FrameRef, cell int) bool {
	bpp := f.Format.BytesPerPixel()
	return bpp != 0 && cell >= 1 && f.Width >= cell && f.Height >= cell && f.Stride >= f.Width*bpp && len(f.Pix) >= f.Stride*(f.Height-1)+f.Width*bpp
}

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// spectraArgs checks PowerSpectra's tensors and returns their values.
func spectraArgs(dst, frames, window *tensor.Dense) (rows, fftSize int, d, f, w []float32, err error) {
	rows, fftSize, f, okF := matrix(frames)
	dr, dc, d, okD := matrix(dst)
	w, okW := vector(window, fftSize)
	if !okF || !okD || !okW || !isPow2(fftSize) || fftSize < 2 || dr != rows || dc != fftSize/2+1 {
		return 0, 0, nil, nil, nil, shapeErr("PowerSpectra", "frames %s window %s dst %s", describe(frames), describe(window), describe(dst))
	}
	return rows, fftSize, d, f, w, nil
}

// logMelArgs checks LogMel's tensors and returns their values.
func logMelArgs(dst, power, filterbank *tensor.Dense) (rows, bins, nMel int, d, p, fb []float32, err error) {
	rows, bins, p, okP := matrix(power)
	nMel, fbBins, fb, okB := matrix(filterbank)
	dr, dc, d, okD := matrix(dst)
	if !okP || !okB || !okD || bins < 1 || nMel < 1 || fbBins != bins || dr != rows || dc != nMel {
		return 0, 0, 0, nil, nil, nil, shapeErr("LogMel", "power %s filterbank %s dst %s", describe(power), describe(filterbank), describe(dst))
	}
	return rows, bins, nMel, d, p, fb, nil
}

// gccArgs checks GCCPHAT's tensors and returns their values.
func gccArgs(dst, a, b *tensor.Dense, maxLag int) (rows, n int, d, va, vb []float32, err error) {
	rows, n, va, okA := matrix(a)
	br, bn, vb, okB := matrix(b)
	dr, dc, d, okD := matrix(dst)
	if !okA || !okB || !okD || !isPow2(n) || maxLag < 0 || maxLag >= n/2 || br != rows || bn != n || dr != rows || dc != 2*maxLag+1 {
		return 0, 0, nil, nil, nil, shapeErr("GCCPHAT", "maxLag %d: a %s b %s dst %s", maxLag, describe(a), describe(b), describe(dst))
	}
	return rows, n, d, va, vb, nil
}

// denseArgs checks Dense's tensors and returns their values.
func denseArgs(dst, x, w, bias *tensor.Dense, act Activation) (batch, in, out int, d, vx, vw, vb []float32, err error) {
	batch, in, vx, okX := matrix(x)
	wi, out, vw, okW := matrix(w)
	vb, okB := vector(bias, out)
	dr, dc, d, okD := matrix(dst)
	if !okX || !okW || !okB || !okD || in < 1 || out < 1 || wi != in || dr != batch || dc != out || act < Linear || act > Sigmoid {
		return 0, 0, 0, nil, nil, nil, nil, shapeErr("Dense", "x %s w %s bias %s dst %s", describe(x), describe(w), describe(bias), describe(dst))
	}
	return batch, in, out, d, vx, vw, vb, nil
}
