package fuse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The CUDA driver API and NVRTC, loaded at run time with purego: fusiond
// builds without cgo or a CUDA toolkit, and uses a GPU wherever one is
// present.

// ErrNoCUDA is wrapped when no usable CUDA device is present.
var ErrNoCUDA = errors.New("no usable CUDA device")

type cuResult uint32

// cuda holds the driver API's entry points.
type cudaAPI struct {
	cuInit                    func(flags uint32) cuResult
	cuDriverGetVersion        func(v *int32) cuResult
	cuDeviceGetCount          func(n *int32) cuResult
	cuDeviceGet               func(dev *int32, ordinal int32) cuResult
	cuDeviceGetName           func(name *byte, n int32, dev int32) cuResult
	cuDeviceGetAttribute      func(v *int32, attr int32, dev int32) cuResult
	cuDeviceTotalMem          func(bytes *uint64, dev int32) cuResult
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) cuResult
	cuDevicePrimaryCtxRelease func(dev int32) cuResult
	cuCtxSetCurrent           func(ctx uintptr) cuResult
	cuMemAlloc                func(p *uint64, n uint64) cuResult
	cuMemFree                 func(p uint64) cuResult
	cuMemHostAlloc            func(p *unsafe.Pointer, n uint64, flags uint32) cuResult
	cuMemFreeHost             func(p unsafe.Pointer) cuResult
	cuMemsetD8                func(p uint64, v uint8, n uint64) cuResult
	cuMemcpyDtoD              func(dst, src uint64, n uint64) cuResult
	cuMemcpyHtoD              func(dst uint64, src unsafe.Pointer, n uint64) cuResult
	cuMemcpyDtoH              func(dst unsafe.Pointer, src uint64, n uint64) cuResult
	cuStreamCreate            func(s *uintptr, flags uint32) cuResult
	cuStreamDestroy           func(s uintptr) cuResult
	cuStreamSynchronize       func(s uintptr) cuResult
	cuModuleLoadData          func(m *uintptr, image *byte) cuResult
	cuModuleUnload            func(m uintptr) cuResult
	cuModuleGetFunction       func(f *uintptr, m uintptr, name string) cuResult
	cuGetErrorString          func(r cuResult, s **byte) cuResult

	// Raw entry points of the calls made on every operation, called with
	// purego.SyscallN: far fewer allocations than the reflective wrappers.
	hot struct{ ctxSetCurrent, h2d, d2h, sync, launch uintptr }
}

// nvrtcAPI holds NVRTC's entry points.
type nvrtcAPI struct {
	nvrtcVersion           func(major, minor *int32) int32
	nvrtcCreateProgram     func(p *uintptr, src, name string, nHeaders int32, headers, names uintptr) int32
	nvrtcCompileProgram    func(p uintptr, nOpts int32, opts unsafe.Pointer) int32
	nvrtcGetProgramLogSize func(p uintptr, n *uint64) int32
	nvrtcGetProgramLog     func(p uintptr, log *byte) int32
	nvrtcGetPTXSize        func(p uintptr, n *uint64) int32
	nvrtcGetPTX            func(p uintptr, ptx *byte) int32
	nvrtcDestroyProgram    func(p *uintptr) int32
}

// Device attributes used here (CUdevice_attribute).
const (
	cuAttrComputeMajor = 75
	cuAttrComputeMinor = 76
)

var (
	cudaOnce sync.Once
	cudaLib  *cudaAPI
	cudaErr  error
)

// loadCUDA loads the driver API once.
func loadCUDA() (*cudaAPI, error) {
	cudaOnce.Do(func() {
		h, err := dlopenFirst(libraryCandidates("FUSIOND_LIBCUDA", []string{"libcuda.so.1", "libcuda.so"}))
		if err != nil {
			cudaErr = fmt.Errorf("%w: the CUDA driver library (libcuda.so.1) is not installed: %v", ErrNoCUDA, err)
			return
		}
		api := &cudaAPI{}
		syms := []struct {
			fn   any
			name string
		}{
			{&api.cuInit, "cuInit"}, {&api.cuDriverGetVersion, "cuDriverGetVersion"},
			{&api.cuDeviceGetCount, "cuDeviceGetCount"}, {&api.cuDeviceGet, "cuDeviceGet"},
			{&api.cuDeviceGetName, "cuDeviceGetName"}, {&api.cuDeviceGetAttribute, "cuDeviceGetAttribute"},
			{&api.cuDeviceTotalMem, "cuDeviceTotalMem_v2"},
			{&api.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
			{&api.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
			{&api.cuCtxSetCurrent, "cuCtxSetCurrent"},
			{&api.cuMemAlloc, "cuMemAlloc_v2"}, {&api.cuMemFree, "cuMemFree_v2"},
			{&api.cuMemHostAlloc, "cuMemHostAlloc"}, {&api.cuMemFreeHost, "cuMemFreeHost"},
			{&api.cuMemsetD8, "cuMemsetD8_v2"}, {&api.cuMemcpyDtoD, "cuMemcpyDtoD_v2"},
			{&api.cuMemcpyHtoD, "cuMemcpyHtoD_v2"}, {&api.cuMemcpyDtoH, "cuMemcpyDtoH_v2"},
			{&api.cuStreamCreate, "cuStreamCreate"}, {&api.cuStreamDestroy, "cuStreamDestroy_v2"},
			{&api.cuStreamSynchronize, "cuStreamSynchronize"},
			{&api.cuModuleLoadData, "cuModuleLoadData"}, {&api.cuModuleUnload, "cuModuleUnload"},
			{&api.cuModuleGetFunction, "cuModuleGetFunction"},
			{&api.cuGetErrorString, "cuGetErrorString"},
		}
		for _, s := range syms {
			if err := register(h, s.fn, s.name); err != nil {
				cudaErr = fmt.Errorf("%w: the CUDA driver is too old: %v", ErrNoCUDA, err)
				return
			}
		}
		for _, hs := range []struct {
			p    *uintptr
			name string
		}{{&api.hot.ctxSetCurrent, "cuCtxSetCurrent"}, {&api.hot.h2d, "cuMemcpyHtoDAsync_v2"},
			{&api.hot.d2h, "cuMemcpyDtoHAsync_v2"}, {&api.hot.sync, "cuStreamSynchronize"}, {&api.hot.launch, "cuLaunchKernel"}} {
			if *hs.p, err = purego.Dlsym(h, hs.name); err != nil {
				cudaErr = fmt.Errorf("%w: the CUDA driver is too old: missing symbol %s", ErrNoCUDA, hs.name)
				return
			}
		}
		if r := api.cuInit(0); r != 0 {
			cudaErr = fmt.Errorf("%w: cuInit: %s", ErrNoCUDA, api.errString(r))
			return
		}
		cudaLib = api
	})
	return cudaLib, cudaErr
}

var (
	nvrtcOnce sync.Once
	nvrtcLib  *nvrtcAPI
	nvrtcErr  error
)

// loadNVRTC loads NVRTC once.
func loadNVRTC() (*nvrtcAPI, error) {
	nvrtcOnce.Do(func() {
		h, err := dlopenFirst(libraryCandidates("FUSIOND_LIBNVRTC", nvrtcNames()))
		if err != nil {
			nvrtcErr = fmt.Errorf("NVRTC (libnvrtc.so) is not installed: %v", err)
			return
		}
		api := &nvrtcAPI{}
		syms := []struct {
			fn   any
			name string
		}{
			{&api.nvrtcVersion, "nvrtcVersion"}, {&api.nvrtcCreateProgram, "nvrtcCreateProgram"},
			{&api.nvrtcCompileProgram, "nvrtcCompileProgram"},
			{&api.nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize"}, {&api.nvrtcGetProgramLog, "nvrtcGetProgramLog"},
			{&api.nvrtcGetPTXSize, "nvrtcGetPTXSize"}, {&api.nvrtcGetPTX, "nvrtcGetPTX"},
			{&api.nvrtcDestroyProgram, "nvrtcDestroyProgram"},
		}
		for _, s := range syms {
			if err := register(h, s.fn, s.name); err != nil {
				nvrtcErr = fmt.Errorf("NVRTC is unusable: %v", err)
				return
			}
		}
		nvrtcLib = api
	})
	return nvrtcLib, nvrtcErr
}

// register binds one symbol, turning purego's panic on a missing symbol
// into an error.
func register(h uintptr, fn any, name string) (err error) {
	if _, err := purego.Dlsym(h, name); err != nil {
		return fmt.Errorf("missing symbol %s", name)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("binding %s: %v", name, r)
		}
	}()
	purego.RegisterLibFunc(fn, h, name)
	return nil
}

func nvrtcNames() []string {
	names := []string{"libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"}
	var dirs []string
	for _, pattern := range []string{
		"/usr/local/cuda/lib64", "/usr/local/cuda/targets/*/lib", "/usr/local/cuda-*/lib64",
		"/usr/local/cuda-*/targets/*/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib64",
		"/usr/local/lib/python3*/dist-packages/nvidia/cuda_nvrtc/lib", "/usr/lib/python3*/dist-packages/nvidia/cuda_nvrtc/lib",
		"/usr/local/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib", "/opt/conda/lib",
	} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	out := append([]string{}, names...)
	for _, d := range dirs {
		m, _ := filepath.Glob(filepath.Join(d, "libnvrtc.so*"))
		for _, p := range m {
			if !strings.Contains(filepath.Base(p), "builtins") {
				out = append(out, p)
			}
		}
	}
	return out
}

// libraryCandidates puts an explicit path from the environment first.
func libraryCandidates(env string, names []string) []string {
	if p := os.Getenv(env); p != "" {
		return append([]string{p}, names...)
	}
	return names
}

func dlopenFirst(candidates []string) (uintptr, error) {
	var errs []error
	for _, c := range candidates {
		h, err := purego.Dlopen(c, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			return h, nil
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return 0, errs[0]
	}
	return 0, errors.New("no candidates")
}

// call calls a hot entry point.
func (api *cudaAPI) call(fn uintptr, args ...uintptr) cuResult {
	r, _, _ := purego.SyscallN(fn, args...)
	return cuResult(r)
}

func (api *cudaAPI) errString(r cuResult) string {
	var p *byte
	if api.cuGetErrorString(r, &p) != 0 || p == nil {
		return fmt.Sprintf("CUDA error %d", r)
	}
	return fmt.Sprintf("%s (%d)", goString(p), r)
}

func (api *cudaAPI) check(op string, r cuResult) error {
	if r == 0 {
		return nil
	}
	return fmt.Errorf("cuda: %s: %s", op, api.errString(r))
}

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	var b []byte
	for i := 0; ; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			return string(b)
		}
		b = append(b, c)
	}
}

// GPU describes one CUDA device.
type GPU struct {
	Index        int    `json:"index"`
	Name         string `json:"name"`
	ComputeMajor int    `json:"compute_major"`
	ComputeMinor int    `json:"compute_minor"`
	MemoryBytes  uint64 `json:"memory_bytes"`
	Driver       int    `json:"driver_version"` // CUDA driver API version, e.g. 12040
}

// CUDADevices lists the CUDA devices; ErrNoCUDA when there is no driver.
func CUDADevices() ([]GPU, error) {
	api, err := loadCUDA()
	if err != nil {
		return nil, err
	}
	var n, drv int32
	if err := api.check("cuDeviceGetCount", api.cuDeviceGetCount(&n)); err != nil {
		return nil, err
	}
	api.cuDriverGetVersion(&drv)
	var out []GPU
	for i := range n {
		var dev, major, minor int32
		if err := api.check("cuDeviceGet", api.cuDeviceGet(&dev, i)); err != nil {
			return nil, err
		}
		name := make([]byte, 256)
		api.cuDeviceGetName(&name[0], int32(len(name)), dev)
		api.cuDeviceGetAttribute(&major, cuAttrComputeMajor, dev)
		api.cuDeviceGetAttribute(&minor, cuAttrComputeMinor, dev)
		var mem uint64
		api.cuDeviceTotalMem(&mem, dev)
		out = append(out, GPU{Index: int(i), Name: cString(name), ComputeMajor: int(major), ComputeMinor: int(minor), MemoryBytes: mem, Driver: int(drv)})
	}
	runtime.KeepAlive(api)
	return out, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
