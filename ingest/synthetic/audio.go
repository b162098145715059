package synthetic

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// AudioEvent is one scheduled sound of a synthetic microphone.
type AudioEvent struct {
	// Kind is "tone", "noise" or "speech".
	Kind string
	// At is the event's start from the stream's start, or from the start of
	// each period when the schedule repeats.
	At       time.Duration
	Duration time.Duration
	// FreqHz is a tone's frequency, or speech's fundamental f0 (0 means
	// 140 Hz). Noise ignores it.
	FreqHz float64
	// LevelDBFS is the event's peak level, at most 0.
	LevelDBFS float64
}

// Event kinds.
const (
	KindTone   = "tone"
	KindNoise  = "noise"
	KindSpeech = "speech"
)

// AudioConfig configures a synthetic microphone.
type AudioConfig struct {
	Stream      av.StreamID
	RateHz      int // > 0
	Channels    int // 1..8
	ChunkFrames int // audio frames per chunk, > 0
	Seed        uint64
	// Chunks stops Run after this many chunks; 0 runs until ctx ends.
	Chunks int
	// NoiseDBFS is the RMS level of each channel's independent background
	// noise. At or below NoiseOffDBFS there is none.
	NoiseDBFS float64
	// ChannelDelay makes channel c hear the source c×ChannelDelay later,
	// rounded to whole frames; it may be negative. It simulates a direction.
	ChannelDelay time.Duration
	// Period repeats the event schedule; 0 plays it once.
	Period time.Duration
	Events []AudioEvent
}

const (
	// NoiseOffDBFS and below turn the background noise off.
	NoiseOffDBFS = -120
	maxChannels  = 8
	defaultF0Hz  = 140
	rampSeconds  = 0.005 // attack and release, so events start without a click

	// Speech-like signal: a harmonic series whose pitch drifts slowly, shaped
	// by three formants and chopped into syllables.
	syllableHz     = 4.0
	voicedFraction = 0.7 // of each syllable; the rest is a gap
	pitchDepth     = 0.15
	pitchHz        = 0.6
	maxHarmonicHz  = 5000.0 // formant weights are negligible above this
	maxHarmonics   = 48
	// aliasGuard keeps the highest harmonic, at the top of the pitch
	// swing, below this fraction of the sample rate.
	aliasGuard = 0.45
)

var formants = [...]struct{ hz, bwHz, gain float64 }{
	{500, 120, 1.0},
	{1500, 150, 0.6},
	{2500, 200, 0.35},
}

// formantWeight is the spectral envelope of speech at f: a falling glottal
// tilt plus three resonances.
func formantWeight(f float64) float64 {
	w := 0.25 * math.Exp(-f/1000)
	for _, fm := range formants {
		d := (f - fm.hz) / fm.bwHz
		w += fm.gain * math.Exp(-0.5*d*d)
	}
	return w
}

type eventKind uint8

const (
	evTone eventKind = iota
	evNoise
	evSpeech
)

// event is an AudioEvent compiled to frames.
type event struct {
	kind          eventKind
	name          string
	start, length int64 // frames, within the period
	ramp          int64 // frames of attack and of release
	amp           float64
	omega         float64   // tone: radians per frame; speech: of f0
	weights       []float64 // speech: harmonic amplitudes, for a peak of 1
	key           uint64    // noise: hash key
}

// Audio is a deterministic synthetic microphone. Fill, ActiveAt and
// DelayFrames are pure and safe for concurrent use; Run is called once.
type Audio struct {
	cfg      AudioConfig
	clock    av.Clock
	pool     *av.AudioPool
	rate     float64
	period   int64 // frames; 0: plays once
	events   []event
	delays   []int64 // frames, per channel
	noiseAmp float64 // peak of the uniform background noise; 0: none
	noiseKey []uint64
}

// NewAudio validates cfg and returns the source.
func NewAudio(cfg AudioConfig, clock av.Clock) (*Audio, error) {
	if err := validateAudio(&cfg); err != nil {
		return nil, err
	}
	a := &Audio{
		cfg:   cfg,
		clock: clock,
		pool:  av.NewAudioPool(cfg.RateHz, cfg.Channels, cfg.ChunkFrames, poolCapacity),
		rate:  float64(cfg.RateHz),
	}
	a.period = durToFrames(cfg.Period, cfg.RateHz)
	for c := range cfg.Channels {
		d := float64(c) * cfg.ChannelDelay.Seconds() * a.rate
		a.delays = append(a.delays, int64(math.Round(d)))
		a.noiseKey = append(a.noiseKey, subKey(subKey(cfg.Seed, saltAudioNoise), uint64(c)))
	}
	if cfg.NoiseDBFS > NoiseOffDBFS {
		// Uniform noise on [-p, p] has an RMS of p/√3.
		a.noiseAmp = math.Sqrt(3) * dbToAmp(cfg.NoiseDBFS)
	}
	ramp := int64(math.Round(rampSeconds * a.rate))
	for i, ev := range cfg.Events {
		start := durToFrames(ev.At, cfg.RateHz)
		e := event{
			name:   ev.Kind,
			start:  start,
			length: durToFrames(ev.At+ev.Duration, cfg.RateHz) - start,
			amp:    dbToAmp(ev.LevelDBFS),
			key:    subKey(subKey(cfg.Seed, saltAudioEvent), uint64(i)),
		}
		e.ramp = min(ramp, e.length/2)
		switch ev.Kind {
		case KindTone:
			e.kind = evTone
			e.omega = 2 * math.Pi * ev.FreqHz / a.rate
		case KindNoise:
			e.kind = evNoise
		case KindSpeech:
			e.kind = evSpeech
			e.omega = 2 * math.Pi * ev.FreqHz / a.rate
			n := min(int(maxF0(cfg.RateHz)/ev.FreqHz), maxHarmonics)
			for h := 1; h <= n; h++ {
				e.weights = append(e.weights, formantWeight(float64(h)*ev.FreqHz))
			}
			// Every harmonic's phase is an exact multiple of the
			// fundamental's, so the waveform over one cycle never changes
			// shape and its peak, found once here, is the event's peak.
			peak := harmonicPeak(e.weights)
			for h := range e.weights {
				e.weights[h] /= peak
			}
		}
		a.events = append(a.events, e)
	}
	return a, nil
}

func validateAudio(cfg *AudioConfig) error {
	switch {
	case cfg.Stream == "":
		return fieldErr("stream", "must be set")
	case cfg.RateHz <= 0:
		return fieldErr("rate_hz", "must be positive, got %d", cfg.RateHz)
	case cfg.Channels < 1 || cfg.Channels > maxChannels:
		return fieldErr("channels", "must be between 1 and %d, got %d", maxChannels, cfg.Channels)
	case cfg.ChunkFrames <= 0:
		return fieldErr("chunk_frames", "must be positive, got %d", cfg.ChunkFrames)
	case cfg.Chunks < 0:
		return fieldErr("chunks", "must not be negative, got %d", cfg.Chunks)
	case math.IsNaN(cfg.NoiseDBFS) || cfg.NoiseDBFS > 0:
		return fieldErr("noise_dbfs", "must be at most 0 (%d or less: no noise), got %v", NoiseOffDBFS, cfg.NoiseDBFS)
	case cfg.Period < 0:
		return fieldErr("period", "must not be negative, got %v", cfg.Period)
	}
	cfg.Events = slices.Clone(cfg.Events)
	nyquist := float64(cfg.RateHz) / 2
	for i := range cfg.Events {
		ev := &cfg.Events[i]
		field := func(name string) string { return fmt.Sprintf("events[%d].%s", i, name) }
		switch ev.Kind {
		case KindTone:
			if !(ev.FreqHz > 0 && ev.FreqHz < nyquist) {
				return fieldErr(field("freq_hz"), "a tone needs 0 < freq_hz < %v (half of rate_hz), got %v", nyquist, ev.FreqHz)
			}
		case KindSpeech:
			if ev.FreqHz == 0 {
				ev.FreqHz = defaultF0Hz
			}
			if limit := maxF0(cfg.RateHz); !(ev.FreqHz > 0 && ev.FreqHz < limit) {
				return fieldErr(field("freq_hz"), "speech needs 0 < f0 < %.0f Hz at rate_hz %d (0: %d), got %v", limit, cfg.RateHz, defaultF0Hz, ev.FreqHz)
			}
		case KindNoise:
		default:
			return fieldErr(field("kind"), "must be %q, %q or %q, got %q", KindTone, KindNoise, KindSpeech, ev.Kind)
		}
		switch {
		case ev.At < 0:
			return fieldErr(field("at"), "must not be negative, got %v", ev.At)
		case ev.Duration <= 0:
			return fieldErr(field("duration"), "must be positive, got %v", ev.Duration)
		case durToFrames(ev.At+ev.Duration, cfg.RateHz) == durToFrames(ev.At, cfg.RateHz):
			return fieldErr(field("duration"), "%v is shorter than one frame at %d Hz", ev.Duration, cfg.RateHz)
		case cfg.Period > 0 && ev.At+ev.Duration > cfg.Period:
			return fieldErr(field("duration"), "at %v + duration %v overflows period %v", ev.At, ev.Duration, cfg.Period)
		case math.IsNaN(ev.LevelDBFS) || math.IsInf(ev.LevelDBFS, 0) || ev.LevelDBFS > 0:
			return fieldErr(field("level_dbfs"), "must be finite and at most 0, got %v", ev.LevelDBFS)
		}
	}
	return nil
}

// maxF0 is the highest f0 (exclusive) whose own harmonic, at the top of the
// pitch swing, stays below both the alias guard and maxHarmonicHz; dividing
// it by f0 counts the harmonics a speech event gets.
func maxF0(rateHz int) float64 {
	return min(maxHarmonicHz, aliasGuard*float64(rateHz)) / (1 + pitchDepth)
}

// durToFrames converts a non-negative duration to frames at rateHz, rounded
// to the nearest frame, without overflow for any duration.
func durToFrames(d time.Duration, rateHz int) int64 {
	s, ns := int64(d)/1e9, int64(d)%1e9
	return s*int64(rateHz) + (ns*int64(rateHz)+5e8)/1e9
}

func dbToAmp(db float64) float64 { return math.Pow(10, db/20) }

// Config returns the source's configuration with its defaults applied.
func (a *Audio) Config() AudioConfig {
	cfg := a.cfg
	cfg.Events = slices.Clone(cfg.Events)
	return cfg
}

// DelayFrames returns the ground-truth delay of channel c behind the source,
// in frames: round(c × ChannelDelay × RateHz).
func (a *Audio) DelayFrames(c int) int64 { return a.delays[c] }

// ActiveAt returns the ground truth at stream time t: the kind of the first
// scheduled event (in Events order) playing in the frame that contains t, as
// the undelayed source plays it. Speech counts as active through the gaps
// between its syllables.
func (a *Audio) ActiveAt(t time.Duration) (kind string, active bool) {
	if t < 0 {
		return "", false
	}
	pos := a.periodPos(av.NSToFrames(int64(t), a.cfg.RateHz))
	for i := range a.events {
		if e := &a.events[i]; pos >= e.start && pos < e.start+e.length {
			return e.name, true
		}
	}
	return "", false
}

func (a *Audio) periodPos(k int64) int64 {
	if a.period > 0 {
		return k % a.period
	}
	return k
}

// Fill writes len(data)/Channels interleaved frames, starting at stream frame
// firstFrame, into data, whose length must be a multiple of Channels. It is
// a pure function of the config and the frame indices: filling a range in
// pieces gives exactly the samples of filling it at once. Samples lie on the
// 16-bit grid (av.QuantizeS16). It allocates nothing.
func (a *Audio) Fill(firstFrame int64, data []float32) {
	ch := a.cfg.Channels
	if len(data)%ch != 0 {
		panic(fmt.Sprintf("synthetic: Fill needs whole frames of %d channels, got %d samples", ch, len(data)))
	}
	for i := range len(data) / ch {
		k := firstFrame + int64(i)
		frame := data[i*ch : i*ch+ch : i*ch+ch]
		for c := range frame {
			v := a.source(k - a.delays[c])
			if a.noiseAmp > 0 {
				v += a.noiseAmp * signedUnit(hashAt(a.noiseKey[c], k))
			}
			// On the 16-bit grid, as a microphone delivers: recordings in
			// pcm-s16 then replay bit-exactly.
			frame[c] = av.QuantizeS16(float32(min(max(v, -1), 1)))
		}
	}
}

// source returns the undelayed source signal at frame k: the sum of the
// events playing then. Nothing plays before the stream starts.
func (a *Audio) source(k int64) float64 {
	if k < 0 {
		return 0
	}
	pos := a.periodPos(k)
	var s float64
	for i := range a.events {
		e := &a.events[i]
		j := pos - e.start
		if j < 0 || j >= e.length {
			continue
		}
		s += e.amp * e.envelope(j) * a.eventSample(e, j, k)
	}
	return s
}

// envelope is the raised-cosine attack and release at local frame j.
func (e *event) envelope(j int64) float64 {
	edge := min(j, e.length-1-j)
	if edge >= e.ramp {
		return 1
	}
	return 0.5 - 0.5*math.Cos(math.Pi*float64(edge)/float64(e.ramp))
}

// harmonicPeak returns the largest |Σ w[h-1]·sin(hθ)| over a cycle, on a
// grid fine enough for the highest harmonic.
func harmonicPeak(weights []float64) float64 {
	const steps = 8192
	var peak float64
	for i := range steps {
		var sum float64
		for h, w := range weights {
			sum += w * math.Sin(2*math.Pi*float64((h+1)*i)/steps)
		}
		peak = max(peak, math.Abs(sum))
	}
	return peak
}

// eventSample is event e's unit-peak signal at local frame j (absolute frame
// k). Tone and speech restart their phase at each repetition, so every
// repetition is the same; a noise burst hashes k, so each is new noise.
func (a *Audio) eventSample(e *event, j, k int64) float64 {
	switch e.kind {
	case evTone:
		return math.Sin(e.omega * float64(j))
	case evNoise:
		return signedUnit(hashAt(e.key, k))
	}
	t := float64(j) / a.rate
	p := t * syllableHz
	p -= math.Floor(p)
	if p >= voicedFraction {
		return 0
	}
	gate := math.Sin(math.Pi * p / voicedFraction)
	// f0(t) = f0·(1 + depth·sin(2π·pitchHz·t)), integrated in closed form so
	// that the phase, and so the sample, depends on j alone.
	w := 2 * math.Pi * pitchHz
	phase := e.omega * a.rate * (t + pitchDepth/w*(1-math.Cos(w*t)))
	s1, c1 := math.Sincos(phase)
	// sin(hθ) by the Chebyshev recurrence: one Sincos for all harmonics.
	sum := e.weights[0] * s1
	prev, cur, twoCos := 0.0, s1, 2*c1
	for _, wh := range e.weights[1:] {
		prev, cur = cur, twoCos*cur-prev
		sum += wh * cur
	}
	return gate * gate * sum
}

// Run fills chunks and sends them to out when their last frame has been
// captured, by the clock: chunk k holds frames [k·ChunkFrames,
// (k+1)·ChunkFrames), captured from startNS + FramesToNS(k·ChunkFrames). It
// returns nil after cfg.Chunks chunks or when ctx ends, and does not close
// out.
func (a *Audio) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	n, rate := int64(a.cfg.ChunkFrames), a.cfg.RateHz
	for k := uint64(0); a.cfg.Chunks == 0 || k < uint64(a.cfg.Chunks); k++ {
		first := int64(k) * n
		if err := a.clock.WaitUntil(ctx, startNS+av.FramesToNS(first+n, rate)); err != nil {
			return stopErr(ctx, err)
		}
		c := a.pool.Get()
		a.Fill(first, c.Data)
		c.Stream, c.Seq, c.FirstFrame = a.cfg.Stream, k, first
		c.CaptureNS = startNS + av.FramesToNS(first, rate)
		c.ArrivalNS = a.clock.Now()
		if err := out.Send(ctx, c); err != nil {
			c.Release()
			return stopErr(ctx, err)
		}
	}
	return nil
}
