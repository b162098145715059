package fuse

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSyncOffsetTellsTheLag: mouth motion and the audio's change that move
// together at lag 0 give a positive confidence; the same audio 480 ms late
// or early (a dub) a negative one, with the best lag found.
func TestSyncOffsetTellsTheLag(t *testing.T) {
	for _, c := range []struct {
		lag      int // frames the audio follows the mouth by, at 25 Hz
		positive bool
	}{{0, true}, {1, true}, {12, false}, {-12, false}, {20, false}} {
		rng := rand.New(rand.NewPCG(5, uint64(c.lag+40)))
		s, err := NewSyncOffset(SynchronyConfig{RateHz: 25})
		if err != nil {
			t.Fatal(err)
		}
		mouth := envelope(rng, 440)
		var conf, lagMS float64
		var ok bool
		for i := 30; i < 400; i++ {
			s.Push(mouth[i], 20*mouth[i-c.lag]+2*rng.NormFloat64(), true)
			conf, lagMS, ok = s.Score()
		}
		if !ok || c.positive != (conf > 0.1) || !c.positive && conf > -0.1 || math.Abs(lagMS-float64(c.lag)*40) > 1e-9 {
			t.Errorf("audio %d frames after the mouth: confidence %.3f, best lag %.0f ms, ok %v", c.lag, conf, lagMS, ok)
		}
	}
}

func TestSyncOffsetNeedsBothSeries(t *testing.T) {
	s, err := NewSyncOffset(SynchronyConfig{RateHz: 25})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Score(); ok {
		t.Error("a score before any value")
	}
	for i := range 200 {
		s.Push(0, float64(i%5), true) // a still mouth
	}
	if _, _, ok := s.Score(); ok {
		t.Error("a score for a still mouth")
	}
	for i := range 200 {
		s.Push(float64(i%7), 1, false) // audio missing
	}
	if _, _, ok := s.Score(); ok {
		t.Error("a score without audio")
	}
	for i := range 400 {
		s.Push(float64(i%7), math.Inf(1), true)
	}
	if _, _, ok := s.Score(); ok {
		t.Error("a score from infinite audio")
	}
	for _, cfg := range []SynchronyConfig{{RateHz: 25, OffsetMinLagNS: 40e6}, {RateHz: 25, OffsetMaxLagNS: 100e6}, {RateHz: 1}} {
		if _, err := NewSyncOffset(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// TestSyncOffsetDoesNotAllocate: a step of the statistic allocates
// nothing.
func TestSyncOffsetDoesNotAllocate(t *testing.T) {
	s, _ := NewSyncOffset(SynchronyConfig{RateHz: 25})
	rng := rand.New(rand.NewPCG(1, 2))
	m := envelope(rng, 240)
	i := 0
	if a := testing.AllocsPerRun(500, func() {
		s.Push(m[i%240], m[(i+3)%240], true)
		s.Score()
		i++
	}); a != 0 {
		t.Errorf("%v allocations a step", a)
	}
}

func BenchmarkSyncOffset(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	s, _ := NewSyncOffset(SynchronyConfig{})
	m := envelope(rng, 240)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Push(m[i%240], m[(i+3)%240], true)
		s.Score()
		i++
	}
}
