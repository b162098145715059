package fuse

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"gorgonia.org/tensor"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

//go:embed cuda_kernels.cu
var cudaSource string

// maxGPUFFT is the largest FFT the kernels do in one block's shared memory;
// larger sizes run on the CPU backend.
const maxGPUFFT = 2048

// CUDAOptions configures NewCUDA.
type CUDAOptions struct {
	Device int // device ordinal
	// CacheDir holds compiled kernels; empty for the user cache directory
	// (~/.cache/fusiond/cuda).
	CacheDir string
	// MaxDeviceBytes caps the device memory the backend takes (0: no cap).
	// Past it, as when the device runs out, operations run on the CPU.
	MaxDeviceBytes uint64
	Log            *slog.Logger
}

// ErrDeviceMemory is wrapped when the GPU has no room for an operation's
// buffers; the operation then runs on the CPU backend instead.
var ErrDeviceMemory = errors.New("out of device memory")

// errCPUOnly says an operation's size is beyond the kernels (FFTs above
// maxGPUFFT): it runs on the CPU backend.
var errCPUOnly = errors.New("size runs on the CPU")

// cudaErrorOutOfMemory is CUDA_ERROR_OUT_OF_MEMORY.
const cudaErrorOutOfMemory cuResult = 2

// CUDA is the Backend on an NVIDIA GPU, through the driver API and NVRTC
// loaded at run time. It keeps its device buffers (grown on demand, never
// per call) and one stream; it is safe for concurrent use, one call at a
// time.
type CUDA struct {
	mu     sync.Mutex
	api    *cudaAPI
	dev    int32
	ctx    uintptr
	stream uintptr
	module uintptr
	fns    struct{ motion, power, logmel, gcc, dense uintptr }
	gpu    GPU
	cpu    *CPU // sizes the kernels do not take
	log    *slog.Logger

	bufs     map[string]devBuf
	used     uint64 // bytes of device memory in bufs
	maxBytes uint64 // 0: as much as the device has
	oomOnce  sync.Once
	fellBack atomic.Uint64
	hosts    map[unsafe.Pointer]bool // pinned host memory, freed by Close
	hostOnce sync.Once
	stage    []float32 // pinned staging, grown on demand

	tick   sync.Mutex       // one Compute at a time
	args   []audioArgs      // Compute's, unwrapped
	consts []audioConstants // Compute's resident constants, by microphone
	zeroUp int              // the zeros on the device, in the "zero" buffer

	// Device tensors (cuda_engine.go): every one made, for Close; the
	// Compute chain's, by name; Resident's host originals.
	eng    cudaEngine
	devs   []*tensor.Dense
	named  map[string]*tensor.Dense
	hostOf map[*tensor.Dense]*tensor.Dense

	// Kernel arguments, kept here so a launch allocates nothing.
	argv  [16]uint64
	argp  [16]unsafe.Pointer
	group []int
	done  []bool
}

type devBuf struct {
	ptr  uint64
	size uint64
}

// audioConstants are the device addresses of an AudioWork's resident
// Window, Filterbank and DCT (Resident); 0 for one that is uploaded.
type audioConstants struct{ window, fb, dct uint64 }

// NewCUDA opens a CUDA device, compiles (or loads from the cache) the
// kernels, and checks them against the CPU backend on a small problem.
func NewCUDA(opts CUDAOptions) (*CUDA, error) {
	api, err := loadCUDA()
	if err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var count int32
	if err := api.check("cuDeviceGetCount", api.cuDeviceGetCount(&count)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoCUDA, err)
	}
	if opts.Device < 0 || int32(opts.Device) >= count {
		return nil, fmt.Errorf("%w: device %d requested, %d present", ErrNoCUDA, opts.Device, count)
	}
	gpus, err := CUDADevices()
	if err != nil {
		return nil, err
	}
	c := &CUDA{api: api, gpu: gpus[opts.Device], cpu: NewCPU(), log: log, bufs: map[string]devBuf{}, maxBytes: opts.MaxDeviceBytes,
		named: map[string]*tensor.Dense{}, hostOf: map[*tensor.Dense]*tensor.Dense{}, hosts: map[unsafe.Pointer]bool{}}
	c.eng = cudaEngine{c}
	if err := api.check("cuDeviceGet", api.cuDeviceGet(&c.dev, int32(opts.Device))); err != nil {
		return nil, err
	}
	if err := api.check("cuDevicePrimaryCtxRetain", api.cuDevicePrimaryCtxRetain(&c.ctx, c.dev)); err != nil {
		return nil, err
	}
	fail := func(err error) (*CUDA, error) {
		c.closeLocked()
		return nil, err
	}
	if err := api.check("cuCtxSetCurrent", api.cuCtxSetCurrent(c.ctx)); err != nil {
		return fail(err)
	}
	ptx, err := kernelPTX(c.gpu, opts.CacheDir, log)
	if err != nil {
		return fail(err)
	}
	ptx = append(ptx, 0)
	if err := api.check("cuModuleLoadData", api.cuModuleLoadData(&c.module, &ptx[0])); err != nil {
		return fail(fmt.Errorf("%w (the driver may be too old for this PTX; driver API version %d)", err, c.gpu.Driver))
	}
	for _, k := range []struct {
		fn   *uintptr
		name string
	}{{&c.fns.motion, "motion_grids"}, {&c.fns.power, "power_spectra"}, {&c.fns.logmel, "log_mel"}, {&c.fns.gcc, "gcc_phat"}, {&c.fns.dense, "dense"}} {
		if err := api.check("cuModuleGetFunction "+k.name, api.cuModuleGetFunction(k.fn, c.module, k.name)); err != nil {
			return fail(err)
		}
	}
	if err := api.check("cuStreamCreate", api.cuStreamCreate(&c.stream, 1 /* non-blocking */)); err != nil {
		return fail(err)
	}
	runtime.UnlockOSThread()
	if err := selfTest(c); err != nil {
		runtime.LockOSThread()
		return fail(fmt.Errorf("cuda: self-test against the CPU backend failed: %w", err))
	}
	runtime.LockOSThread()
	return c, nil
}

// Name implements Backend.
func (c *CUDA) Name() string { return "cuda" }

// GPU describes the device in use.
func (c *CUDA) GPU() GPU { return c.gpu }

// kernelPTX returns the kernels compiled for gpu: from the disk cache, or
// compiled by NVRTC and cached.
func kernelPTX(gpu GPU, cacheDir string, log *slog.Logger) ([]byte, error) {
	arch := fmt.Sprintf("compute_%d%d", gpu.ComputeMajor, gpu.ComputeMinor)
	sum := sha256.Sum256([]byte(cudaSource + "\x00" + arch))
	if cacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cacheDir = filepath.Join(d, "fusiond", "cuda")
		}
	}
	var cached string
	if cacheDir != "" {
		cached = filepath.Join(cacheDir, hex.EncodeToString(sum[:12])+".ptx")
		if ptx, err := os.ReadFile(cached); err == nil && len(ptx) > 0 {
			return ptx, nil
		}
	}
	nv, err := loadNVRTC()
	if err != nil {
		return nil, fmt.Errorf("cuda: cannot compile kernels: %w", err)
	}
	// Older NVRTCs do not know the newest GPUs: fall back to an older
	// virtual architecture, which the driver compiles for the device.
	var errs []error
	for _, a := range []string{arch, "compute_90", "compute_80", "compute_75", "compute_70"} {
		ptx, err := nvrtcCompile(nv, cudaSource, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if cached != "" {
			if err := os.MkdirAll(cacheDir, 0o755); err == nil {
				if err := os.WriteFile(cached, ptx, 0o644); err != nil {
					log.Warn("cannot cache compiled CUDA kernels", "path", cached, "err", err)
				}
			}
		}
		return ptx, nil
	}
	return nil, fmt.Errorf("cuda: kernel compilation failed: %w", errors.Join(errs...))
}

func nvrtcCompile(nv *nvrtcAPI, src, arch string) ([]byte, error) {
	var prog uintptr
	if r := nv.nvrtcCreateProgram(&prog, src, "fusiond_kernels.cu", 0, 0, 0); r != 0 {
		return nil, fmt.Errorf("nvrtcCreateProgram: error %d", r)
	}
	defer nv.nvrtcDestroyProgram(&prog)
	opts := [][]byte{[]byte("--gpu-architecture=" + arch + "\x00"), []byte("--use_fast_math\x00")}
	opts = opts[:1] // exactness over speed: the contract's tolerances are for IEEE maths
	ptrs := make([]*byte, len(opts))
	for i, o := range opts {
		ptrs[i] = &o[0]
	}
	r := nv.nvrtcCompileProgram(prog, int32(len(ptrs)), unsafe.Pointer(&ptrs[0]))
	runtime.KeepAlive(opts)
	if r != 0 {
		var n uint64
		nv.nvrtcGetProgramLogSize(prog, &n)
		logText := make([]byte, n+1)
		nv.nvrtcGetProgramLog(prog, &logText[0])
		return nil, fmt.Errorf("nvrtc (%s): error %d: %s", arch, r, cString(logText))
	}
	var n uint64
	if r := nv.nvrtcGetPTXSize(prog, &n); r != 0 || n == 0 {
		return nil, fmt.Errorf("nvrtcGetPTXSize: error %d", r)
	}
	ptx := make([]byte, n)
	if r := nv.nvrtcGetPTX(prog, &ptx[0]); r != 0 {
		return nil, fmt.Errorf("nvrtcGetPTX: error %d", r)
	}
	return []byte(cString(ptx)), nil
}

// enter pins the goroutine to its thread and makes the context current:
// CUDA contexts are per thread.
func (c *CUDA) enter() error {
	c.mu.Lock()
	runtime.LockOSThread()
	if err := c.api.check("cuCtxSetCurrent", c.api.call(c.api.hot.ctxSetCurrent, c.ctx)); err != nil {
		c.leave()
		return err
	}
	return nil
}

func (c *CUDA) leave() {
	runtime.UnlockOSThread()
	c.mu.Unlock()
}

// buf returns the device buffer called name, grown to at least n bytes.
func (c *CUDA) buf(name string, n uint64) (uint64, error) {
	b := c.bufs[name]
	if b.size >= n && b.ptr != 0 {
		return b.ptr, nil
	}
	if b.ptr != 0 {
		c.api.cuMemFree(b.ptr)
	}
	delete(c.bufs, name)
	c.used -= b.size
	size := max(n, 2*b.size, 4096)
	if c.maxBytes > 0 && c.used+size > c.maxBytes {
		size = n
		if c.used+size > c.maxBytes {
			return 0, fmt.Errorf("%w: %s needs %d bytes, %d of the %d allowed are in use", ErrDeviceMemory, name, n, c.used, c.maxBytes)
		}
	}
	var p uint64
	if r := c.api.cuMemAlloc(&p, size); r != 0 {
		err := c.api.check("cuMemAlloc "+name, r)
		if r == cudaErrorOutOfMemory {
			err = fmt.Errorf("%w: %v", ErrDeviceMemory, err)
		}
		return 0, err
	}
	c.used += size
	c.bufs[name] = devBuf{ptr: p, size: size}
	return p, nil
}

func (c *CUDA) h2d(dst uint64, src unsafe.Pointer, n int) error {
	if n == 0 {
		return nil
	}
	return c.api.check("cuMemcpyHtoDAsync", c.api.call(c.api.hot.h2d, uintptr(dst), uintptr(src), uintptr(n), c.stream))
}

func (c *CUDA) d2h(dst unsafe.Pointer, src uint64, n int) error {
	if n == 0 {
		return nil
	}
	return c.api.check("cuMemcpyDtoHAsync", c.api.call(c.api.hot.d2h, uintptr(dst), uintptr(src), uintptr(n), c.stream))
}

func (c *CUDA) sync() error {
	return c.api.check("cuStreamSynchronize", c.api.call(c.api.hot.sync, c.stream))
}

func i32(v int) uint64     { return uint64(uint32(int32(v))) }
func f32(v float32) uint64 { return uint64(math.Float32bits(v)) }

// launch runs fn on a gx×gy grid of block threads with shmem bytes of
// dynamic shared memory; args are the kernel's parameters, each in the low
// bytes of a uint64 (pointers and long longs use all 8).
func (c *CUDA) launch(fn uintptr, gx, gy, block, shmem uint32, args ...uint64) error {
	for i, a := range args {
		c.argv[i] = a
		c.argp[i] = unsafe.Pointer(&c.argv[i])
	}
	r := c.api.call(c.api.hot.launch, fn, uintptr(gx), uintptr(gy), 1, uintptr(block), 1, 1, uintptr(shmem),
		c.stream, uintptr(unsafe.Pointer(&c.argp[0])), 0)
	return c.api.check("cuLaunchKernel", r)
}

func f32ptr(s []float32) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(s)) }

// upload copies h into the device buffer called name and returns it.
func (c *CUDA) upload(name string, h []float32) (uint64, error) {
	d, err := c.buf(name, uint64(len(h)*4))
	if err != nil {
		return 0, err
	}
	return d, c.h2d(d, f32ptr(h), len(h)*4)
}

// download copies the device buffer d into dst and waits for the stream.
func (c *CUDA) download(dst []float32, d uint64) error {
	if err := c.d2h(f32ptr(dst), d, len(dst)*4); err != nil {
		return err
	}
	return c.sync()
}

// orCPU runs the operation on the CPU backend instead when err says the GPU
// could not (no device memory left, or a size the kernels do not take).
func (c *CUDA) orCPU(err error, cpu func(*CPU)) error {
	if !errors.Is(err, ErrDeviceMemory) && !errors.Is(err, errCPUOnly) {
		return err
	}
	if errors.Is(err, ErrDeviceMemory) {
		c.outOfMemory(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cpu(c.cpu)
	return nil
}

// MotionGrids implements Backend.
func (c *CUDA) MotionGrids(frames []FrameRef, cell int, grids, prev, diffs []*tensor.Dense) error {
	return c.orCPU(c.motionGridsGPU(frames, cell, grids, prev, diffs), func(cpu *CPU) { _ = cpu.MotionGrids(frames, cell, grids, prev, diffs) })
}

// motionGridsGPU runs frames of one shape in one launch.
func (c *CUDA) motionGridsGPU(frames []FrameRef, cell int, grids, prev, diffs []*tensor.Dense) error {
	if err := checkFrames(frames, cell, grids, prev, diffs); err != nil {
		return err
	}
	if len(frames) == 0 {
		return nil
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	c.done = append(c.done[:0], make([]bool, len(frames))...)
	for i := range frames {
		if c.done[i] {
			continue
		}
		c.group = c.group[:0]
		for j := i; j < len(frames); j++ {
			if !c.done[j] && sameShape(frames[i], frames[j]) {
				c.group = append(c.group, j)
				c.done[j] = true
			}
		}
		if err := c.motionGroup(frames, cell, grids, prev, diffs); err != nil {
			return err
		}
	}
	return c.sync()
}

func sameShape(a, b FrameRef) bool {
	return a.Width == b.Width && a.Height == b.Height && a.Stride == b.Stride && a.Format == b.Format
}

// motionGroup runs the frames in c.group, which share a shape.
func (c *CUDA) motionGroup(frames []FrameRef, cell int, grids, prev, diffs []*tensor.Dense) error {
	f0 := frames[c.group[0]]
	bpp := f0.Format.BytesPerPixel()
	frameBytes := f0.Stride * f0.Height
	used := f0.Stride*(f0.Height-1) + f0.Width*bpp
	gw, gh := f0.Width/cell, f0.Height/cell
	cells := gw * gh
	n := len(c.group)
	pix, err := c.buf("pix", uint64(n*frameBytes))
	if err != nil {
		return err
	}
	dgrid, err := c.buf("grid", uint64(n*cells*4))
	if err != nil {
		return err
	}
	dprev, err := c.buf("prev", uint64(n*cells*4))
	if err != nil {
		return err
	}
	ddiff, err := c.buf("diff", uint64(n*cells*4))
	if err != nil {
		return err
	}
	// Previous grids go up, and grids and changes come down, through one
	// pinned staging buffer: three copies for the batch, not three per frame.
	stage, err := c.staging(3 * n * cells)
	if err != nil {
		return err
	}
	for k, i := range c.group {
		if err := c.h2d(pix+uint64(k*frameBytes), unsafe.Pointer(unsafe.SliceData(frames[i].Pix)), used); err != nil {
			return err
		}
		if prev[i] != nil {
			copy(stage[k*cells:(k+1)*cells], prev[i].Float32s())
		} else {
			clear(stage[k*cells : (k+1)*cells])
		}
	}
	if err := c.h2d(dprev, f32ptr(stage), n*cells*4); err != nil {
		return err
	}
	if err := c.launch(c.fns.motion, uint32((cells+255)/256), uint32(n), 256, 0,
		pix, uint64(frameBytes), i32(f0.Stride), i32(bpp), i32(cell), i32(gw), i32(gh), dgrid, dprev, ddiff); err != nil {
		return err
	}
	outGrids, outDiffs := stage[n*cells:2*n*cells], stage[2*n*cells:3*n*cells]
	if err := c.d2h(f32ptr(outGrids), dgrid, n*cells*4); err != nil {
		return err
	}
	if err := c.d2h(f32ptr(outDiffs), ddiff, n*cells*4); err != nil {
		return err
	}
	if err := c.sync(); err != nil {
		return err
	}
	for k, i := range c.group {
		copy(grids[i].Float32s(), outGrids[k*cells:(k+1)*cells])
		if prev[i] != nil {
			copy(diffs[i].Float32s(), outDiffs[k*cells:(k+1)*cells])
		}
	}
	return nil
}

func log2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	return l
}

// PowerSpectra implements Backend.
func (c *CUDA) PowerSpectra(dst, frames, window *tensor.Dense) error {
	rows, fftSize, d, f, w, err := spectraArgs(dst, frames, window)
	if err != nil {
		return err
	}
	return c.orCPU(c.powerSpectraGPU(d, f, rows, fftSize, w), func(cpu *CPU) { cpu.powerSpectra(d, f, rows, fftSize, w) })
}

func (c *CUDA) powerSpectraGPU(dst, frames []float32, rows, fftSize int, window []float32) error {
	if fftSize > maxGPUFFT {
		return errCPUOnly
	}
	if rows == 0 {
		return nil
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	din, err := c.upload("audio", frames)
	if err != nil {
		return err
	}
	dwin, err := c.upload("window", window)
	if err != nil {
		return err
	}
	dout, err := c.buf("power", uint64(len(dst)*4))
	if err != nil {
		return err
	}
	threads := uint32(max(1, min(fftSize/2, 1024)))
	if err := c.launch(c.fns.power, uint32(rows), 1, threads, uint32(fftSize*8),
		dout, din, dwin, i32(fftSize), i32(log2(fftSize))); err != nil {
		return err
	}
	return c.download(dst, dout)
}

// LogMel implements Backend.
func (c *CUDA) LogMel(dst, power, filterbank *tensor.Dense) error {
	rows, bins, nMel, d, p, fb, err := logMelArgs(dst, power, filterbank)
	if err != nil {
		return err
	}
	return c.orCPU(c.logMelGPU(d, p, rows, bins, fb, nMel), func(cpu *CPU) { cpu.logMel(d, p, rows, bins, fb, nMel) })
}

func (c *CUDA) logMelGPU(dst, power []float32, rows, bins int, filterbank []float32, nMel int) error {
	if rows == 0 {
		return nil
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	dp, err := c.upload("melin", power)
	if err != nil {
		return err
	}
	dfb, err := c.upload("filterbank", filterbank)
	if err != nil {
		return err
	}
	dout, err := c.buf("mel", uint64(len(dst)*4))
	if err != nil {
		return err
	}
	total := rows * nMel
	if err := c.launch(c.fns.logmel, uint32((total+127)/128), 1, 128, 0,
		dout, dp, dfb, i32(rows), i32(bins), i32(nMel), f32(MelFloor)); err != nil {
		return err
	}
	return c.download(dst, dout)
}

// GCCPHAT implements Backend.
func (c *CUDA) GCCPHAT(dst, a, b *tensor.Dense, maxLag int) error {
	rows, n, d, va, vb, err := gccArgs(dst, a, b, maxLag)
	if err != nil {
		return err
	}
	return c.orCPU(c.gccPHATGPU(d, va, vb, rows, n, maxLag), func(cpu *CPU) { cpu.gccPHAT(d, va, vb, rows, n, maxLag) })
}

func (c *CUDA) gccPHATGPU(dst, a, b []float32, rows, n, maxLag int) error {
	if n > maxGPUFFT {
		return errCPUOnly
	}
	if rows == 0 {
		return nil
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	da, err := c.upload("gcca", a)
	if err != nil {
		return err
	}
	db, err := c.upload("gccb", b)
	if err != nil {
		return err
	}
	dout, err := c.buf("gcc", uint64(len(dst)*4))
	if err != nil {
		return err
	}
	threads := uint32(max(1, min(n/2, 1024)))
	if err := c.launch(c.fns.gcc, uint32(rows), 1, threads, uint32(2*n*8),
		dout, da, db, i32(n), i32(log2(n)), i32(maxLag)); err != nil {
		return err
	}
	return c.download(dst, dout)
}

// Dense implements Backend.
// w may be a device tensor (Resident): it is used where it lies.
func (c *CUDA) Dense(dst, x, w, bias *tensor.Dense, act Activation) error {
	batch, in, out, d, vx, vw, vb, err := denseArgs(dst, x, w, bias, act)
	if err != nil {
		return err
	}
	if c.isDevice(dst) || c.isDevice(x) || c.isDevice(bias) {
		return shapeErr("Dense", "only w may be a device tensor")
	}
	var dw uint64
	if c.isDevice(w) {
		c.mu.Lock()
		host := c.hostOf[w]
		c.mu.Unlock()
		if host == nil {
			return shapeErr("Dense", "w is another backend's device tensor")
		}
		dw, vw = devPtr(w), host.Float32s() // the device copy; the host one for the CPU
	}
	return c.orCPU(c.denseGPU(d, vx, batch, in, vw, dw, vb, out, act), func(cpu *CPU) { cpu.dense(d, vx, batch, in, vw, vb, out, act) })
}

// denseGPU uploads w unless dw, its device copy, is given.
func (c *CUDA) denseGPU(dst, x []float32, batch, in int, w []float32, dw uint64, bias []float32, out int, act Activation) error {
	if batch == 0 {
		return nil
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	dx, err := c.upload("x", x)
	if err != nil {
		return err
	}
	if dw == 0 {
		if dw, err = c.upload("w", w); err != nil {
			return err
		}
	}
	db, err := c.upload("bias", bias)
	if err != nil {
		return err
	}
	dy, err := c.buf("y", uint64(len(dst)*4))
	if err != nil {
		return err
	}
	total := batch * out
	if err := c.launch(c.fns.dense, uint32((total+127)/128), 1, 128, 0,
		dy, dx, dw, db, i32(batch), i32(in), i32(out), i32(int(act))); err != nil {
		return err
	}
	return c.download(dst, dy)
}

// outOfMemory notes an operation that fell back to the CPU; the first one
// is logged.
// Compute implements Backend. The frames' motion grids go in one launch
// (MotionGrids); each microphone's spectra, log-mel and MFCC run as a chain
// of kernels on device tensors (cudaEngine), each kernel reading the tensor
// the one before wrote, and come back to the host together, with one
// synchronisation; its GCC-PHAT pairs go in one launch. Each part falls
// back to the CPU on its own (device memory exhausted, FFT sizes above
// maxGPUFFT).
func (c *CUDA) Compute(w *TickWork) error {
	c.tick.Lock() // c.args is the call's
	defer c.tick.Unlock()
	var err error
	c.mu.Lock()
	c.args, err = checkTick(w, c.args)
	if err == nil {
		err = c.residentConstants(w)
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	m := &w.Motion
	if len(m.Frames) > 0 {
		if err := c.MotionGrids(m.Frames, m.Cell, m.Grids, m.Prev, m.Diffs); err != nil {
			return err
		}
	}
	for i := range c.args {
		g := &c.args[i]
		if err := c.orCPU(c.audioGPU(g, c.consts[i]), func(cpu *CPU) { cpu.audioWork(g) }); err != nil {
			return err
		}
		if g.gcc != nil {
			if err := c.orCPU(c.gccPHATGPU(g.gcc, g.gccA, g.gccB, g.gccRows, g.gccN, g.maxLag), func(cpu *CPU) { cpu.gccPHAT(g.gcc, g.gccA, g.gccB, g.gccRows, g.gccN, g.maxLag) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// residentConstants finds the resident Window, Filterbank and DCT of w's
// audio work (c.consts), and points c.args at their host originals, which
// a CPU fallback reads. Any other device tensor in w is an error.
func (c *CUDA) residentConstants(w *TickWork) error {
	c.consts = c.consts[:0]
	for i := range w.Audio {
		a, g := &w.Audio[i], &c.args[i]
		var k audioConstants
		for _, x := range []struct {
			t    *tensor.Dense
			dev  *uint64
			host *[]float32
		}{{a.Window, &k.window, &g.window}, {a.Filterbank, &k.fb, &g.fb}, {a.DCT, &k.dct, &g.dct}} {
			if !c.isDevice(x.t) {
				continue
			}
			host := c.hostOf[x.t]
			if host == nil {
				return shapeErr("Compute", "audio %d: another backend's device tensor", i)
			}
			*x.dev, *x.host = devPtr(x.t), host.Float32s()
		}
		for _, t := range []*tensor.Dense{a.Frames, a.Power, a.LogMel, a.MFCC, a.GCCA, a.GCCB, a.GCC} {
			if c.isDevice(t) {
				return shapeErr("Compute", "audio %d: only the window, filterbank and DCT may be device tensors", i)
			}
		}
		c.consts = append(c.consts, k)
	}
	for _, ts := range [][]*tensor.Dense{w.Motion.Grids, w.Motion.Prev, w.Motion.Diffs} {
		for _, t := range ts {
			if c.isDevice(t) {
				return shapeErr("Compute", "motion grids may not be device tensors")
			}
		}
	}
	return nil
}

// constant returns the device address of a constant operand: resident's
// when it is resident, else h uploaded into the buffer called name.
func (c *CUDA) constant(name string, resident uint64, h []float32) (uint64, error) {
	if resident != 0 {
		return resident, nil
	}
	return c.upload(name, h)
}

// deviceZeros returns a device buffer of n zeros (a bias of none),
// uploaded once for the largest n asked.
func (c *CUDA) deviceZeros(n int) (uint64, error) {
	if n <= c.zeroUp {
		return c.buf("zero", uint64(c.zeroUp*4))
	}
	d, err := c.upload("zero", make([]float32, n)) // staged before upload returns: pageable memory
	if err == nil {
		c.zeroUp = n
	}
	return d, err
}

// audioGPU runs one microphone's spectra → log-mel → MFCC chain on device
// tensors and brings the three results back; k holds its resident
// constants.
func (c *CUDA) audioGPU(g *audioArgs, k audioConstants) error {
	if g.fftSize > maxGPUFFT {
		return errCPUOnly
	}
	if g.rows == 0 {
		return nil
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	din, err := c.upload("audio", g.frames)
	if err != nil {
		return err
	}
	dwin, err := c.constant("window", k.window, g.window)
	if err != nil {
		return err
	}
	power, err := c.devTensor("power", g.rows, g.bins)
	if err != nil {
		return err
	}
	threads := uint32(max(1, min(g.fftSize/2, 1024)))
	if err := c.launch(c.fns.power, uint32(g.rows), 1, threads, uint32(g.fftSize*8),
		devPtr(power), din, dwin, i32(g.fftSize), i32(log2(g.fftSize))); err != nil {
		return err
	}
	if err := c.d2h(f32ptr(g.power), devPtr(power), len(g.power)*4); err != nil {
		return err
	}
	if g.mel != nil && g.melRows > 0 {
		dfb, err := c.constant("filterbank", k.fb, g.fb)
		if err != nil {
			return err
		}
		mel, err := c.devTensor("mel", g.melRows, g.nMel)
		if err != nil {
			return err
		}
		total := g.melRows * g.nMel
		if err := c.launch(c.fns.logmel, uint32((total+127)/128), 1, 128, 0,
			devPtr(mel), devPtr(power), dfb, i32(g.melRows), i32(g.bins), i32(g.nMel), f32(MelFloor)); err != nil {
			return err
		}
		ddct, err := c.constant("dct", k.dct, g.dct)
		if err != nil {
			return err
		}
		dzero, err := c.deviceZeros(g.nMFCC)
		if err != nil {
			return err
		}
		mfcc, err := c.devTensor("mfcc", g.melRows, g.nMFCC)
		if err != nil {
			return err
		}
		total = g.melRows * g.nMFCC
		if err := c.launch(c.fns.dense, uint32((total+127)/128), 1, 128, 0,
			devPtr(mfcc), devPtr(mel), ddct, dzero, i32(g.melRows), i32(g.nMel), i32(g.nMFCC), i32(int(Linear))); err != nil {
			return err
		}
		if err := c.d2h(f32ptr(g.mel), devPtr(mel), len(g.mel)*4); err != nil {
			return err
		}
		if err := c.d2h(f32ptr(g.mfcc), devPtr(mfcc), len(g.mfcc)*4); err != nil {
			return err
		}
	}
	return c.sync()
}

func (c *CUDA) outOfMemory(err error) {
	c.fellBack.Add(1)
	c.oomOnce.Do(func() {
		c.log.Warn("CUDA device memory exhausted: running such operations on the CPU", "err", err)
	})
}

// CPUFallbacks counts the operations that ran on the CPU for want of
// device memory.
func (c *CUDA) CPUFallbacks() uint64 { return c.fellBack.Load() }

// staging returns a pinned buffer of at least n floats.
func (c *CUDA) staging(n int) ([]float32, error) {
	if len(c.stage) >= n {
		return c.stage[:n], nil
	}
	var p unsafe.Pointer
	size := max(n, 2*len(c.stage), 1024)
	if err := c.api.check("cuMemHostAlloc", c.api.cuMemHostAlloc(&p, uint64(size*4), 0)); err != nil {
		return nil, err
	}
	c.hosts[p] = true // the old one is freed by Close
	c.stage = unsafe.Slice((*float32)(p), size)
	return c.stage[:n], nil
}

// AllocHost returns n bytes of pinned host memory, which the GPU reads
// fastest; frames that live there cross to the device without staging
// (av.HostMemory: cameras capture into it). FreeHost frees it, Close what
// is left. The first failure is logged: frames then stay in Go memory.
func (c *CUDA) AllocHost(n int) ([]byte, error) {
	if n <= 0 {
		return nil, shapeErr("AllocHost", "%d bytes", n)
	}
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if c.ctx == 0 {
		return nil, errors.New("cuda: closed")
	}
	var p unsafe.Pointer
	if err := c.api.check("cuMemHostAlloc", c.api.cuMemHostAlloc(&p, uint64(n), 0)); err != nil {
		c.hostOnce.Do(func() {
			c.log.Warn("CUDA pinned host memory exhausted: frames are captured into pageable memory", "err", err)
		})
		return nil, err
	}
	c.hosts[p] = true
	return unsafe.Slice((*byte)(p), n), nil
}

var _ av.HostMemory = (*CUDA)(nil) // cameras capture into its pinned memory

// FreeHost frees memory AllocHost returned; anything else, or memory
// Close has freed, it leaves alone.
func (c *CUDA) FreeHost(b []byte) {
	if len(b) == 0 {
		return
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if err := c.enter(); err != nil {
		return
	}
	defer c.leave()
	if c.ctx == 0 || !c.hosts[p] {
		return
	}
	delete(c.hosts, p)
	c.api.cuMemFreeHost(p)
}

// Close implements Backend.
func (c *CUDA) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c.closeLocked()
	return c.cpu.Close()
}

func (c *CUDA) closeLocked() {
	if c.ctx == 0 {
		return
	}
	c.api.cuCtxSetCurrent(c.ctx)
	if c.stream != 0 {
		c.api.cuStreamSynchronize(c.stream)
	}
	for _, b := range c.bufs {
		c.api.cuMemFree(b.ptr)
	}
	c.bufs, c.used, c.zeroUp = map[string]devBuf{}, 0, 0
	c.freeDevices()
	for p := range c.hosts {
		c.api.cuMemFreeHost(p)
	}
	c.hosts, c.stage = map[unsafe.Pointer]bool{}, nil
	if c.stream != 0 {
		c.api.cuStreamDestroy(c.stream)
		c.stream = 0
	}
	if c.module != 0 {
		c.api.cuModuleUnload(c.module)
		c.module = 0
	}
	c.api.cuDevicePrimaryCtxRelease(c.dev)
	c.ctx = 0
}
