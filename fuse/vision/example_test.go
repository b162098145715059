//go:build !nosensors

package vision_test

import (
	"fmt"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/vision"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Motion where a bright square moved, between two frames.
func ExampleExtractor() {
	e, err := vision.New(vision.Config{Width: 160, Height: 120, FaceEvery: -1}, fuse.NewCPU())
	if err != nil {
		panic(err)
	}
	defer e.Close()
	frame := func(x int) *av.Frame {
		f := &av.Frame{Width: 160, Height: 120, Stride: 160, Format: av.Gray8, Pix: make([]byte, 160*120)}
		for r := 40; r < 56; r++ {
			for c := x; c < x+16; c++ {
				f.Pix[r*160+c] = 250
			}
		}
		return f
	}
	e.Push(frame(16))
	v := e.Push(frame(128))
	ev := map[string]float64{}
	v.Evidence(ev)
	fmt.Printf("motion at x %.2f, y %.2f of the frame\n", ev["video_motion_x"], ev["video_motion_y"])
	// Output:
	// motion at x 0.50, y 0.40 of the frame
}
