package fuse

import (
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// benchSlices returns n consecutive bundles' audio of 16 kHz stereo (the
// analysis rate sync resamples every microphone to)
// speech-like sound from the left (so the VAD is on and GCC-PHAT runs), each
// of window audio frames, one per 1/30 s; the speech starts 0.5 s into the
// stream, before the first slice, so the VAD has heard the room first
// (benchAudio warms up on that).
func benchSlices(b *testing.B, n, window int) []av.AudioSlice {
	src := synthAudio(b, synthetic.AudioConfig{RateHz: benchRateHz, Channels: 2, NoiseDBFS: -50, ChannelDelay: 250 * time.Microsecond,
		Events: []synthetic.AudioEvent{{Kind: "speech", At: 500 * time.Millisecond, Duration: 60 * time.Second, LevelDBFS: -14}}})
	out := make([]av.AudioSlice, n)
	for k := range out {
		start := int64(k+1)*benchRateHz/30 - int64(window)
		data := make([]float32, 2*window)
		src.Fill(start, data)
		out[k] = av.AudioSlice{RateHz: benchRateHz, Channels: 2, Data: data, Covered: window, StartNS: av.FramesToNS(start, benchRateHz)}
	}
	return out
}

// benchRateHz is the analysis rate (sync.analysis_rate_hz).
const benchRateHz = 16000

func benchAudio(b *testing.B, window int) {
	a := newTestAudio(b, AudioConfig{RateHz: benchRateHz, Channels: 2, DOA: stereoArray})
	slices := benchSlices(b, 60, window)
	var v *AudioValues
	for k := range slices { // warm up: noise floor, speech on, DOA smoothing
		v = a.Push(int64(k)*33_333_333, &slices[k])
	}
	if !v.Speech || !v.Has(FeatBearing) {
		b.Fatalf("benchmark signal: speech %v, bearing %v", v.Speech, v.Has(FeatBearing))
	}
	b.ReportAllocs()
	k := 61
	for b.Loop() {
		a.Push(int64(k)*33_333_333, &slices[k%len(slices)])
		k++
	}
}

// All audio features of one bundle (one per 1/30 s) with the default
// 100 ms sync window of 16 kHz stereo (the budget: ≤ 0.5 ms, 0
// allocations). The window must hold a frame period and one analysis
// frame for the VAD to see every 10 ms hop, so there is no 33 ms variant.
func BenchmarkAudioFeatures100ms(b *testing.B) { benchAudio(b, benchRateHz/10) }

// Per-feature costs, on one 48 kHz analysis frame (2048 points).
func benchParts(b *testing.B) (*AudioFeatures, []av.AudioSlice) {
	a := newTestAudio(b, AudioConfig{RateHz: benchRateHz, Channels: 2, DOA: stereoArray})
	slices := benchSlices(b, 4, benchRateHz/10)
	for k := range slices {
		a.Push(int64(k)*33_333_333, &slices[k])
	}
	b.ReportAllocs()
	return a, slices
}

func BenchmarkAudioPowerSpectrum(b *testing.B) {
	a, _ := benchParts(b)
	for b.Loop() {
		_ = a.be.PowerSpectra(a.tPower, a.tFrame, a.tWindow)
	}
}

func BenchmarkAudioLogMel(b *testing.B) {
	a, _ := benchParts(b)
	for b.Loop() {
		_ = a.be.LogMel(a.tMel, a.tPower, a.tFB)
	}
}

func BenchmarkAudioMFCC(b *testing.B) {
	a, _ := benchParts(b)
	zero := Vector(make([]float32, a.cfg.MFCCs))
	for b.Loop() {
		_ = a.be.Dense(a.tMFCC, a.tMel, a.tDCT, zero, Linear)
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
		a.gatherGCC(data, len(data)/2, 2)
		_ = a.be.GCCPHAT(a.tGcc, a.tGccA, a.tGccB, a.doa.maxLag)
		a.doa.update(0, a.gcc, true)
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
