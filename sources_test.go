package fusiond

import (
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
)

// Cameras capture into a backend's pinned memory where it has some: the
// CPU backend has none (Go memory); CUDA's is fuse's own test
// (TestCUDAHostMemory).
func TestHostMemory(t *testing.T) {
	cpu := fuse.NewCPU()
	defer cpu.Close()
	if m := hostMemory(cpu); m != nil {
		t.Errorf("the CPU backend's host memory: %T", m)
	}
}
