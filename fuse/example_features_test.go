package fuse_test

import (
	"fmt"
	"math"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Audio features of a bundle: a 440 Hz tone is pitched, and not speech.
func ExampleAudioFeatures() {
	af, err := fuse.NewAudioFeatures(fuse.AudioConfig{RateHz: 16000, Channels: 1}, fuse.NewCPU())
	if err != nil {
		panic(err)
	}
	data := make([]float32, 1600) // 100 ms
	var v *fuse.AudioValues
	for k := range 3 {
		for i := range data {
			data[i] = float32(0.25 * math.Sin(2*math.Pi*440*float64(k*533+i)/16000))
		}
		v = af.Push(int64(k)*33_333_333, &av.AudioSlice{RateHz: 16000, Channels: 1, Data: data, Covered: len(data)})
	}
	fmt.Printf("level %.1f dBFS, centroid %.0f Hz, pitch %.0f Hz, speech %v\n", v.RMSDBFS, v.CentroidHz, v.PitchHz, v.Speech)
	ev := map[string]float64{}
	v.Evidence(ev)
	_, hasBearing := ev["doa_bearing_deg"]
	fmt.Println("bearing in evidence:", hasBearing)
	// Output:
	// level -15.1 dBFS, centroid 440 Hz, pitch 441 Hz, speech false
	// bearing in evidence: false
}

// Synchrony of two series that move together, the second 3 values later.
func ExampleSynchrony() {
	s, err := fuse.NewSynchrony(fuse.SynchronyConfig{RateHz: 30})
	if err != nil {
		panic(err)
	}
	x := func(i int) float64 { return math.Sin(float64(i)*0.37) + math.Sin(float64(i*i%97)*0.11) }
	for i := range 120 {
		s.Push(x(i), x(i-3), true)
	}
	z, lagMS, ok := s.Score()
	fmt.Printf("z > 3: %v, lag %.0f ms, ok %v\n", z > 3, lagMS, ok)
	// Output:
	// z > 3: true, lag 100 ms, ok true
}
