package fuse

import (
	"math"
	"math/rand/v2"
	"testing"
)

// envelope is a syllable-like envelope at 30 Hz: bursts of random height
// about 4 times a second.
func envelope(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	var amp float64
	for i := range x {
		if i%8 == 0 {
			amp = rng.Float64()
		}
		x[i] = amp * math.Sin(math.Pi*float64(i%8)/8)
	}
	return x
}

func TestSynchronyFindsLaggedAudio(t *testing.T) {
	for _, lag := range []int{0, 3, -2, 6} {
		rng := rand.New(rand.NewPCG(1, uint64(lag+10)))
		s, err := NewSynchrony(SynchronyConfig{})
		if err != nil {
			t.Fatal(err)
		}
		mouth := envelope(rng, 210)
		var z, lagMS float64
		var ok bool
		for i := 20; i < 200; i++ {
			a := -60 + 40*mouth[i-lag] + 3*rng.NormFloat64() // dBFS
			s.Push(mouth[i], a, true)
			z, lagMS, ok = s.Score()
		}
		if !ok || z < 3 || math.Abs(lagMS-float64(lag)*1000/30) > 1e-9 {
			t.Errorf("audio %d frames after the mouth: z %.2f lag %.1f ms ok %v", lag, z, lagMS, ok)
		}
	}
}

func TestSynchronyUnrelatedIsLow(t *testing.T) {
	var sum float64
	const runs = 20
	for r := range runs {
		rng := rand.New(rand.NewPCG(2, uint64(r)))
		s, _ := NewSynchrony(SynchronyConfig{})
		mouth, voice := envelope(rng, 120), envelope(rng, 120)
		for i := range mouth {
			s.Push(mouth[i], -60+40*voice[i], true)
		}
		z, _, ok := s.Score()
		if !ok {
			t.Fatal("no score on a full window")
		}
		sum += z
	}
	if mean := sum / runs; math.Abs(mean) > 1.5 {
		t.Errorf("unrelated series: mean z %.2f", mean)
	}
}

func TestSynchronyMissing(t *testing.T) {
	s, _ := NewSynchrony(SynchronyConfig{})
	for i := range 119 {
		s.Push(float64(i%7), float64(i%5), true)
	}
	if _, _, ok := s.Score(); ok {
		t.Error("score before the window is full")
	}
	s.Push(1, 1, true)
	if _, _, ok := s.Score(); !ok {
		t.Error("no score on a full window")
	}
	for range 120 {
		s.Push(2, float64(3), true) // flat
	}
	if _, _, ok := s.Score(); ok {
		t.Error("score on flat series")
	}
	for i := range 120 {
		s.Push(math.NaN(), float64(i%5), true)
	}
	if _, _, ok := s.Score(); ok {
		t.Error("score on NaN mouth motion")
	}
	if _, err := NewSynchrony(SynchronyConfig{RateHz: 2}); err == nil {
		t.Error("a 4 s window at 2 Hz has no null distribution, yet no error")
	}
}

func TestBearingAgreement(t *testing.T) {
	for _, tc := range []struct{ a, sa, f, sf, want float64 }{
		{-20, 3, -20, 4, 1},
		{-20, 3, -15, 4, math.Exp(-0.5)},
		{-20, 3, 40, 4, math.Exp(-3600.0 / 50)},
	} {
		got, ok := BearingAgreement(tc.a, tc.sa, tc.f, tc.sf)
		if !ok || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%+v: %v %v", tc, got, ok)
		}
	}
	if _, ok := BearingAgreement(math.NaN(), 1, 0, 1); ok {
		t.Error("NaN bearing agreed")
	}
	if _, ok := BearingAgreement(0, 0, 0, 0); ok {
		t.Error("zero uncertainty agreed")
	}
}

func BenchmarkSynchrony(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	s, _ := NewSynchrony(SynchronyConfig{})
	m := envelope(rng, 240)
	for i := range 120 {
		s.Push(m[i], m[i], true)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Push(m[i%240], m[(i+3)%240], true)
		s.Score()
		i++
	}
}
