package fuse

import (
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// benchSlices returns n consecutive bundles' audio of 48 kHz stereo
// speech-like sound from the left (so the VAD is on and GCC-PHAT runs), each
// of window audio frames, one per 1/30 s.
func benchSlices(b *testing.B, n, window int) []av.AudioSlice {
	src := synthAudio(b, synthetic.AudioConfig{RateHz: 48000, Channels: 2, NoiseDBFS: -50, ChannelDelay: 250 * time.Microsecond,
		Events: []synthetic.AudioEvent{{Kind: "speech", Duration: 60 * time.Second, LevelDBFS: -14}}})
	out := make([]av.AudioSlice, n)
	for k := range out {
		start := int64(k+30)*1600 - int64(window)
		data := make([]float32, 2*window)
		src.Fill(start, data)
		out[k] = av.AudioSlice{RateHz: 48000, Channels: 2, Data: data, Covered: window, StartNS: av.FramesToNS(start, 48000)}
	}
	return out
}

func benchAudio(b *testing.B, window int) {
	a := newTestAudio(b, AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray})
	slices := benchSlices(b, 60, window)
	for k := range slices { // warm up: noise floor, speech on, DOA smoothing
		a.Push(int64(k)*33_333_333, &slices[k])
	}
	if v := a.Push(60*33_333_333, &slices[0]); !v.Speech || !v.Has(FeatBearing) {
		b.Fatalf("benchmark signal: speech %v, bearing %v", v.Speech, v.Has(FeatBearing))
	}
	b.ReportAllocs()
	k := 61
	for b.Loop() {
		a.Push(int64(k)*33_333_333, &slices[k%len(slices)])
		k++
	}
}

// All audio features of one bundle: 33 ms of 48 kHz stereo (the issue's
// budget: ≤ 0.5 ms, 0 allocations).
func BenchmarkAudioFeatures33ms(b *testing.B) { benchAudio(b, 1600) }

// The same with the default 100 ms sync window.
func BenchmarkAudioFeatures100ms(b *testing.B) { benchAudio(b, 4800) }

// Per-feature costs, on one 48 kHz analysis frame (2048 points).
func benchParts(b *testing.B) (*AudioFeatures, []av.AudioSlice) {
	a := newTestAudio(b, AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray})
	slices := benchSlices(b, 4, 4800)
	for k := range slices {
		a.Push(int64(k)*33_333_333, &slices[k])
	}
	b.ReportAllocs()
	return a, slices
}

func BenchmarkAudioPowerSpectrum(b *testing.B) {
	a, _ := benchParts(b)
	for b.Loop() {
		_ = a.be.PowerSpectra(a.power, a.frame, 1, a.fftSize, a.window)
	}
}

func BenchmarkAudioLogMel(b *testing.B) {
	a, _ := benchParts(b)
	for b.Loop() {
		_ = a.be.LogMel(a.mel, a.power, 1, a.bins, a.fb, a.cfg.MelBands)
	}
}

func BenchmarkAudioMFCC(b *testing.B) {
	a, _ := benchParts(b)
	for b.Loop() {
		_ = a.be.Dense(a.mfcc, a.mel, 1, a.cfg.MelBands, a.dct, a.zeroBias, a.cfg.MFCCs, Linear)
	}
}

// Centroid, flatness, tonality and spectral peaks.
func BenchmarkAudioSpectralShape(b *testing.B) {
	a, _ := benchParts(b)
	var v AudioValues
	for b.Loop() {
		a.shape(&v)
	}
}

func BenchmarkAudioFluxOnset(b *testing.B) {
	a, _ := benchParts(b)
	var v AudioValues
	for b.Loop() {
		a.flux(&v)
	}
}

func BenchmarkAudioPitch(b *testing.B) {
	a, _ := benchParts(b)
	for b.Loop() {
		a.pitch.estimate(a.frame)
	}
}

func BenchmarkAudioVAD(b *testing.B) {
	a, _ := benchParts(b)
	in := vadInput{power: a.power, levelDBFS: -20, flatness: 0.01, tonality: 0.3, harmonicity: 0.9, haveShape: true, haveHarmonicity: true, voice: true, peaks: 8}
	for b.Loop() {
		in.timeNS += 33_333_333
		a.vad.update(in)
	}
}

// GCC-PHAT of the pair and the steered bearing.
func BenchmarkAudioDOA(b *testing.B) {
	a, s := benchParts(b)
	data := s[0].Data
	for b.Loop() {
		_ = a.crossCorrelate(0, data, len(data)/2, 2)
		a.doa.bearing(0)
	}
}

// Level, clipping, zero crossings and the analysis frame's mix: the plain-Go
// time-domain pass, measured as a bundle of a sample rate other than the
// configured one, which stops there.
func BenchmarkAudioLevelZCR(b *testing.B) {
	a, s := benchParts(b)
	other := s[0]
	other.RateHz = 44100
	for b.Loop() {
		a.Push(0, &other)
	}
}
