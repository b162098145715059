package av

import (
	"fmt"
	"runtime"
)

// PixelFormat is the layout of a Frame's pixels.
type PixelFormat uint8

// Pixel formats. BGR24 is what OpenCV captures deliver.
const (
	Gray8 PixelFormat = iota + 1
	BGR24
)

// BytesPerPixel returns the size of one pixel.
func (p PixelFormat) BytesPerPixel() int {
	switch p {
	case Gray8:
		return 1
	case BGR24:
		return 3
	}
	return 0
}

func (p PixelFormat) String() string {
	switch p {
	case Gray8:
		return "gray8"
	case BGR24:
		return "bgr24"
	}
	return fmt.Sprintf("PixelFormat(%d)", uint8(p))
}

// Frame is one video image. Pix holds Height rows of Stride bytes.
type Frame struct {
	Meta
	Width, Height, Stride int
	Format                PixelFormat
	Pix                   []byte

	pool *Pool[Frame]
}

// FramePool hands out frames of one size and format.
type FramePool struct {
	pool                  *Pool[Frame]
	width, height, stride int
	format                PixelFormat
}

// HostMemory hands out host memory a compute device reads fastest (pinned
// memory: fuse.CUDA), for frames to be captured into.
type HostMemory interface {
	AllocHost(n int) ([]byte, error)
	// FreeHost frees a buffer AllocHost returned.
	FreeHost(b []byte)
}

// NewFramePool returns a pool of width×height frames that keeps up to
// capacity free frames.
func NewFramePool(width, height int, format PixelFormat, capacity int) *FramePool {
	return NewFramePoolIn(width, height, format, capacity, nil)
}

// NewFramePoolIn is NewFramePool with the frames' pixels in mem (nil: Go
// memory). A frame whose buffer mem cannot give gets Go memory; a buffer
// from mem is freed when its frame is garbage: once the pool, full, has
// let it go.
func NewFramePoolIn(width, height int, format PixelFormat, capacity int, mem HostMemory) *FramePool {
	fp := &FramePool{width: width, height: height, stride: width * format.BytesPerPixel(), format: format}
	n := fp.stride * height
	fp.pool = NewPool(capacity, func() *Frame {
		if mem != nil {
			pix, err := mem.AllocHost(n)
			if err == nil && len(pix) == n {
				f := &Frame{Pix: pix}
				runtime.AddCleanup(f, mem.FreeHost, pix)
				return f
			}
			if err == nil {
				mem.FreeHost(pix)
			}
		}
		return &Frame{Pix: make([]byte, n)}
	})
	return fp
}

// Get returns a frame with its size set and its header cleared. Its pixels
// hold whatever the previous owner left.
func (fp *FramePool) Get() *Frame {
	f := fp.pool.Get()
	f.Meta = Meta{}
	f.Width, f.Height, f.Stride, f.Format = fp.width, fp.height, fp.stride, fp.format
	f.pool = fp.pool
	return f
}

// SampleMeta implements Sample.
func (f *Frame) SampleMeta() *Meta { return &f.Meta }

// Release returns the frame to its pool. Frames made without a pool are left
// to the garbage collector.
func (f *Frame) Release() {
	if f == nil || f.pool == nil {
		return
	}
	p := f.pool
	f.pool = nil
	p.Put(f)
}
