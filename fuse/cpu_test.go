package fuse_test

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/fusetest"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

func TestCPUBackendContract(t *testing.T) { fusetest.Run(t, fuse.NewCPU()) }

var (
	cudaOnce    sync.Once
	cudaBackend *fuse.CUDA
	cudaErr     error
)

// cudaOrSkip returns the CUDA backend, shared by the tests of this binary.
// Without a GPU the test is skipped with the reason, unless
// FUSIOND_REQUIRE_CUDA=1, when it fails.
func cudaOrSkip(tb testing.TB) *fuse.CUDA {
	tb.Helper()
	cudaOnce.Do(func() { cudaBackend, cudaErr = fuse.NewCUDA(fuse.CUDAOptions{}) })
	if cudaErr != nil {
		if os.Getenv("FUSIOND_REQUIRE_CUDA") == "1" {
			tb.Fatalf("CUDA backend required (FUSIOND_REQUIRE_CUDA=1) but unavailable: %v", cudaErr)
		}
		tb.Skipf("CUDA backend unavailable, skipping (set FUSIOND_REQUIRE_CUDA=1 to fail instead): %v", cudaErr)
	}
	return cudaBackend
}

func TestCUDABackendContract(t *testing.T) { fusetest.Run(t, cudaOrSkip(t)) }

func TestCUDADevices(t *testing.T) {
	c := cudaOrSkip(t)
	gpus, err := fuse.CUDADevices()
	if err != nil || len(gpus) == 0 {
		t.Fatalf("devices %v, err %v", gpus, err)
	}
	g := c.GPU()
	if g.Name == "" || g.ComputeMajor < 3 || g.MemoryBytes == 0 || g.Driver == 0 {
		t.Fatalf("implausible GPU %+v", g)
	}
	t.Logf("GPU %d: %s, compute %d.%d, %d MiB, driver API %d", g.Index, g.Name, g.ComputeMajor, g.ComputeMinor, g.MemoryBytes>>20, g.Driver)
}

// TestBackendSelection: auto always gives a working backend, with one log
// line saying which; cuda fails plainly where there is no GPU.
func TestBackendSelection(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	b, err := fuse.NewBackend(fuse.BackendAuto, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n := strings.Count(logs.String(), "compute backend"); n != 1 {
		t.Fatalf("%d log lines about the backend:\n%s", n, logs.String())
	}
	_, cudaErr := fuse.CUDADevices()
	switch {
	case cudaErr != nil && b.Name() != "cpu":
		t.Fatalf("auto chose %s without a GPU", b.Name())
	case cudaErr != nil:
		if _, err := fuse.NewBackend(fuse.BackendCUDA, log); !errors.Is(err, fuse.ErrNoCUDA) {
			t.Fatalf("backend cuda without a GPU: %v", err)
		}
	}
	if _, err := fuse.NewBackend("tpu", log); err == nil {
		t.Fatal("accepted an unknown backend")
	}
	fusetest.Run(t, b)
}

// BenchmarkBackend runs the same workload on every backend present: one
// 640×480 camera and a stereo microphone, and a batch of eight 1080p
// cameras and eight stereo microphones (the CUDA target: ≥ 5× the CPU).
func BenchmarkBackend(b *testing.B) {
	backends := []fuse.Backend{fuse.NewCPU()}
	if c := cudaForBench(); c != nil {
		backends = append(backends, c)
	}
	for _, be := range backends {
		b.Run(be.Name()+"/1cam640x480+1mic", func(b *testing.B) { fusetest.Benchmark(b, be, 1, 1, 640, 480) })
		b.Run(be.Name()+"/8cam1920x1080+8mic", func(b *testing.B) { fusetest.Benchmark(b, be, 8, 8, 1920, 1080) })
	}
}

func cudaForBench() *fuse.CUDA {
	cudaOnce.Do(func() { cudaBackend, cudaErr = fuse.NewCUDA(fuse.CUDAOptions{}) })
	return cudaBackend
}

// TestCUDAOutOfMemoryFallsBack: with too little device memory the backend
// still answers correctly, on the CPU, and says so once.
func TestCUDAOutOfMemoryFallsBack(t *testing.T) {
	cudaOrSkip(t)
	var logs bytes.Buffer
	c, err := fuse.NewCUDA(fuse.CUDAOptions{MaxDeviceBytes: 256 << 10, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fusetest.Run(t, c)
	if c.CPUFallbacks() == 0 {
		t.Fatal("a 256 KiB device budget should not hold a 640×480 frame")
	}
	if n := strings.Count(logs.String(), "device memory exhausted"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, logs.String())
	}
}

// TestCUDAHostMemory: pinned host memory for frames, freed one buffer at a
// time; what AllocHost did not give, FreeHost leaves alone.
func TestCUDAHostMemory(t *testing.T) {
	c := cudaOrSkip(t)
	b, err := c.AllocHost(1 << 20)
	if err != nil || len(b) != 1<<20 {
		t.Fatalf("AllocHost: %d bytes, %v", len(b), err)
	}
	for i := range b {
		b[i] = byte(i)
	}
	c.FreeHost(b)
	c.FreeHost(b) // freed already
	c.FreeHost(make([]byte, 16))
	if _, err := c.AllocHost(0); !errors.Is(err, fuse.ErrShape) {
		t.Errorf("AllocHost(0): %v, want ErrShape", err)
	}
	fp := av.NewFramePoolIn(640, 480, av.BGR24, 2, c)
	if f := fp.Get(); len(f.Pix) != 640*480*3 {
		t.Fatalf("a frame in pinned memory of %d bytes", len(f.Pix))
	}
}

// TestCUDAResidentTensors: a tensor made resident on the device (the head's
// weights) serves Dense where it lies, as its host original does, and the
// engine copies device tensors back to the host exactly.
func TestCUDAResidentTensors(t *testing.T) {
	c := cudaOrSkip(t)
	rng := rand.New(rand.NewPCG(7, 8))
	val := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	w := fuse.Matrix(6, 5, val(30))
	dw, err := c.Resident(w)
	if err != nil {
		t.Fatal(err)
	}
	if e := dw.Engine(); e == nil || e.AllocAccessible() {
		t.Fatalf("the resident tensor's engine %T says its memory is Go accessible", e)
	}
	back := fuse.Matrix(6, 5, make([]float32, 30))
	if err := dw.Engine().Memcpy(back, dw); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Float32s(), w.Float32s()) {
		t.Fatal("the device copy does not come back as it went")
	}
	x, bias := fuse.Matrix(3, 6, val(18)), fuse.Vector(val(5))
	want, got := fuse.Matrix(3, 5, make([]float32, 15)), fuse.Matrix(3, 5, make([]float32, 15))
	if err := fuse.NewCPUCores(1).Dense(want, x, w, bias, fuse.Sigmoid); err != nil {
		t.Fatal(err)
	}
	if err := c.Dense(got, x, dw, bias, fuse.Sigmoid); err != nil {
		t.Fatal(err)
	}
	for i, v := range want.Float32s() {
		if d := math.Abs(float64(got.Float32s()[i] - v)); d > fusetest.TolDense*(1+math.Abs(float64(v))) {
			t.Fatalf("output %d: %v with resident weights, %v on the CPU", i, got.Float32s()[i], v)
		}
	}
	dx, err := c.Resident(x)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Dense(got, dx, w, bias, fuse.Linear); !errors.Is(err, fuse.ErrShape) {
		t.Errorf("a device x: got %v, want ErrShape", err)
	}
}
