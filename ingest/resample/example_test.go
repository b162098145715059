package resample_test

import (
	"fmt"

	"github.com/seed-4c364652/fusiond/ingest/resample"
)

// A 48 kHz stereo chunk of 20 ms becomes 16 kHz, channels kept.
func Example() {
	r, err := resample.New(48000, 16000, 2)
	if err != nil {
		panic(err)
	}
	in := make([]float32, 960*2) // 20 ms, interleaved L R
	out := make([]float32, r.MaxFrames(960)*2)
	n, first := r.Push(out, in, 0)
	fmt.Println(n, first)
	n, first = r.Push(out, in, 960)
	fmt.Println(n, first)
	// Output:
	// 296 0
	// 320 296
}
