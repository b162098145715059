package fuse_test

import (
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/fusetest"
)

func TestCPUBackendContract(t *testing.T) { fusetest.Run(t, fuse.NewCPU()) }

func BenchmarkCPUBackend(b *testing.B) {
	b.Run("1cam640x480+1mic", func(b *testing.B) { fusetest.Benchmark(b, fuse.NewCPU(), 1, 1, 640, 480) })
	b.Run("8cam1920x1080+8mic", func(b *testing.B) { fusetest.Benchmark(b, fuse.NewCPU(), 8, 8, 1920, 1080) })
}
