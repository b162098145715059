package fuse

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// Bundles in these tests come as the pipeline makes them: one per video
// frame at 30 fps, each with the 100 ms of audio before it.
const (
	testFPS      = 30
	testWindowMS = 100
)

// stereoArray is two microphones 10 cm apart on the x axis, mic 0 on the
// left.
var stereoArray = DOAConfig{Mics: [][2]float64{{-0.05, 0}, {0.05, 0}}}

func newTestAudio(t testing.TB, cfg AudioConfig) *AudioFeatures {
	t.Helper()
	a, err := NewAudioFeatures(cfg, NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// feed pushes the bundles of dur of a signal (fill writes frames starting
// at a stream frame index) into a and calls fn with each result.
func feed(a *AudioFeatures, rate, ch int, dur time.Duration, fill func(first int64, buf []float32), fn func(k int, v *AudioValues)) {
	win := rate * testWindowMS / 1000
	buf := make([]float32, win*ch)
	n := int(dur.Seconds() * testFPS)
	for k := 0; k < n; k++ {
		end := int64(k) * int64(rate) / testFPS
		start := end - int64(win)
		if start < 0 {
			continue
		}
		fill(start, buf)
		s := av.AudioSlice{RateHz: rate, Channels: ch, Data: buf, Covered: win, StartNS: av.FramesToNS(start, rate)}
		v := a.Push(av.FramesToNS(end, rate), &s)
		fn(k, v)
	}
}

func synthAudio(t testing.TB, cfg synthetic.AudioConfig) *synthetic.Audio {
	t.Helper()
	if cfg.Stream == "" {
		cfg.Stream = "mic0"
	}
	if cfg.ChunkFrames == 0 {
		cfg.ChunkFrames = 960
	}
	if cfg.NoiseDBFS == 0 {
		cfg.NoiseDBFS = -70
	}
	s, err := synthetic.NewAudio(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type stats struct {
	n, speech, pitched  int
	centroid, pitch     float64
	centroidN           int
	flatness, tonality  float64
	flatN               int
	bearings            []float64
	lastBearingStd      float64
	onsets              []int
	harmonicity, harmoN float64
}

func collect(st *stats, skip int) func(int, *AudioValues) {
	return func(k int, v *AudioValues) {
		if k < skip {
			return
		}
		st.n++
		if v.Speech {
			st.speech++
		}
		if v.Has(FeatCentroid) {
			st.centroid += v.CentroidHz
			st.centroidN++
		}
		if v.Has(FeatFlatness) {
			st.flatness += v.Flatness
			st.tonality += v.Tonality
			st.flatN++
		}
		if v.Has(FeatPitch) {
			st.pitch += v.PitchHz
			st.pitched++
		}
		if v.Has(FeatHarmonicity) {
			st.harmonicity += v.Harmonicity
			st.harmoN++
		}
		if v.Has(FeatBearing) {
			st.bearings = append(st.bearings, v.BearingDeg)
			st.lastBearingStd = v.BearingStdDeg
		}
		if v.Onset {
			st.onsets = append(st.onsets, k)
		}
	}
}

func (st *stats) speechFrac() float64 { return float64(st.speech) / float64(st.n) }

func TestSineCentroidAndPitch(t *testing.T) {
	for _, tc := range []struct {
		rate int
		hz   float64
	}{{48000, 220}, {48000, 1000}, {16000, 150}, {16000, 440}} {
		a := newTestAudio(t, AudioConfig{RateHz: tc.rate, Channels: 1})
		src := synthAudio(t, synthetic.AudioConfig{RateHz: tc.rate, Channels: 1, NoiseDBFS: synthetic.NoiseOffDBFS,
			Events: []synthetic.AudioEvent{{Kind: "tone", Duration: 3 * time.Second, FreqHz: tc.hz, LevelDBFS: -12}}})
		var st stats
		feed(a, tc.rate, 1, 3*time.Second, src.Fill, collect(&st, 5))
		centroid := st.centroid / float64(st.centroidN)
		pitch := st.pitch / float64(st.pitched)
		t.Logf("%v Hz at %d: centroid %.1f pitch %.2f (%d/%d) tonality %.3f flatness %.4f speech %d", tc.hz, tc.rate, centroid, pitch, st.pitched, st.n, st.tonality/float64(st.flatN), st.flatness/float64(st.flatN), st.speech)
		if math.Abs(centroid-tc.hz) > 0.02*tc.hz {
			t.Errorf("%v Hz tone: centroid %.1f Hz", tc.hz, centroid)
		}
		if tc.hz > PitchMaxHz {
			if st.pitched != 0 {
				t.Errorf("%v Hz tone, above the pitch range: pitch %.2f Hz in %d bundles", tc.hz, pitch, st.pitched)
			}
		} else if st.pitched != st.n || math.Abs(pitch-tc.hz) > 0.01*tc.hz {
			t.Errorf("%v Hz tone: pitch %.2f Hz in %d of %d bundles", tc.hz, pitch, st.pitched, st.n)
		}
		if st.speech != 0 {
			t.Errorf("%v Hz tone: speech in %d of %d bundles", tc.hz, st.speech, st.n)
		}
	}
}

func TestNoiseAndToneAreNotSpeech(t *testing.T) {
	for _, ev := range []synthetic.AudioEvent{
		{Kind: "noise", LevelDBFS: -10},
		{Kind: "noise", LevelDBFS: -30},
		{Kind: "tone", FreqHz: 880, LevelDBFS: -6},
		{Kind: "tone", FreqHz: 140, LevelDBFS: -18},
		{Kind: "tone", FreqHz: 300, LevelDBFS: -18},
	} {
		ev.At, ev.Duration = time.Second, 3*time.Second
		a := newTestAudio(t, AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray})
		src := synthAudio(t, synthetic.AudioConfig{RateHz: 48000, Channels: 2, NoiseDBFS: -60, Events: []synthetic.AudioEvent{ev}})
		var st stats
		feed(a, 48000, 2, 5*time.Second, src.Fill, collect(&st, 0))
		t.Logf("%s %v Hz %v dBFS: speech %d/%d flatness %.3f tonality %.3f harmonicity %.3f", ev.Kind, ev.FreqHz, ev.LevelDBFS, st.speech, st.n, st.flatness/float64(st.flatN), st.tonality/float64(st.flatN), st.harmonicity/st.harmoN)
		if st.speech != 0 {
			t.Errorf("%s at %v Hz: speech in %d of %d bundles", ev.Kind, ev.FreqHz, st.speech, st.n)
		}
		if len(st.bearings) != 0 {
			t.Errorf("%s: a bearing without speech", ev.Kind)
		}
	}
}

func TestSyntheticSpeechIsSpeech(t *testing.T) {
	a := newTestAudio(t, AudioConfig{RateHz: 48000, Channels: 2})
	src := synthAudio(t, synthetic.AudioConfig{RateHz: 48000, Channels: 2, NoiseDBFS: -60,
		Events: []synthetic.AudioEvent{{Kind: "speech", At: time.Second, Duration: 3 * time.Second, LevelDBFS: -14}}})
	var during, before stats
	feed(a, 48000, 2, 5*time.Second, src.Fill, func(k int, v *AudioValues) {
		switch {
		case k >= 33 && k < 120:
			collect(&during, 0)(k, v)
		case k < 30:
			collect(&before, 0)(k, v)
		}
	})
	t.Logf("speech: during %.2f before %.2f; pitch %.1f", during.speechFrac(), before.speechFrac(), during.pitch/float64(during.pitched))
	if during.speechFrac() < 0.8 || before.speech != 0 {
		t.Errorf("speech detected in %.2f of the speech, %d bundles before it", during.speechFrac(), before.speech)
	}
}

// readWAV reads a 16-bit PCM mono WAV file.
func readWAV(t testing.TB, path string) ([]float32, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s: run scripts/fetch-media.sh pocketsphinx-testdata", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: not a WAV file", path)
	}
	var rate, ch, bitsPer int
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8 : min(len(b), p+8+size)]
		switch id {
		case "fmt ":
			ch = int(binary.LittleEndian.Uint16(body[2:4]))
			rate = int(binary.LittleEndian.Uint32(body[4:8]))
			bitsPer = int(binary.LittleEndian.Uint16(body[14:16]))
		case "data":
			if ch != 1 || bitsPer != 16 {
				t.Fatalf("%s: %d channels of %d bits, want mono 16-bit", path, ch, bitsPer)
			}
			out := make([]float32, len(body)/2)
			for i := range out {
				out[i] = float32(int16(binary.LittleEndian.Uint16(body[2*i:]))) / 32768
			}
			return out, rate
		}
		p += 8 + size + size%2
	}
	t.Fatalf("%s: no data chunk", path)
	return nil, 0
}

func fillFrom(x []float32) func(int64, []float32) {
	return func(first int64, buf []float32) {
		for i := range buf {
			k := first + int64(i)
			if k >= 0 && k < int64(len(x)) {
				buf[i] = x[k]
			} else {
				buf[i] = 0
			}
		}
	}
}

const speechDir = "../.cache/media/pocketsphinx-testdata/usr/share/pocketsphinx/test/data"

// alsaDir holds alsa-utils' test sounds (scripts/fetch-media.sh alsa-utils):
// words spoken at 48 kHz, and noise.
const alsaDir = "../.cache/media/alsa-utils/usr/share/sounds/alsa"

func TestRealSpeechIsSpeech(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(speechDir, "*", "*.wav"))
	if len(files) == 0 {
		t.Skipf("no speech clips under %s: run scripts/fetch-media.sh pocketsphinx-testdata", speechDir)
	}
	alsa, _ := filepath.Glob(filepath.Join(alsaDir, "Front_*.wav"))
	for _, f := range append(files, alsa...) {
		x, rate := readWAV(t, f)
		a := newTestAudio(t, AudioConfig{RateHz: rate, Channels: 1})
		// Ground truth: the bundles within 20 dB of the clip's loudest are
		// the spoken ones (these clips are read speech with quiet pauses).
		var levels []float64
		var speech []bool
		feed(a, rate, 1, time.Duration(len(x))*time.Second/time.Duration(rate), fillFrom(x), func(_ int, v *AudioValues) {
			levels = append(levels, v.RMSDBFS)
			speech = append(speech, v.Speech)
		})
		loudest := slices.Max(levels)
		var active, hit int
		for i, l := range levels {
			if l >= loudest-20 {
				active++
				if speech[i] {
					hit++
				}
			}
		}
		t.Logf("%s at %d Hz: speech in %d of %d loud bundles", filepath.Base(f), rate, hit, active)
		if float64(hit) < 0.6*float64(active) {
			t.Errorf("%s: speech in only %d of %d loud bundles", filepath.Base(f), hit, active)
		}

	}
}

func TestRealNoiseIsNotSpeech(t *testing.T) {
	x, rate := readWAV(t, filepath.Join(alsaDir, "Noise.wav"))
	a := newTestAudio(t, AudioConfig{RateHz: rate, Channels: 1})
	var st stats
	feed(a, rate, 1, time.Duration(len(x))*time.Second/time.Duration(rate), fillFrom(x), collect(&st, 0))
	if st.speech != 0 {
		t.Errorf("Noise.wav: speech in %d of %d bundles", st.speech, st.n)
	}
}

func TestBearingFromChannelDelay(t *testing.T) {
	for _, delay := range []time.Duration{250 * time.Microsecond, -250 * time.Microsecond, 0, 125 * time.Microsecond, -62500 * time.Nanosecond} {
		a := newTestAudio(t, AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray})
		src := synthAudio(t, synthetic.AudioConfig{RateHz: 48000, Channels: 2, NoiseDBFS: -50, ChannelDelay: delay,
			Events: []synthetic.AudioEvent{{Kind: "speech", At: 500 * time.Millisecond, Duration: 2500 * time.Millisecond, LevelDBFS: -14}}})
		var st stats
		feed(a, 48000, 2, 3*time.Second, src.Fill, collect(&st, 0))
		// Channel 1 (right) hears the source later: it is on the left.
		tau := float64(src.DelayFrames(1)) / 48000
		want := -math.Asin(343*tau/0.1) * 180 / math.Pi
		res := 343.0 / 48000 / 0.1 / math.Cos(want*math.Pi/180) * 180 / math.Pi
		if len(st.bearings) == 0 {
			t.Fatalf("delay %v: no bearing", delay)
		}
		got := st.bearings[len(st.bearings)-1]
		t.Logf("delay %v: bearing %.2f° ± %.2f° (want %.2f°, lag resolution %.2f°), %d bundles", delay, got, st.lastBearingStd, want, res, len(st.bearings))
		// Speech reaches 5 kHz: the correlation peak is ~10 lags wide, and
		// the centroid of its top locates it to about half a lag step.
		if math.Abs(got-want) > res/2+0.5 {
			t.Errorf("delay %v: bearing %.2f°, want %.2f° within %.2f°", delay, got, want, res/2+0.5)
		}
		if st.lastBearingStd < res/2 || st.lastBearingStd > 2*res {
			t.Errorf("delay %v: bearing uncertainty %.2f°, lag resolution %.2f°", delay, st.lastBearingStd, res)
		}
	}
}

func TestOnsets(t *testing.T) {
	a := newTestAudio(t, AudioConfig{RateHz: 48000, Channels: 1})
	src := synthAudio(t, synthetic.AudioConfig{RateHz: 48000, Channels: 1, NoiseDBFS: -60, Period: time.Second,
		Events: []synthetic.AudioEvent{{Kind: "noise", At: 500 * time.Millisecond, Duration: 200 * time.Millisecond, LevelDBFS: -10}}})
	var st stats
	feed(a, 48000, 1, 4*time.Second, src.Fill, collect(&st, 0))
	// Bursts start at 0.5, 1.5, 2.5, 3.5 s: bundles 15, 45, 75, 105 (the
	// bundle ending just after the burst starts; give it two bundles).
	if len(st.onsets) != 4 {
		t.Fatalf("onsets at bundles %v, want one per burst", st.onsets)
	}
	for i, k := range st.onsets {
		if want := 15 + 30*i; k < want || k > want+2 {
			t.Errorf("onset %d at bundle %d, want %d..%d", i, k, want, want+2)
		}
	}
}

// Three microphones in a line, 10 cm apart: every pair's delay agrees.
func TestBearingThreeMics(t *testing.T) {
	line := DOAConfig{Mics: [][2]float64{{-0.1, 0}, {0, 0}, {0.1, 0}}}
	for _, delay := range []time.Duration{-125 * time.Microsecond, 62500 * time.Nanosecond} {
		a := newTestAudio(t, AudioConfig{RateHz: 48000, Channels: 3, DOA: line})
		src := synthAudio(t, synthetic.AudioConfig{RateHz: 48000, Channels: 3, NoiseDBFS: -50, ChannelDelay: delay,
			Events: []synthetic.AudioEvent{{Kind: "speech", At: 500 * time.Millisecond, Duration: 2500 * time.Millisecond, LevelDBFS: -14}}})
		var st stats
		feed(a, 48000, 3, 3*time.Second, src.Fill, collect(&st, 0))
		tau := float64(src.DelayFrames(1)) / 48000
		want := -math.Asin(343*tau/0.1) * 180 / math.Pi
		res := 343.0 / 48000 / 0.2 / math.Cos(want*math.Pi/180) * 180 / math.Pi // the widest pair's step
		if len(st.bearings) == 0 {
			t.Fatalf("delay %v: no bearing", delay)
		}
		got := st.bearings[len(st.bearings)-1]
		t.Logf("3 mics, delay %v: bearing %.2f° ± %.2f° (want %.2f°, widest pair's lag step %.2f°)", delay, got, st.lastBearingStd, want, res)
		if math.Abs(got-want) > res/2+0.5 {
			t.Errorf("delay %v: bearing %.2f°, want %.2f° within %.2f°", delay, got, want, res/2+0.5)
		}
	}
}

// Real speech from the left: a read sentence with the right channel 7
// samples (437.5 µs) late and independent noise on each channel, as
// MEDIA.md's sox recipe makes it, from microphones 20 cm apart.
func TestBearingRealSpeech(t *testing.T) {
	x, rate := readWAV(t, filepath.Join(speechDir, "librivox", "sense_and_sensibility_01_austen_64kb-0890.wav"))
	const lag = 7
	rng := uint64(1)
	noise := func() float32 { // xorshift, uniform ±0.003
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return float32(int64(rng>>11)%2001-1000) * 3e-6
	}
	st := make([]float32, 2*len(x))
	for i := range x {
		st[2*i] = x[i] + noise()
		if i >= lag {
			st[2*i+1] = x[i-lag] + noise()
		}
	}
	a := newTestAudio(t, AudioConfig{RateHz: rate, Channels: 2, DOA: DOAConfig{Mics: [][2]float64{{-0.1, 0}, {0.1, 0}}}})
	var s stats
	feed(a, rate, 2, time.Duration(len(x))*time.Second/time.Duration(rate), func(first int64, buf []float32) {
		for i := range buf {
			k := 2*first + int64(i)
			if k >= 0 && k < int64(len(st)) {
				buf[i] = st[k]
			} else {
				buf[i] = 0
			}
		}
	}, collect(&s, 0))
	want := -math.Asin(343*lag/float64(rate)/0.2) * 180 / math.Pi
	res := 343.0 / float64(rate) / 0.2 / math.Cos(want*math.Pi/180) * 180 / math.Pi
	if len(s.bearings) == 0 {
		t.Fatal("no bearing")
	}
	var sum float64
	for _, b := range s.bearings {
		sum += b
	}
	mean := sum / float64(len(s.bearings))
	t.Logf("real speech, right channel %d samples late: mean bearing %.2f° over %d bundles, last ± %.2f° (want %.2f°, lag step %.2f°)", lag, mean, len(s.bearings), s.lastBearingStd, want, res)
	if math.Abs(mean-want) > res/2+0.5 {
		t.Errorf("bearing %.2f°, want %.2f° within %.2f°", mean, want, res/2+0.5)
	}
}
