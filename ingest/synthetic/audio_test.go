package synthetic

import (
	"context"
	"errors"
	"math"
	"math/cmplx"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

const ms = time.Millisecond

func testAudioConfig() AudioConfig {
	return AudioConfig{
		Stream: "mic0", RateHz: 16000, Channels: 2, ChunkFrames: 320, Seed: 3,
		NoiseDBFS: -60, ChannelDelay: 250 * time.Microsecond, Period: 2 * time.Second,
		Events: []AudioEvent{
			{Kind: KindTone, At: 100 * ms, Duration: 300 * ms, FreqHz: 440, LevelDBFS: -12},
			{Kind: KindNoise, At: 600 * ms, Duration: 200 * ms, LevelDBFS: -12},
			{Kind: KindSpeech, At: 1000 * ms, Duration: 800 * ms, FreqHz: 140, LevelDBFS: -12},
		},
	}
}

func mustAudio(t testing.TB, cfg AudioConfig) *Audio {
	t.Helper()
	a, err := NewAudio(cfg, av.NewVirtualClock(testStartNS))
	if err != nil {
		t.Fatalf("NewAudio: %v", err)
	}
	return a
}

// fill returns n frames from frame first.
func fill(a *Audio, first int64, n int) []float32 {
	buf := make([]float32, n*a.Config().Channels)
	a.Fill(first, buf)
	return buf
}

// channel returns channel c of interleaved data.
func channel(data []float32, channels, c int) []float64 {
	out := make([]float64, 0, len(data)/channels)
	for i := c; i < len(data); i += channels {
		out = append(out, float64(data[i]))
	}
	return out
}

func rms(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s / float64(len(x)))
}

func dbfs(x []float64) float64 { return 20 * math.Log10(rms(x)) }

// frameAt returns the frame index of stream time d at rate.
func frameAt(d time.Duration, rate int) int64 { return av.NSToFrames(int64(d), rate) }

func TestNewAudioRejects(t *testing.T) {
	ev := func(i int, edit func(*AudioEvent)) func(*AudioConfig) {
		return func(c *AudioConfig) { edit(&c.Events[i]) }
	}
	tests := []struct {
		name  string
		edit  func(*AudioConfig)
		field string
	}{
		{"no stream", func(c *AudioConfig) { c.Stream = "" }, "stream"},
		{"zero rate", func(c *AudioConfig) { c.RateHz = 0 }, "rate_hz"},
		{"no channels", func(c *AudioConfig) { c.Channels = 0 }, "channels"},
		{"nine channels", func(c *AudioConfig) { c.Channels = 9 }, "channels"},
		{"zero chunk", func(c *AudioConfig) { c.ChunkFrames = 0 }, "chunk_frames"},
		{"negative chunks", func(c *AudioConfig) { c.Chunks = -1 }, "chunks"},
		{"positive noise", func(c *AudioConfig) { c.NoiseDBFS = 3 }, "noise_dbfs"},
		{"nan noise", func(c *AudioConfig) { c.NoiseDBFS = math.NaN() }, "noise_dbfs"},
		{"negative period", func(c *AudioConfig) { c.Period = -time.Second }, "period"},
		{"unknown kind", ev(1, func(e *AudioEvent) { e.Kind = "siren" }), "events[1].kind"},
		{"empty kind", ev(0, func(e *AudioEvent) { e.Kind = "" }), "events[0].kind"},
		{"negative at", ev(2, func(e *AudioEvent) { e.At = -ms }), "events[2].at"},
		{"zero duration", ev(0, func(e *AudioEvent) { e.Duration = 0 }), "events[0].duration"},
		{"negative duration", ev(1, func(e *AudioEvent) { e.Duration = -ms }), "events[1].duration"},
		{"duration under a frame", ev(1, func(e *AudioEvent) { e.Duration = 10 * time.Microsecond }), "events[1].duration"},
		{"overflows period", ev(2, func(e *AudioEvent) { e.Duration = 1001 * ms }), "events[2].duration"},
		{"tone without frequency", ev(0, func(e *AudioEvent) { e.FreqHz = 0 }), "events[0].freq_hz"},
		{"tone at nyquist", ev(0, func(e *AudioEvent) { e.FreqHz = 8000 }), "events[0].freq_hz"},
		{"speech f0 too high", ev(2, func(e *AudioEvent) { e.FreqHz = 6000 }), "events[2].freq_hz"},
		{"negative f0", ev(2, func(e *AudioEvent) { e.FreqHz = -140 }), "events[2].freq_hz"},
		{"level above full scale", ev(1, func(e *AudioEvent) { e.LevelDBFS = 1 }), "events[1].level_dbfs"},
		{"level minus infinity", ev(1, func(e *AudioEvent) { e.LevelDBFS = math.Inf(-1) }), "events[1].level_dbfs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testAudioConfig()
			cfg.Events = slices.Clone(cfg.Events)
			tt.edit(&cfg)
			_, err := NewAudio(cfg, av.NewVirtualClock(0))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("NewAudio error = %v, want a *ConfigError", err)
			}
			if ce.Field != tt.field || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q names field %q, want %q", err, ce.Field, tt.field)
			}
		})
	}
}

func TestNewAudioAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(*AudioConfig)
	}{
		{"as is", func(*AudioConfig) {}},
		{"noise off at -inf", func(c *AudioConfig) { c.NoiseDBFS = math.Inf(-1) }},
		{"no events", func(c *AudioConfig) { c.Events = nil }},
		{"plays once, events past any period", func(c *AudioConfig) { c.Period = 0; c.Events[0].At = time.Hour }},
		{"event filling the period", func(c *AudioConfig) { c.Events = c.Events[:1]; c.Events[0].At, c.Events[0].Duration = 0, c.Period }},
		{"speech default f0", func(c *AudioConfig) { c.Events[2].FreqHz = 0 }},
		{"negative delay, 8 channels", func(c *AudioConfig) { c.Channels, c.ChannelDelay = 8, -time.Millisecond }},
		{"odd rate", func(c *AudioConfig) { c.RateHz = 11025 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testAudioConfig()
			cfg.Events = slices.Clone(cfg.Events)
			tt.edit(&cfg)
			a := mustAudio(t, cfg)
			fill(a, 0, 3*cfg.RateHz) // must not panic
		})
	}
	cfg := testAudioConfig()
	cfg.Events = slices.Clone(cfg.Events)
	cfg.Events[2].FreqHz = 0
	if got := mustAudio(t, cfg).Config().Events[2].FreqHz; got != defaultF0Hz {
		t.Errorf("default speech f0 = %v, want %v", got, defaultF0Hz)
	}
	if cfg.Events[2].FreqHz != 0 {
		t.Error("NewAudio changed the caller's Events")
	}
}

func TestFillDeterministic(t *testing.T) {
	tests := []struct {
		name         string
		seedA, seedB uint64
		same         bool
	}{
		{"same seed", 3, 3, true},
		{"seed zero", 0, 0, true},
		{"different seed", 3, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, cb := testAudioConfig(), testAudioConfig()
			ca.Seed, cb.Seed = tt.seedA, tt.seedB
			// Cover silence, each event kind, and the next period.
			for _, at := range []time.Duration{0, 200 * ms, 700 * ms, 1100 * ms, 2700 * ms} {
				k := frameAt(at, ca.RateHz)
				x, y := fill(mustAudio(t, ca), k, 500), fill(mustAudio(t, cb), k, 500)
				if got := slices.Equal(x, y); got != tt.same {
					t.Errorf("at %v: chunks equal = %v, want %v", at, got, tt.same)
				}
			}
		})
	}
}

func TestFillSplitEqualsWhole(t *testing.T) {
	cfg := testAudioConfig()
	cfg.Channels = 3
	a := mustAudio(t, cfg)
	for _, first := range []int64{-700, 0, 1590, 31_999, 1_000_003} {
		whole := fill(a, first, 4000)
		for _, cuts := range [][]int{{1}, {319, 320}, {7, 1000, 1001, 2999}, {3999}, {2000}} {
			pieces := make([]float32, 0, len(whole))
			from := 0
			for _, to := range append(cuts, 4000) {
				pieces = append(pieces, fill(a, first+int64(from), to-from)...)
				from = to
			}
			if !slices.Equal(whole, pieces) {
				t.Errorf("from frame %d cut at %v: pieces differ from one Fill", first, cuts)
			}
		}
	}
}

func TestChannelDelay(t *testing.T) {
	tests := []struct {
		name     string
		rate     int
		channels int
		delay    time.Duration
		want     []int64 // DelayFrames per channel
	}{
		{"stereo right later", 16000, 2, 250 * time.Microsecond, []int64{0, 4}},
		{"stereo right earlier", 16000, 2, -250 * time.Microsecond, []int64{0, -4}},
		{"stereo rounded", 48000, 2, 110 * time.Microsecond, []int64{0, 5}},
		{"four channels", 48000, 4, 125 * time.Microsecond, []int64{0, 6, 12, 18}},
		{"four channels negative", 16000, 4, -190 * time.Microsecond, []int64{0, -3, -6, -9}},
		{"no delay", 16000, 2, 0, []int64{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testAudioConfig()
			cfg.RateHz, cfg.Channels, cfg.ChannelDelay, cfg.NoiseDBFS = tt.rate, tt.channels, tt.delay, NoiseOffDBFS
			a := mustAudio(t, cfg)
			for c, want := range tt.want {
				if got := a.DelayFrames(c); got != want {
					t.Errorf("DelayFrames(%d) = %d, want %d", c, got, want)
				}
			}
			// Look at every event's onset, where a shift cannot hide.
			for _, at := range []time.Duration{100 * ms, 600 * ms, 1000 * ms, 2600 * ms} {
				const n, margin = 2000, 50
				first := frameAt(at, tt.rate) - n/4
				data := fill(a, first, n)
				ch0 := channel(data, tt.channels, 0)
				if rms(ch0) < 1e-3 {
					t.Fatalf("at %v: channel 0 is silent; the test looks at nothing", at)
				}
				for c := 1; c < tt.channels; c++ {
					chc := channel(data, tt.channels, c)
					d := int(tt.want[c])
					for i := margin; i < n-margin; i++ {
						if chc[i] != ch0[i-d] {
							t.Fatalf("at %v: channel %d frame %d = %v, want channel 0 frame %d = %v", at, c, i, chc[i], i-d, ch0[i-d])
						}
					}
				}
			}
		})
	}
}

func TestNoiseIsIndependentPerChannel(t *testing.T) {
	cfg := testAudioConfig()
	cfg.Events, cfg.NoiseDBFS = nil, -40
	data := fill(mustAudio(t, cfg), 0, 16000)
	l, r := channel(data, 2, 0), channel(data, 2, 1)
	for _, x := range [][]float64{l, r} {
		if got := dbfs(x); math.Abs(got-(-40)) > 0.5 {
			t.Errorf("noise RMS = %.2f dBFS, want -40", got)
		}
	}
	var dot float64
	for i := range l {
		dot += l[i] * r[i]
	}
	if corr := dot / float64(len(l)) / (rms(l) * rms(r)); math.Abs(corr) > 0.05 {
		t.Errorf("channels' noise correlates at %.3f, want about 0", corr)
	}
}

func TestEventSchedule(t *testing.T) {
	cfg := testAudioConfig()
	a := mustAudio(t, cfg)
	tests := []struct {
		at   time.Duration // middle of a 50 ms window
		kind string        // "" for silence
	}{
		{50 * ms, ""},
		{250 * ms, KindTone},
		{500 * ms, ""},
		{700 * ms, KindNoise},
		{900 * ms, ""},
		{1087 * ms, KindSpeech}, // inside the first syllable
		{1900 * ms, ""},
	}
	for cycle := range 3 {
		for _, tt := range tests {
			at := time.Duration(cycle)*cfg.Period + tt.at
			kind, active := a.ActiveAt(at)
			if kind != tt.kind || active != (tt.kind != "") {
				t.Errorf("ActiveAt(%v) = %q, %v; want %q", at, kind, active, tt.kind)
			}
			level := dbfs(channel(fill(a, frameAt(at-25*ms, cfg.RateHz), 800), 2, 0))
			switch {
			case tt.kind == "" && math.Abs(level-cfg.NoiseDBFS) > 1:
				t.Errorf("at %v (silence): %.1f dBFS, want the noise floor %v", at, level, cfg.NoiseDBFS)
			case tt.kind != "" && level < -25:
				t.Errorf("at %v (%s): %.1f dBFS, want far above the noise floor %v", at, tt.kind, level, cfg.NoiseDBFS)
			}
		}
	}
	for _, at := range []time.Duration{-ms, 100*ms - 1, 400 * ms, 1800 * ms} {
		if kind, active := a.ActiveAt(at); active {
			t.Errorf("ActiveAt(%v) = %q, want nothing", at, kind)
		}
	}
	if kind, active := a.ActiveAt(100 * ms); !active || kind != KindTone {
		t.Errorf("ActiveAt(100ms) = %q, %v; want the tone starting", kind, active)
	}

	once := testAudioConfig()
	once.Period = 0
	b := mustAudio(t, once)
	if _, active := b.ActiveAt(cfg.Period + 250*ms); active {
		t.Error("with Period 0 the schedule repeated")
	}
	if level := dbfs(channel(fill(b, frameAt(cfg.Period+225*ms, once.RateHz), 800), 2, 0)); level > -55 {
		t.Errorf("with Period 0, %.1f dBFS where the tone would repeat", level)
	}
}

func TestPeriodRepeatsExactly(t *testing.T) {
	cfg := testAudioConfig()
	cfg.NoiseDBFS = NoiseOffDBFS
	cfg.Events = slices.DeleteFunc(slices.Clone(cfg.Events), func(e AudioEvent) bool { return e.Kind == KindNoise })
	a := mustAudio(t, cfg)
	period := frameAt(cfg.Period, cfg.RateHz)
	first := fill(a, 0, int(period))
	for _, cycle := range []int64{1, 2, 37} {
		if !slices.Equal(first, fill(a, cycle*period, int(period))) {
			t.Errorf("period %d differs from period 0", cycle)
		}
	}
}

// magnitude is the Hann-windowed DFT magnitude of x at f Hz.
func magnitude(x []float64, f float64, rate int) float64 {
	var sum complex128
	n := float64(len(x))
	for i, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/n)
		sum += complex(w*v, 0) * cmplx.Exp(complex(0, -2*math.Pi*f*float64(i)/float64(rate)))
	}
	return cmplx.Abs(sum)
}

func TestSpectra(t *testing.T) {
	const rate = 16000
	cfg := AudioConfig{Stream: "mic0", RateHz: rate, Channels: 1, ChunkFrames: 320, NoiseDBFS: NoiseOffDBFS,
		Events: []AudioEvent{
			{Kind: KindTone, At: 0, Duration: 500 * ms, FreqHz: 440, LevelDBFS: -6},
			{Kind: KindSpeech, At: time.Second, Duration: time.Second, FreqHz: 140, LevelDBFS: -6},
		}}
	a := mustAudio(t, cfg)
	// A 64 ms window around the peak of the first syllable, where the pitch
	// has risen to f0(0.0875 s).
	const n = 1024
	mid := 87500 * time.Microsecond
	f0 := 140 * (1 + pitchDepth*math.Sin(2*math.Pi*pitchHz*mid.Seconds()))
	speech := channel(fill(a, frameAt(time.Second+mid, rate)-n/2, n), 1, 0)
	for h := 1.0; h <= 5; h++ {
		on, off := magnitude(speech, h*f0, rate), magnitude(speech, (h+0.5)*f0, rate)
		if on < 10*off {
			t.Errorf("speech: harmonic %v (%.0f Hz) magnitude %.3g, only %.1fx that between harmonics", h, h*f0, on, on/off)
		}
	}
	if h := len(a.events[1].weights); h < 10 {
		t.Errorf("speech has %d harmonics, want 10 or more", h)
	}

	tone := channel(fill(a, frameAt(250*ms, rate)-n/2, n), 1, 0)
	peak := magnitude(tone, 440, rate)
	for _, f := range []float64{660, 880, 1320, 1760, 140, 280} {
		if m := magnitude(tone, f, rate); m > 1e-3*peak {
			t.Errorf("tone: magnitude at %v Hz is %.2g of 440 Hz's, want none", f, m/peak)
		}
	}
}

func TestSpeechIsModulated(t *testing.T) {
	cfg := testAudioConfig()
	cfg.NoiseDBFS = NoiseOffDBFS
	a := mustAudio(t, cfg)
	start := frameAt(1000*ms, cfg.RateHz)
	// Each 250 ms syllable is voiced for 175 ms, then silent.
	syllable := int64(cfg.RateHz / 4)
	var voiced, gaps []float64
	for s := int64(0); s < 3; s++ {
		x := channel(fill(a, start+s*syllable, int(syllable)), 2, 0)
		voiced = append(voiced, x[syllable/4:syllable/2]...)
		gaps = append(gaps, x[3*syllable/4:]...)
	}
	if v, g := rms(voiced), rms(gaps); v < 0.05 || g > 1e-3*v {
		t.Errorf("speech RMS voiced %.3g, in gaps %.3g; want loud syllables and silent gaps", v, g)
	}
}

func TestLevels(t *testing.T) {
	cfg := testAudioConfig()
	cfg.NoiseDBFS = NoiseOffDBFS
	a := mustAudio(t, cfg)
	limit := math.Pow(10, -12.0/20)
	tests := []struct {
		kind       string
		from, to   time.Duration
		minPeakRel float64
	}{
		{KindTone, 100 * ms, 400 * ms, 0.999},
		{KindNoise, 600 * ms, 800 * ms, 0.99},
		{KindSpeech, 1000 * ms, 1800 * ms, 0.95},
	}
	for _, tt := range tests {
		from := frameAt(tt.from, cfg.RateHz)
		x := channel(fill(a, from, int(frameAt(tt.to, cfg.RateHz)-from)), 2, 0)
		var peak float64
		for _, v := range x {
			peak = max(peak, math.Abs(v))
		}
		if peak > limit*(1+1e-3) || peak < tt.minPeakRel*limit {
			t.Errorf("%s: peak %.4f, want in [%.4f, %.4f] (-12 dBFS)", tt.kind, peak, tt.minPeakRel*limit, limit)
		}
		// The attack starts from silence: no click.
		if math.Abs(x[0]) > 1e-9 || math.Abs(x[1]) > 0.01 {
			t.Errorf("%s: starts at %.3g, %.3g; want a ramp from 0", tt.kind, x[0], x[1])
		}
	}
}

func TestClipping(t *testing.T) {
	cfg := AudioConfig{Stream: "mic0", RateHz: 8000, Channels: 1, ChunkFrames: 80, NoiseDBFS: 0,
		Events: []AudioEvent{{Kind: KindNoise, Duration: time.Second}, {Kind: KindTone, Duration: time.Second, FreqHz: 100}}}
	var clipped int
	for _, v := range fill(mustAudio(t, cfg), 0, 8000) {
		if v < -1 || v > 1 {
			t.Fatalf("sample %v outside [-1, 1]", v)
		}
		if v == -1 || v == 1 {
			clipped++
		}
	}
	if clipped == 0 {
		t.Error("no sample clipped; the test is not loud enough")
	}
}

func TestFillAllocatesNothing(t *testing.T) {
	a := mustAudio(t, testAudioConfig())
	buf := make([]float32, 2*320)
	k := int64(0)
	if n := testing.AllocsPerRun(50, func() { a.Fill(k, buf); k += 320 }); n != 0 {
		t.Errorf("Fill allocates %v times per chunk, want 0", n)
	}
}

func TestAudioRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	tests := []struct {
		name   string
		rate   int
		chunk  int
		chunks int
	}{
		{"16k 20ms", 16000, 320, 6},
		{"44.1k 10ms", 44100, 441, 4},
		{"48k odd chunk", 48000, 1000, 3},
		{"11025 odd ns", 11025, 256, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testAudioConfig()
			cfg.RateHz, cfg.ChunkFrames, cfg.Chunks = tt.rate, tt.chunk, tt.chunks
			clock := av.NewVirtualClock(testStartNS)
			a, err := NewAudio(cfg, clock)
			if err != nil {
				t.Fatal(err)
			}
			q := av.NewQueue[av.Sample]("mic0", 4, av.Block, nil)
			wait, _ := start(t, func(ctx context.Context) error { return a.Run(ctx, q, testStartNS) })
			for k := range uint64(tt.chunks) {
				first := int64(k) * int64(tt.chunk)
				captureNS := testStartNS + int64(first)*1e9/int64(tt.rate)
				endNS := testStartNS + (first+int64(tt.chunk))*1e9/int64(tt.rate)
				// Nothing arrives before its last frame is captured.
				clock.Set(endNS - 1)
				select {
				case s := <-q.C():
					t.Fatalf("chunk %d arrived at %d, before its end %d", s.SampleMeta().Seq, clock.Now(), endNS)
				default:
				}
				clock.Set(endNS + 7)
				c, ok := recv(t, q).(*av.AudioChunk)
				if !ok {
					t.Fatal("Run sent a sample that is not a *av.AudioChunk")
				}
				want := av.Meta{Stream: "mic0", Seq: k, CaptureNS: captureNS, ArrivalNS: endNS + 7}
				if c.Meta != want || c.FirstFrame != first || c.RateHz != tt.rate || c.Channels != 2 || c.Frames() != tt.chunk {
					t.Fatalf("chunk %d = %+v first %d rate %d ch %d frames %d; want %+v first %d", k,
						c.Meta, c.FirstFrame, c.RateHz, c.Channels, c.Frames(), want, first)
				}
				if d := c.EndNS() - endNS; d < -1 || d > 1 {
					t.Fatalf("chunk %d EndNS = %d, want %d (±1 for rounding)", k, c.EndNS(), endNS)
				}
				if !slices.Equal(c.Data, fill(a, first, tt.chunk)) {
					t.Fatalf("chunk %d samples differ from Fill", k)
				}
				c.Release()
			}
			if err := wait(); err != nil {
				t.Fatalf("Run = %v after %d chunks, want nil", err, tt.chunks)
			}
			if q.Len() != 0 {
				t.Errorf("Run sent %d chunks beyond Chunks", q.Len())
			}
		})
	}
}

func TestAudioRunStopsOnCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	tests := []struct {
		name   string
		policy av.Overflow
		ahead  int64
	}{
		{"waiting for the clock", av.Block, 0},
		{"blocked on a full queue", av.Block, 10e9},
		{"dropping into a full queue", av.DropOldest, 10e9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := av.NewVirtualClock(testStartNS)
			a, err := NewAudio(testAudioConfig(), clock)
			if err != nil {
				t.Fatal(err)
			}
			q := av.NewQueue[av.Sample]("mic0", 1, tt.policy, func(s av.Sample) { s.Release() })
			wait, cancel := start(t, func(ctx context.Context) error { return a.Run(ctx, q, testStartNS) })
			clock.Advance(20e6)
			recv(t, q).Release()
			clock.Advance(tt.ahead)
			cancel()
			if err := wait(); err != nil {
				t.Errorf("Run = %v on cancel, want nil", err)
			}
			for q.Len() > 0 {
				(<-q.C()).Release()
			}
		})
	}
}
