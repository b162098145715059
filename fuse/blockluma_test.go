package fuse

import (
	"math/rand/v2"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// blockLumaByPixel is blockLuma written plainly, pixel by pixel: the
// known answer the fast one must equal bit for bit.
func blockLumaByPixel(f FrameRef, cell int, grid []float32, gw, by0, by1 int) {
	for by := by0; by < by1; by++ {
		for bx := range gw {
			var sum int
			for y := by * cell; y < (by+1)*cell; y++ {
				for x := bx * cell; x < (bx+1)*cell; x++ {
					if f.Format == av.Gray8 {
						sum += int(f.Pix[y*f.Stride+x])
						continue
					}
					p := f.Pix[y*f.Stride+3*x:]
					sum += (29*int(p[0]) + 150*int(p[1]) + 77*int(p[2])) >> 8
				}
			}
			grid[by*gw+bx] = float32(sum) / float32(cell*cell)
		}
	}
}

func randomFrame(r *rand.Rand, w, h, pad int, format av.PixelFormat) FrameRef {
	stride := w*format.BytesPerPixel() + pad
	pix := make([]byte, stride*h)
	for i := range pix {
		pix[i] = byte(r.IntN(256))
	}
	return FrameRef{Pix: pix, Width: w, Height: h, Stride: stride, Format: format}
}

// blockLuma equals the pixel-by-pixel sum on random frames, packed and
// padded, BGR and grey, whole and in block-row ranges.
func TestBlockLumaIsThePixelSum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		w, h, pad, cell int
		format          av.PixelFormat
	}{
		{640, 480, 0, 8, av.BGR24}, {640, 480, 0, 8, av.Gray8}, {320, 240, 13, 8, av.BGR24},
		{100, 60, 7, 6, av.Gray8}, {97, 41, 0, 4, av.BGR24}, {64, 64, 1, 16, av.BGR24},
	} {
		f := randomFrame(r, c.w, c.h, c.pad, c.format)
		gw, gh := c.w/c.cell, c.h/c.cell
		want, got := make([]float32, gw*gh), make([]float32, gw*gh)
		blockLumaByPixel(f, c.cell, want, gw, 0, gh)
		blockLuma(f, c.cell, got, gw, 0, gh/2)
		blockLuma(f, c.cell, got, gw, gh/2, gh)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: block %d = %v, want %v", c, i, got[i], want[i])
			}
		}
	}
}

// One 640×480 BGR frame's motion grid (8 px cells) on one core.
func BenchmarkBlockLuma640x480(b *testing.B) {
	f := randomFrame(rand.New(rand.NewPCG(1, 2)), 640, 480, 0, av.BGR24)
	grid := make([]float32, 80*60)
	for b.Loop() {
		blockLuma(f, 8, grid, 80, 0, 60)
	}
}
