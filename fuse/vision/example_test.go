//go:build !nosensors

package vision_test

import (
	"fmt"

	"github.com/seed-4c364652/fusiond/fuse/vision"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// The features of a still grey scene: nothing in the foreground, no face.
func ExampleExtractor() {
	e, err := vision.New(vision.Config{Width: 160, Height: 120})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	f := &av.Frame{Width: 160, Height: 120, Stride: 160, Format: av.Gray8, Pix: make([]byte, 160*120)}
	for i := range f.Pix {
		f.Pix[i] = 128
	}
	var v *vision.Values
	for range 3 {
		v = e.Push(f)
	}
	ev := map[string]float64{}
	v.Evidence(ev)
	fmt.Printf("foreground %.2f, faces %v\n", ev["video_foreground"], ev["faces"])
	// Output:
	// foreground 0.00, faces 0
}
