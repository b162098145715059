package fuse

import (
	"errors"
	"fmt"
	"unsafe"

	"gorgonia.org/tensor"
)

// cudaEngine is a gorgonia tensor Engine over the CUDA backend's device
// memory: tensors made with tensor.WithEngine(engine) live on the GPU
// (their data is a device pointer, never to be read from Go), so that the
// tensor one kernel writes is the next kernel's input without a trip
// through the host (power spectra → log-mel → MFCC), and constant tensors
// (the head's weights) stay on the device (CUDA.Resident). It is a
// non-standard engine: it does no arithmetic, and its memory is not Go
// accessible (Accessible fails; Memcpy to a host tensor instead).
//
// Its methods run on the backend's context: call them (and tensor.New
// with it) between enter and leave.
type cudaEngine struct{ c *CUDA }

var (
	_ tensor.Engine       = cudaEngine{}
	_ tensor.NonStdEngine = cudaEngine{}
)

// devMem is a span of device memory.
type devMem struct{ ptr, size uintptr }

func (m devMem) Uintptr() uintptr { return m.ptr }
func (m devMem) MemSize() uintptr { return m.size }

// errInaccessible says device memory was asked for from Go.
var errInaccessible = errors.New("cuda: device memory is not accessible from Go; Memcpy it to a host tensor")

// NonStdAlloc implements tensor.NonStdEngine.
func (cudaEngine) NonStdAlloc() {}

// AllocAccessible implements tensor.Engine: device memory is not.
func (cudaEngine) AllocAccessible() bool { return false }

// Alloc implements tensor.Engine, within the backend's device budget.
func (e cudaEngine) Alloc(size int64) (tensor.Memory, error) {
	c := e.c
	n := uint64(max(size, 4))
	if c.maxBytes > 0 && c.used+n > c.maxBytes {
		return nil, fmt.Errorf("%w: a tensor of %d bytes, %d of the %d allowed are in use", ErrDeviceMemory, n, c.used, c.maxBytes)
	}
	var p uint64
	if r := c.api.cuMemAlloc(&p, n); r != 0 {
		err := c.api.check("cuMemAlloc", r)
		if r == cudaErrorOutOfMemory {
			err = fmt.Errorf("%w: %v", ErrDeviceMemory, err)
		}
		return nil, err
	}
	c.used += n
	return devMem{ptr: uintptr(p), size: uintptr(n)}, nil
}

// Free implements tensor.Engine.
func (e cudaEngine) Free(mem tensor.Memory, size int64) error {
	c := e.c
	c.used -= uint64(mem.MemSize())
	return c.api.check("cuMemFree", c.api.cuMemFree(uint64(mem.Uintptr())))
}

// Memset implements tensor.Engine for zero, the only value it sets.
func (e cudaEngine) Memset(mem tensor.Memory, val interface{}) error {
	if v, ok := val.(float32); !ok || v != 0 {
		return fmt.Errorf("cuda: Memset to %v: only float32 zero", val)
	}
	return e.c.api.check("cuMemsetD8", e.c.api.cuMemsetD8(uint64(mem.Uintptr()), 0, uint64(mem.MemSize())))
}

// Memclr implements tensor.Engine.
func (e cudaEngine) Memclr(mem tensor.Memory) { _ = e.Memset(mem, float32(0)) }

// Memcpy implements tensor.Engine: device to device, host to device or
// device to host, by which side is device memory (a devMem, or a tensor
// of this engine); MemSize(src) bytes.
func (e cudaEngine) Memcpy(dst, src tensor.Memory) error {
	api := e.c.api
	n := uint64(src.MemSize())
	if uint64(dst.MemSize()) < n {
		return fmt.Errorf("%w: Memcpy of %d bytes into %d", ErrShape, n, dst.MemSize())
	}
	dd, sd := e.onDevice(dst), e.onDevice(src)
	switch {
	case dd && sd:
		return api.check("cuMemcpyDtoD", api.cuMemcpyDtoD(uint64(dst.Uintptr()), uint64(src.Uintptr()), n))
	case dd && hostPtr(src) != nil:
		return api.check("cuMemcpyHtoD", api.cuMemcpyHtoD(uint64(dst.Uintptr()), hostPtr(src), n))
	case sd && hostPtr(dst) != nil:
		return api.check("cuMemcpyDtoH", api.cuMemcpyDtoH(hostPtr(dst), uint64(src.Uintptr()), n))
	}
	return errors.New("cuda: Memcpy: one side must be device memory, the other a float32 host tensor")
}

// hostPtr is a host tensor's first element; nil for other Memory.
func hostPtr(m tensor.Memory) unsafe.Pointer {
	if t, ok := m.(*tensor.Dense); ok && t.Dtype() == tensor.Float32 {
		return unsafe.Pointer(unsafe.SliceData(t.Float32s()))
	}
	return nil
}

func (e cudaEngine) onDevice(m tensor.Memory) bool {
	switch m := m.(type) {
	case devMem:
		return true
	case *tensor.Dense:
		return m.Engine() == tensor.Engine(e)
	}
	return false
}

// Accessible implements tensor.Engine: device memory never is.
func (cudaEngine) Accessible(tensor.Memory) (tensor.Memory, error) { return nil, errInaccessible }

// WorksWith implements tensor.Engine: row-major tensors.
func (cudaEngine) WorksWith(order tensor.DataOrder) bool { return order.IsRowMajor() }

// isDevice says whether t lives on this backend's device.
func (c *CUDA) isDevice(t *tensor.Dense) bool {
	return t != nil && t.Engine() == tensor.Engine(c.eng)
}

// devPtr is a device tensor's device address.
func devPtr(t *tensor.Dense) uint64 { return uint64(t.Uintptr()) }

// newDevice makes a float32 tensor of the given shape on the device
// (between enter and leave); tensor.New panics when the engine cannot
// allocate, which comes back as the error.
func (c *CUDA) newDevice(shape ...int) (t *tensor.Dense, err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
				return
			}
			err = fmt.Errorf("cuda: device tensor: %v", r)
		}
	}()
	t = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...), tensor.WithEngine(c.eng))
	c.devs = append(c.devs, t)
	return t, nil
}

// devTensor returns the device tensor called name with cols columns and at
// least rows rows, grown (never per call once large enough).
func (c *CUDA) devTensor(name string, rows, cols int) (*tensor.Dense, error) {
	if t := c.named[name]; t != nil && t.Shape()[1] == cols && t.Shape()[0] >= rows {
		return t, nil
	}
	t, err := c.newDevice(max(rows, 4), cols)
	if err != nil {
		return nil, err
	}
	c.named[name] = t // the old one is freed by Close
	return t, nil
}

// Resident copies the host tensor t (a float32 vector or matrix) to the
// device once and returns the device tensor, for a constant operand the
// backend keeps: Dense takes one in w's place (the head's weights, Head),
// Compute in an AudioWork's Window, Filterbank and DCT (AudioFeatures),
// and neither uploads it again. The device tensor is freed by Close; t
// must stay unchanged while it is used, and is what a CPU fallback reads.
func (c *CUDA) Resident(t *tensor.Dense) (*tensor.Dense, error) {
	if t == nil || t.Dtype() != tensor.Float32 || t.Dims() < 1 || t.Dims() > 2 || t.Shape().TotalSize() == 0 || c.isDevice(t) {
		return nil, shapeErr("Resident", "%s", describe(t))
	}
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	d, err := c.newDevice(t.Shape()...)
	if err != nil {
		return nil, err
	}
	if err := c.eng.Memcpy(d, t); err != nil {
		return nil, err
	}
	c.hostOf[d] = t
	return d, nil
}

// freeDevices frees every device tensor (closeLocked).
func (c *CUDA) freeDevices() {
	for _, t := range c.devs {
		c.api.cuMemFree(devPtr(t))
	}
	c.devs, c.named, c.hostOf = nil, map[string]*tensor.Dense{}, map[*tensor.Dense]*tensor.Dense{}
}
