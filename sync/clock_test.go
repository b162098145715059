package sync

import (
	"testing"
)

// TestDriftTarget is the drift target: 48 kHz, 100 ppm drift, ±5 ms
// callback jitter (and a late callback now and then): the p99 error of the
// estimated sample times is at most 1 ms from 10 s on, for an hour.
func TestDriftTarget(t *testing.T) {
	dur := int64(3600e9)
	if testing.Short() {
		dur = 300e9
	}
	for _, tc := range []struct {
		name string
		sim  DriftSim
	}{
		{"fast device", DriftSim{RateHz: 48000, ChunkFrames: 480, DriftPPM: 100, JitterNS: 5e6, LatencyNS: 8e6, DurationNS: dur, Seed: 1}},
		{"slow device, late callbacks", DriftSim{RateHz: 48000, ChunkFrames: 960, DriftPPM: -100, JitterNS: 5e6, LatencyNS: 8e6,
			LateEvery: 200, LateNS: 60e6, DurationNS: dur, Seed: 2}},
		{"256-frame chunks", DriftSim{RateHz: 48000, ChunkFrames: 256, DriftPPM: 100, JitterNS: 5e6, LatencyNS: 3e6,
			LateEvery: 500, LateNS: 150e6, DurationNS: dur, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := SimulateDrift(tc.sim)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("p99 %.3f ms, worst %d-window p99 %.3f ms, max %.3f ms, %d chunks, %d clipped, %d resets, drift estimate %.1f ppm",
				rep.P99AfterNS/1e6, rep.Windows, rep.WorstWindowP99NS/1e6, rep.MaxNS/1e6, rep.Chunks, rep.Clipped, rep.Resets, rep.EstPPM)
			if rep.P99AfterNS > 1e6 || rep.WorstWindowP99NS > 1e6 {
				t.Fatalf("p99 %.3f ms, worst window %.3f ms: over 1 ms", rep.P99AfterNS/1e6, rep.WorstWindowP99NS/1e6)
			}
			if rep.Resets != 0 {
				t.Fatalf("%d spurious resets", rep.Resets)
			}
		})
	}
}

func TestClockDiscontinuities(t *testing.T) {
	const rate, chunk = 48000, 480
	feed := func(c *AudioClock, from, to int64, startNS int64) {
		for k := from; k < to; k++ {
			c.Observe(k*chunk, chunk, startNS+(k-from+1)*10e6)
		}
	}
	for _, tc := range []struct {
		name   string
		run    func(c *AudioClock)
		resets uint64
	}{
		{"steady", func(c *AudioClock) { feed(c, 0, 500, 0) }, 0},
		{"frame count restarts (reconnect)", func(c *AudioClock) { feed(c, 0, 500, 0); feed(c, 0, 100, 5e9) }, 1},
		{"arrivals jump 2 s ahead (a pause)", func(c *AudioClock) { feed(c, 0, 500, 0); feed(c, 500, 600, 7e9) }, 1},
		{"arrivals jump back (looping recording)", func(c *AudioClock) { feed(c, 0, 500, 10e9); feed(c, 500, 600, 0) }, 1},
		{"one very late callback", func(c *AudioClock) {
			feed(c, 0, 500, 0)
			c.Observe(500*chunk, chunk, 5010e6+900e6)
			feed(c, 501, 600, 5010e6)
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewAudioClock(ClockConfig{RateHz: rate})
			if err != nil {
				t.Fatal(err)
			}
			tc.run(c)
			if c.Resets() != tc.resets {
				t.Fatalf("%d resets, want %d", c.Resets(), tc.resets)
			}
		})
	}
}

func TestClockFrameAtInvertsTimeOf(t *testing.T) {
	c, _ := NewAudioClock(ClockConfig{RateHz: 44100, OffsetNS: -7e6})
	for k := int64(0); k < 300; k++ {
		c.Observe(k*441, 441, 1e12+k*10_001_000+(k%7)*1e6)
	}
	for _, k := range []int64{0, 1, 4410, 99999, 132300, 1 << 30} {
		if got := c.FrameAt(c.TimeOf(k)); got != k {
			t.Errorf("FrameAt(TimeOf(%d)) = %d", k, got)
		}
		if got := c.FrameAt(c.TimeOf(k+1) - 1); got != k {
			t.Errorf("FrameAt(TimeOf(%d)-1) = %d", k+1, got)
		}
	}
}

func TestClockConfigRejected(t *testing.T) {
	for _, cfg := range []ClockConfig{{RateHz: 0}, {RateHz: 48000, TimeConstantNS: 1}, {RateHz: 48000, DiscontinuityNS: 5}} {
		if _, err := NewAudioClock(cfg); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
}

func BenchmarkAudioClockObserve(b *testing.B) {
	c, _ := NewAudioClock(ClockConfig{RateHz: 48000})
	b.ReportAllocs()
	var k int64
	for b.Loop() {
		c.Observe(k*480, 480, 1e12+k*10e6+(k*7919%11)*1e5)
		k++
	}
}
