package fuse

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// checkFinite fails when a feature that is reported present is not finite.
func checkFinite(t *testing.T, v *AudioValues) {
	t.Helper()
	ev := map[string]float64{}
	v.Evidence(ev)
	for k, x := range ev {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Errorf("%s = %v", k, x)
		}
	}
	for _, x := range v.LogMel {
		if x != x || math.IsInf(float64(x), 0) {
			t.Errorf("log-mel %v", x)
		}
	}
	for _, x := range v.MFCC {
		if x != x || math.IsInf(float64(x), 0) {
			t.Errorf("mfcc %v", x)
		}
	}
}

func TestAudioBadInput(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	stereo := func(n int, f func(i int) float32) []float32 {
		x := make([]float32, 2*n)
		for i := range x {
			x[i] = f(i)
		}
		return x
	}
	tone := func(i int) float32 { return float32(0.3 * math.Sin(2*math.Pi*440*float64(i/2)/48000)) }
	for _, tc := range []struct {
		name    string
		slice   *av.AudioSlice
		counter func(*AudioCounters) uint64
		has     []AudioFeature
		missing []AudioFeature
	}{
		{"nil slice", nil, func(c *AudioCounters) uint64 { return c.Missing }, nil, []AudioFeature{FeatRMS, FeatSpeech}},
		{"no data", &av.AudioSlice{RateHz: 48000, Channels: 2}, func(c *AudioCounters) uint64 { return c.Missing }, nil, []AudioFeature{FeatRMS}},
		{"zero size", &av.AudioSlice{RateHz: 48000, Channels: 2, Data: []float32{}}, func(c *AudioCounters) uint64 { return c.Missing }, nil, []AudioFeature{FeatRMS}},
		{"no channels", &av.AudioSlice{RateHz: 48000, Data: make([]float32, 10)}, func(c *AudioCounters) uint64 { return c.Missing }, nil, []AudioFeature{FeatRMS}},
		{"silence", &av.AudioSlice{RateHz: 48000, Channels: 2, Data: make([]float32, 9600), Covered: 4800}, nil,
			[]AudioFeature{FeatRMS, FeatRMSDBFS, FeatSpeech, FeatLogMel, FeatMFCC}, []AudioFeature{FeatCentroid, FeatFlatness, FeatPitch, FeatBearing}},
		{"clipping", &av.AudioSlice{RateHz: 48000, Channels: 2, Covered: 4800, Data: stereo(4800, func(i int) float32 {
			if (i/2/50)%2 == 0 {
				return 1
			}
			return -1
		})}, func(c *AudioCounters) uint64 { return c.Clipped }, []AudioFeature{FeatClipFraction, FeatCentroid}, nil},
		{"a few NaN", &av.AudioSlice{RateHz: 48000, Channels: 2, Covered: 4800, Data: stereo(4800, func(i int) float32 {
			if i%100 == 0 {
				return nan
			}
			return tone(i)
		})}, func(c *AudioCounters) uint64 { return c.NonFinite }, []AudioFeature{FeatRMS, FeatCentroid, FeatPitch}, nil},
		{"mostly Inf", &av.AudioSlice{RateHz: 48000, Channels: 2, Covered: 4800, Data: stereo(4800, func(i int) float32 {
			if i%2 == 0 {
				return inf
			}
			return -inf
		})}, func(c *AudioCounters) uint64 { return c.TooManyNonFinite }, nil, []AudioFeature{FeatRMS, FeatCentroid}},
		{"odd size", &av.AudioSlice{RateHz: 48000, Channels: 2, Covered: 4800, Data: stereo(4800, tone)[:9599]}, func(c *AudioCounters) uint64 { return c.OddSize },
			[]AudioFeature{FeatRMS, FeatCentroid}, nil},
		{"mono where stereo configured", &av.AudioSlice{RateHz: 48000, Channels: 1, Covered: 4800, Data: stereo(2400, tone)}, func(c *AudioCounters) uint64 { return c.ChannelMismatch },
			[]AudioFeature{FeatRMS, FeatCentroid}, []AudioFeature{FeatBearing}},
		{"other rate", &av.AudioSlice{RateHz: 44100, Channels: 2, Covered: 4410, Data: stereo(4410, tone)}, func(c *AudioCounters) uint64 { return c.RateMismatch },
			[]AudioFeature{FeatRMS, FeatZCR}, []AudioFeature{FeatCentroid, FeatLogMel, FeatSpeech}},
		{"not covered", &av.AudioSlice{RateHz: 48000, Channels: 2, Covered: 100, Data: stereo(4800, tone)}, func(c *AudioCounters) uint64 { return c.LowCoverage },
			nil, []AudioFeature{FeatRMS}},
		{"one frame", &av.AudioSlice{RateHz: 48000, Channels: 2, Covered: 1, Data: []float32{0.5, -0.5}}, nil, []AudioFeature{FeatRMS}, []AudioFeature{FeatZCR, FeatPitch}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAudio(t, AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray})
			var v *AudioValues
			for k := range 3 {
				v = a.Push(int64(k)*33e6, tc.slice)
				checkFinite(t, v)
			}
			if tc.counter != nil && tc.counter(&a.Counters) == 0 {
				t.Errorf("not counted: %+v", a.Counters)
			}
			for _, f := range tc.has {
				if !v.Has(f) {
					t.Errorf("feature %d missing", f)
				}
			}
			for _, f := range tc.missing {
				if v.Has(f) {
					t.Errorf("feature %d present", f)
				}
			}
		})
	}
}

// A silent slice's level is reported, as digital silence, not left out.
func TestAudioSilenceLevel(t *testing.T) {
	a := newTestAudio(t, AudioConfig{RateHz: 48000, Channels: 2})
	v := a.Push(0, &av.AudioSlice{RateHz: 48000, Channels: 2, Data: make([]float32, 9600), Covered: 4800})
	if !v.Has(FeatRMSDBFS) || v.RMSDBFS != SilenceDBFS || v.Speech {
		t.Errorf("silence: level %v (present %v), speech %v", v.RMSDBFS, v.Has(FeatRMSDBFS), v.Speech)
	}
}

func FuzzAudioFeatures(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 128, 191}, uint8(2), uint16(4800), false)
	f.Add(make([]byte, 4*64), uint8(1), uint16(64), true)
	f.Add([]byte{0, 0, 192, 127, 0, 0, 128, 127, 1, 2, 3}, uint8(3), uint16(1), false)
	a, err := NewAudioFeatures(AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray}, NewCPU())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte, channels uint8, covered uint16, otherRate bool) {
		data := make([]float32, len(raw)/4)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		rate := 48000
		if otherRate {
			rate = 16000
		}
		s := &av.AudioSlice{RateHz: rate, Channels: int(channels % 9), Data: data, Covered: int(covered)}
		v := a.Push(int64(a.Counters.Bundles)*33e6, s)
		checkFinite(t, v)
	})
}
