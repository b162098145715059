package fusiond

import (
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
)

// pinnedCPU is a backend with host memory of its own, as CUDA has.
type pinnedCPU struct {
	*fuse.CPU
	*avtest.HostMemory
}

// Cameras capture into a backend's host memory where it has some, and Go
// memory (nil) where it has none (the CPU backend). CUDA's own is fuse's
// test (TestCUDAHostMemory).
func TestHostMemory(t *testing.T) {
	cpu := fuse.NewCPU()
	defer cpu.Close()
	if m := fuse.HostMemory(cpu); m != nil {
		t.Errorf("the CPU backend's host memory: %T", m)
	}
	mem := &avtest.HostMemory{}
	if m := fuse.HostMemory(pinnedCPU{cpu, mem}); m == nil {
		t.Error("a backend with host memory: none handed to the cameras")
	} else if b, _ := m.AllocHost(8); !mem.Owns(b) {
		t.Error("the cameras' memory is not the backend's")
	}
}
