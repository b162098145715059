package fuse

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"gorgonia.org/tensor"
)

// Backend kinds, as in the config's fuse.backend.
const (
	BackendAuto = "auto" // CUDA when a usable device is present, else CPU
	BackendCPU  = "cpu"
	BackendCUDA = "cuda"
)

// NewBackend returns the backend of the given kind. With "auto", a missing or
// unusable GPU is not an error: it says why in one log line and returns the
// CPU backend. With "cuda" it is an error.
func NewBackend(kind string, log *slog.Logger) (Backend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch kind {
	case BackendCPU:
		return NewCPU(), nil
	case BackendCUDA, BackendAuto:
		c, err := NewCUDA(CUDAOptions{Log: log})
		if err == nil {
			g := c.GPU()
			log.Info("compute backend: CUDA", "gpu", g.Name, "compute_capability", fmt.Sprintf("%d.%d", g.ComputeMajor, g.ComputeMinor), "memory_mib", g.MemoryBytes>>20)
			return c, nil
		}
		if kind == BackendCUDA {
			return nil, fmt.Errorf("fuse.backend is cuda: %w", err)
		}
		log.Info("compute backend: CPU (no usable GPU)", "reason", err.Error())
		return NewCPU(), nil
	}
	return nil, fmt.Errorf("unknown backend %q (want auto, cpu or cuda)", kind)
}

// selfTest runs a small problem of every operation on b and on the CPU
// backend and compares: a GPU whose driver, compiler or kernels misbehave
// is caught at start, not in the decisions.
func selfTest(b Backend) error {
	cpu := NewCPUCores(1)
	rng := rand.New(rand.NewPCG(1, 1))
	frame := FrameRef{Pix: make([]byte, 64*48*3), Width: 64, Height: 48, Stride: 192, Format: av.BGR24}
	for i := range frame.Pix {
		frame.Pix[i] = byte(rng.Uint32())
	}
	prev := make([]float32, 48)
	run := func(be Backend) ([]float32, error) {
		var out []float32
		grid, diff := make([]float32, 48), make([]float32, 48)
		if err := be.MotionGrids([]FrameRef{frame}, 8, []*tensor.Dense{Vector(grid)}, []*tensor.Dense{Vector(prev)}, []*tensor.Dense{Vector(diff)}); err != nil {
			return nil, err
		}
		out = append(append(out, grid...), diff...)
		x := make([]float32, 2*256)
		for i := range x {
			x[i] = float32(math.Sin(float64(i) * 0.3))
		}
		win := make([]float32, 256)
		for i := range win {
			win[i] = 1
		}
		pow := make([]float32, 2*129)
		if err := be.PowerSpectra(Matrix(2, 129, pow), Matrix(2, 256, x), Vector(win)); err != nil {
			return nil, err
		}
		for _, p := range pow {
			out = append(out, float32(math.Log1p(float64(p))))
		}
		gcc := make([]float32, 2*9)
		if err := be.GCCPHAT(Matrix(2, 9, gcc), Matrix(2, 256, x), Matrix(2, 256, append(x[3:], x[:3]...)), 4); err != nil {
			return nil, err
		}
		out = append(out, gcc...)
		y := make([]float32, 3)
		if err := be.Dense(Matrix(3, 1, y), Matrix(3, 4, x[:12]), Matrix(4, 1, x[:4]), Vector(x[:1]), Sigmoid); err != nil {
			return nil, err
		}
		return append(out, y...), nil
	}
	want, err := run(cpu)
	if err != nil {
		return err
	}
	got, err := run(b)
	if err != nil {
		return err
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-2*(1+math.Abs(float64(want[i]))) {
			return errors.New(fmt.Sprint("result ", i, " differs: ", got[i], " vs ", want[i]))
		}
	}
	return nil
}
