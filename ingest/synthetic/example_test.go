package synthetic_test

import (
	"fmt"
	"math"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

func ExampleNewAudio() {
	a, err := synthetic.NewAudio(synthetic.AudioConfig{
		Stream: "mic0", RateHz: 16000, Channels: 2, ChunkFrames: 320, Seed: 7,
		NoiseDBFS:    synthetic.NoiseOffDBFS,
		ChannelDelay: 250 * time.Microsecond, // the right channel hears it 4 frames later
		Period:       2 * time.Second,
		Events: []synthetic.AudioEvent{
			{Kind: "tone", At: 500 * time.Millisecond, Duration: 500 * time.Millisecond, FreqHz: 400, LevelDBFS: -6},
		},
	}, av.NewVirtualClock(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range []time.Duration{0, 600 * time.Millisecond, 2600 * time.Millisecond} {
		kind, active := a.ActiveAt(t)
		fmt.Printf("at %v: %q active=%v\n", t, kind, active)
	}
	fmt.Println("right channel delay:", a.DelayFrames(1), "frames")

	// 20 ms of the tone: 8 whole cycles of 400 Hz.
	chunk := make([]float32, 2*320)
	a.Fill(av.NSToFrames(int64(600*time.Millisecond), 16000), chunk)
	var sum float64
	for i := 0; i < len(chunk); i += 2 {
		sum += float64(chunk[i]) * float64(chunk[i])
	}
	fmt.Printf("left RMS: %.1f dBFS\n", 10*math.Log10(sum/320))

	_, err = synthetic.NewAudio(synthetic.AudioConfig{Stream: "mic0", RateHz: 16000, Channels: 2, ChunkFrames: 320,
		Events: []synthetic.AudioEvent{{Kind: "siren", Duration: time.Second}}}, av.NewVirtualClock(0))
	fmt.Println(err)
	// Output:
	// at 0s: "" active=false
	// at 600ms: "tone" active=true
	// at 2.6s: "tone" active=true
	// right channel delay: 4 frames
	// left RMS: -9.0 dBFS
	// synthetic: invalid events[0].kind: must be "tone", "noise" or "speech", got "siren"
}

func ExampleNewVideo() {
	v, err := synthetic.NewVideo(synthetic.VideoConfig{
		Stream: "cam0", Width: 320, Height: 240, FPS: 30, Seed: 1, NoiseAmplitude: 12,
		VisiblePeriod: 2 * time.Second, VisibleFor: time.Second,
	}, av.NewVirtualClock(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	f := av.NewFramePool(320, 240, av.BGR24, 1).Get()
	for _, seq := range []uint64{0, 45} {
		v.Render(seq, f)
		x, y, visible := v.ShapeAt(seq)
		i := int(math.Round(y))*f.Stride + 3*int(math.Round(x))
		fmt.Printf("frame %d: disc visible=%v, white at (%.0f, %.0f): %v\n", seq, visible, x, y, f.Pix[i] == 255)
	}
	// Output:
	// frame 0: disc visible=true, white at (74, 80): true
	// frame 45: disc visible=false, white at (86, 46): false
}
