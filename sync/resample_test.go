package sync

import (
	"math"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// TestAnalysisRate: a microphone at its own rate gives bundles at the
// analysis rate, channels kept, on the same time line: every frame of
// every bundle holds the sine as it was at that frame's capture time.
func TestAnalysisRate(t *testing.T) {
	const hz = 700.0
	for _, mic := range []struct{ rate, ch int }{{48000, 2}, {11025, 1}, {44100, 2}, {8000, 1}, {16000, 1}} {
		cfg := Config{Audio: "mic", AudioRateHz: mic.rate, AudioChannels: mic.ch, AnalysisRateHz: 16000,
			FramePeriodNS: 33 * ms, AudioWindowNS: 100 * ms, MaxWaitNS: 200 * ms, MinAudioCoverage: 0.5, PendingFrames: 8}
		s, err := NewFrameSync(cfg, av.NewDrops())
		if err != nil {
			t.Fatal(err)
		}
		var out []*av.Bundle
		keep := func(b *av.Bundle) { out = append(out, b) }
		chunkFrames := mic.rate / 50
		for k := range 50 { // 1 s
			c := &av.AudioChunk{RateHz: mic.rate, Channels: mic.ch, FirstFrame: int64(k * chunkFrames), Data: make([]float32, chunkFrames*mic.ch)}
			c.Stream = "mic"
			c.CaptureNS = t0 + av.FramesToNS(c.FirstFrame, mic.rate)
			c.ArrivalNS = c.CaptureNS + 20*ms
			for i := range chunkFrames {
				v := 0.5 * math.Sin(2*math.Pi*hz*float64(c.FirstFrame+int64(i))/float64(mic.rate))
				for ch := range mic.ch {
					c.Data[i*mic.ch+ch] = float32(v / float64(ch+1))
				}
			}
			s.Push(c, keep)
		}
		if len(out) < 20 {
			t.Fatalf("%d Hz: %d bundles", mic.rate, len(out))
		}
		var worst float64
		for _, b := range out[2:] {
			if b.Audio.RateHz != 16000 || b.Audio.Channels != mic.ch || b.Audio.Frames() != 1600 || b.Audio.Covered != 1600 {
				t.Fatalf("%d Hz: bundle audio %d Hz × %d, %d frames, %d covered", mic.rate, b.Audio.RateHz, b.Audio.Channels, b.Audio.Frames(), b.Audio.Covered)
			}
			for i := range b.Audio.Frames() {
				sec := float64(b.Audio.StartNS-t0)/1e9 + float64(i)/16000
				want := 0.5 * math.Sin(2*math.Pi*hz*sec)
				for ch := range mic.ch {
					worst = max(worst, math.Abs(float64(b.Audio.Data[i*mic.ch+ch])-want/float64(ch+1)))
				}
			}
		}
		if worst > 2e-3 {
			t.Errorf("%d Hz × %d: bundles differ from the sine at their times by up to %.2g", mic.rate, mic.ch, worst)
		}
	}
}

func TestAnalysisRateBad(t *testing.T) {
	cfg := Config{Audio: "mic", AudioRateHz: 47999, AudioChannels: 1, AnalysisRateHz: 16000,
		FramePeriodNS: 33 * ms, AudioWindowNS: 100 * ms, PendingFrames: 8}
	if _, err := NewFrameSync(cfg, av.NewDrops()); err == nil {
		t.Fatal("47999 Hz to 16 kHz accepted")
	}
}
