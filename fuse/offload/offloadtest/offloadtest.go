// Package offloadtest makes synthetic robot input for tests of offloaded
// fusion: bundles whose decisions change (motion comes and goes, sound
// bursts, a modality drops out), and the robot's fusion configuration.
package offloadtest

import (
	"math"
	"math/rand/v2"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

const ms = int64(1e6)

// Config is a robot's fusion configuration with the decision kinds on.
func Config(robot string) fuse.ActivityConfig {
	return fuse.ActivityConfig{Robot: robot, IntervalNS: 500 * ms, Prior: -2, MotionWeight: 1, MotionRef: 1,
		AudioWeight: 0.1, AudioRefDBFS: -40, Decide: Decide(),
		Streams: map[av.Modality][]string{av.Video: {"cam0"}, av.Audio: {"mic0"}}}
}

// Decide is the decision steps' configuration of Config.
func Decide() *fuse.DecideConfig {
	return &fuse.DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, MinOffNS: 150 * ms, HFOVDeg: 60,
		HeartbeatNS: 2000 * ms, ChangeBearingDeg: 15}
}

// Scene returns n bundles at 30 per second from startMS: a bright square
// that moves in some seconds and stands still in others, sound bursts,
// and a second without audio and one without video; seed varies it.
func Scene(seed uint64, startMS int64, n int) []*av.Bundle {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]*av.Bundle, n)
	x, moving, loud := 8, false, false
	for i := range n {
		tMS := startMS + int64(i)*33
		if i%30 == 0 {
			moving, loud = rng.IntN(2) == 0, rng.IntN(3) == 0
		}
		if moving {
			x = (x + 3) % 44
		}
		sec := i / 30
		var f *av.Frame
		if sec%7 != 5 {
			f = square(x, 24)
		}
		var audio []float32
		if sec%9 != 4 {
			amp := 0.001 + 0.002*rng.Float64()
			if loud {
				amp = 0.3
			}
			audio = sine(amp, 1600)
		}
		b := &av.Bundle{TimeNS: tMS * ms, Frame: f}
		if audio != nil {
			b.Audio = av.AudioSlice{RateHz: 48000, Channels: 1, Data: audio, Covered: len(audio),
				StartNS: tMS*ms - av.FramesToNS(int64(len(audio)), 48000)}
		} else {
			b.Missing = append(b.Missing, av.Audio)
		}
		if f == nil {
			b.Missing = append(b.Missing, av.Video)
		}
		out[i] = b
	}
	return out
}

// square is a 64×64 grey frame, dark but for a 16×16 bright square at (x, y).
func square(x, y int) *av.Frame {
	f := &av.Frame{Width: 64, Height: 64, Stride: 64, Format: av.Gray8, Pix: make([]byte, 64*64)}
	for r := y; r < y+16; r++ {
		for c := x; c < x+16; c++ {
			f.Pix[r*64+c] = 255
		}
	}
	return f
}

func sine(amp float64, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*float64(i)/48))
	}
	return out
}

// Fuse runs bundles through cfg's Activity in process and returns its
// decisions.
func Fuse(cfg fuse.ActivityConfig, bundles []*av.Bundle) ([]*av.Decision, error) {
	a, err := fuse.NewActivity(cfg)
	if err != nil {
		return nil, err
	}
	var out []*av.Decision
	emit := func(d *av.Decision) { out = append(out, d) }
	for _, b := range bundles {
		a.Push(b, emit)
	}
	a.Flush(emit)
	return out, nil
}

// Ticks runs bundles through cfg's Activity with offload and returns a
// copy of every tick.
func Ticks(cfg fuse.ActivityConfig, bundles []*av.Bundle) ([]fuse.Tick, error) {
	var out []fuse.Tick
	cfg.Offload = func(t *fuse.Tick) {
		c := *t
		c.Missing = append([]string(nil), t.Missing...)
		c.MissingStreams = append([]string(nil), t.MissingStreams...)
		c.Evidence = clone(t.Evidence)
		c.Contributions = clone(t.Contributions)
		out = append(out, c)
	}
	a, err := fuse.NewActivity(cfg)
	if err != nil {
		return nil, err
	}
	for _, b := range bundles {
		a.Push(b, func(*av.Decision) { panic("offloaded activity emitted a decision") })
	}
	a.Flush(func(*av.Decision) { panic("offloaded activity emitted a decision") })
	return out, nil
}

func clone(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	c := make(map[string]float64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
