package synthetic

import (
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

func BenchmarkRender640x480(b *testing.B) {
	v := mustVideo(b, VideoConfig{Stream: "cam0", Width: 640, Height: 480, FPS: 30, Seed: 1, NoiseAmplitude: 12})
	f := av.NewFramePool(640, 480, av.BGR24, 1).Get()
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Pix)))
	seq := uint64(0)
	for b.Loop() {
		v.Render(seq, f)
		seq++
	}
}

// BenchmarkFill48kStereo20ms fills chunks of the default microphone's
// schedule inside its speech event, the most expensive kind, over the
// background noise.
func BenchmarkFill48kStereo20ms(b *testing.B) {
	a := mustAudio(b, AudioConfig{
		Stream: "mic0", RateHz: 48000, Channels: 2, ChunkFrames: 960, Seed: 2,
		NoiseDBFS: -60, ChannelDelay: 250 * time.Microsecond, Period: 10 * time.Second,
		Events: []AudioEvent{
			{Kind: KindSpeech, At: time.Second, Duration: 2500 * time.Millisecond, FreqHz: 140, LevelDBFS: -14},
			{Kind: KindTone, At: 4500 * time.Millisecond, Duration: time.Second, FreqHz: 880, LevelDBFS: -18},
			{Kind: KindNoise, At: 7 * time.Second, Duration: 400 * time.Millisecond, LevelDBFS: -10},
		},
	})
	buf := make([]float32, 2*960)
	b.ReportAllocs()
	k := int64(0)
	for b.Loop() {
		a.Fill(48000+k%100*960, buf)
		k++
	}
}
