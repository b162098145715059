package fuse

import "math"

// VADConfig tunes the voice activity detector. Zero values take the
// defaults in brackets.
type VADConfig struct {
	// SNRThresholdDB is the sub-band SNR above the tracked noise floor a
	// frame needs to count as speech [6].
	SNRThresholdDB float64
	// MinLevelDBFS is the analysis frame's level below which nothing is
	// speech [-60].
	MinLevelDBFS float64
	// MaxFlatness and MaxTonality gate out noise and pure tones [0.3,
	// 0.95]; MinHarmonicity gates out unvoiced sound [0.7]; MinPeaks, the
	// spectral peaks within 20 dB of the strongest below 5 kHz, gates out
	// tones (one peak) and two-tone signals [3].
	MaxFlatness, MaxTonality, MinHarmonicity float64
	MinPeaks                                 int
	// InitNoiseDBFS is the noise floor the VAD assumes before it has
	// measured one: white noise at this RMS level [-60]. The floor then
	// follows the quietest recent sound.
	InitNoiseDBFS float64
	// HangoverNS keeps speech on after the last speech frame [80 ms: the
	// decisions' min_off adds to it; chosen on the validation split for
	// ends within 300 ms without flicker]. The end is then timed where
	// that frame's sound fell back to the noise floor (a weighted sub-band
	// SNR of 0 dB, as for onsets, RiseNS: a word's first and last sounds
	// stand under the speech threshold), at most HangoverNS after it.
	HangoverNS int64
	// Unvoiced speech (fricatives, the consonant before a vowel, breath
	// between words) has no pitch. A frame at least UnvoicedSNRDB above
	// the speech threshold, with the spectral shape of speech and a
	// harmonicity below MaxUnvoicedHarmonicity, is unvoiced speech [3 dB,
	// 0.35]. OnsetHops of them in a row start speech before its first
	// vowel [3]; a voiced frame must follow within ConfirmNS of the onset
	// or speech ends there [250 ms]. Within speech, unvoiced frames hold
	// it on for at most MaxUnvoicedNS after the last voiced frame [1 s].
	UnvoicedSNRDB, MaxUnvoicedHarmonicity float64
	OnsetHops                             int
	ConfirmNS, MaxUnvoicedNS              int64
	// A frame OnsetSNRDB above the speech threshold and shaped like
	// speech (the flatness, tonality and peak gates) starts speech at
	// once: a word's first sound stands out of the floor before its vowel
	// has a pitch. Such loud frames start and hold speech as unvoiced
	// ones do, unconfirmed until a voiced frame follows within ConfirmNS
	// [6 dB: chosen on the real-media validation split, BENCHMARKS.md
	// "Timing speech at the VAD"].
	OnsetSNRDB float64
	// An onset is timed where its sound rose out of the noise floor: at
	// the first of the frames above the floor (a weighted sub-band SNR
	// over 0 dB) that led up to it, at most RiseNS before the frame that
	// started speech [100 ms, a consonant's length: chosen on the
	// real-media validation split].
	RiseNS int64
	// ToneTonality: a frame at least this tonal is a pure tone, no
	// voice [0.99]; a voice's murmur (a nasal at 60 Hz) reaches 0.98.
	ToneTonality float64
	// An unvoiced or loud sound that no voice confirmed (a rustle, a
	// clatter) bars unvoiced and loud onsets, and its frames are no
	// evidence of speech, until it pauses for UnlockNS [100 ms].
	UnlockNS int64
}

func (c *VADConfig) defaults() {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.SNRThresholdDB, 6)
	def(&c.MinLevelDBFS, -60)
	def(&c.InitNoiseDBFS, -60)
	def(&c.MaxFlatness, 0.3)
	def(&c.MaxTonality, 0.95)
	def(&c.ToneTonality, 0.99)
	if c.MinPeaks == 0 {
		c.MinPeaks = 3
	}
	def(&c.MinHarmonicity, 0.7)
	if c.HangoverNS == 0 {
		c.HangoverNS = 80e6
	}
	def(&c.UnvoicedSNRDB, 3)
	def(&c.OnsetSNRDB, 6)
	def(&c.MaxUnvoicedHarmonicity, 0.35)
	if c.OnsetHops == 0 {
		c.OnsetHops = 3
	}
	if c.ConfirmNS == 0 {
		c.ConfirmNS = 250e6
	}
	if c.MaxUnvoicedNS == 0 {
		c.MaxUnvoicedNS = 1e9
	}
	if c.UnlockNS == 0 {
		c.UnlockNS = 100e6
	}
	if c.RiseNS == 0 {
		c.RiseNS = 100e6
	}
}

// vadBands are the sub-bands, in Hz, whose energy the VAD tracks (the
// WebRTC VAD's split of the telephone band), and the weight of each in the
// frame score.
var vadBands = [...]struct{ lo, hi, weight float64 }{
	{80, 250, 0.6},
	{250, 500, 1},
	{500, 1000, 1},
	{1000, 2000, 1},
	{2000, 3000, 0.8},
	{3000, 4000, 0.6},
}

const numVADBands = len(vadBands)

// VAD is a voice activity detector in the spirit of WebRTC's: the energy of
// six sub-bands against a noise floor tracked per band (fast down, slow up),
// scored as a weighted SNR, and gated by harmonicity, spectral flatness and
// tonality, so that white noise (flat, aperiodic) and a pure tone (one
// spectral peak) are not speech however loud they are. Speech starts after
// two consecutive voiced frames, or after OnsetHops unvoiced ones (a
// consonant before the first vowel) or one frame standing OnsetSNRDB out
// of the floor, either of which a voiced frame then confirms within
// ConfirmNS; unvoiced frames hold it through fricatives and
// breaths, and it ends a hangover after the last speech frame. An
// unvoiced or loud sound that no voice confirmed (a rustle, a clatter) is locked
// out until it pauses for UnlockNS, and a loud pure tone (a chime) scores
// against speech as strongly as it is loud, so that neither reads as
// speech downstream. The noise floor starts at the stream's first frame.
type VAD struct {
	cfg VADConfig
	// Noise floor steps per frame: down, up, and up while speech is on.
	down, up, upSpeech float64
	lo, hi             [numVADBands]int // bin ranges
	noise              [numVADBands]float64
	// initNoise is where the floor starts: white noise at InitNoiseDBFS.
	initNoise [numVADBands]float64
	init      bool
	// voicedRun and run count consecutive voiced and speech (voiced or
	// unvoiced) frames.
	voicedRun, run int
	speech         bool
	// confirmed: a voiced frame since the onset at onsetNS. lastNS is
	// the last speech frame, lastVoicedNS the last voiced one,
	// lastSoundNS the last voiced, unvoiced or loud one. locked bars
	// unvoiced and loud onsets until a pause of UnlockNS.
	confirmed, locked                          bool
	onsetNS, lastNS, lastVoicedNS, lastSoundNS int64
	// floorNS is the first frame of the run above the noise floor that
	// the last frame belongs to (0: it was not above). fallNS, while
	// speech is on, is the last frame of the run above the floor that
	// the last speech frame belongs to. atNS is where the current speech
	// began, or where the last one ended (VADFrame.AtNS): where its sound
	// fell back to the floor, not where the hangover ran out.
	floorNS, fallNS, atNS int64
	score                 float64
	haveAny               bool
}

// Noise floor time constants: it follows a drop within noiseDownNS, a
// rise within noiseUpNS, and while speech is on within noiseUpSpeechNS.
const (
	noiseDownNS     = 30e6
	noiseUpNS       = 1.5e9
	noiseUpSpeechNS = 8e9
)

// newVAD returns a VAD for power spectra of fftSize at rateHz, one frame
// every hopNS.
func newVAD(cfg VADConfig, fftSize, rateHz int, hopNS int64) *VAD {
	cfg.defaults()
	step := func(tauNS float64) float64 { return 1 - math.Exp(-float64(hopNS)/tauNS) }
	v := &VAD{cfg: cfg, down: step(noiseDownNS), up: step(noiseUpNS), upSpeech: step(noiseUpSpeechNS)}
	binHz := float64(rateHz) / float64(fftSize)
	bins := fftSize/2 + 1
	for i, b := range vadBands {
		v.lo[i] = min(bins, int(math.Ceil(b.lo/binHz)))
		v.hi[i] = min(bins, int(math.Ceil(b.hi/binHz)))
		// White noise of variance σ² puts σ²·Σw² = σ²·3n/8 (periodic
		// Hann) into each bin of the power spectrum.
		perBin := math.Pow(10, cfg.InitNoiseDBFS/10) * 3 * float64(fftSize) / 8
		v.initNoise[i] = 10 * math.Log10(perBin*float64(v.hi[i]-v.lo[i])+1e-12)
	}
	return v
}

// vadInput is what the VAD weighs for one analysis frame.
type vadInput struct {
	timeNS                            int64
	power                             []float32
	levelDBFS                         float64
	flatness, tonality, harmonicity   float64
	haveShape, haveHarmonicity, voice bool // voice: a pitch was found
	peaks                             int  // spectral peaks within 20 dB of the strongest
}

// update weighs one frame and returns whether speech is on and the frame's
// smoothed score (> 0 leans speech).
func (v *VAD) update(in vadInput) (bool, float64) {
	var e [numVADBands]float64
	for i := range e {
		var s float64
		for _, p := range in.power[v.lo[i]:v.hi[i]] {
			s += float64(p)
		}
		e[i] = 10 * math.Log10(s+1e-12)
	}
	if !v.init {
		// The floor starts at the first frame's level (a stream starts
		// in its own background noise; one that starts in speech finds
		// its floor at the first pause), not below InitNoiseDBFS.
		for i := range e {
			v.noise[i] = max(v.initNoise[i], e[i])
		}
		v.init = true
	}
	var sum, wsum float64
	for i, b := range vadBands {
		sum += b.weight * min(e[i]-v.noise[i], 30)
		wsum += b.weight
	}
	snr := sum / wsum // weighted sub-band SNR over the floor
	score := snr - v.cfg.SNRThresholdDB
	switch {
	case snr <= 0:
		v.floorNS = 0
	case v.floorNS == 0:
		v.floorNS = in.timeNS
	}
	// Noise floor: follows drops quickly, rises slowly, and more slowly
	// still while speech is on.
	up := v.up
	if v.speech {
		up = v.upSpeech
	}
	for i := range e {
		if e[i] < v.noise[i] {
			v.noise[i] += v.down * (e[i] - v.noise[i])
		} else {
			v.noise[i] += up * (e[i] - v.noise[i])
		}
	}
	c := &v.cfg
	shaped := in.levelDBFS >= c.MinLevelDBFS && in.haveShape && in.haveHarmonicity &&
		in.flatness <= c.MaxFlatness && in.tonality <= c.MaxTonality && in.peaks >= c.MinPeaks
	voiced := shaped && score > 0 && in.voice && in.harmonicity >= c.MinHarmonicity
	unvoiced := shaped && !voiced && score > c.UnvoicedSNRDB && in.harmonicity < c.MaxUnvoicedHarmonicity
	// A sound shaped like speech standing well out of the floor: a
	// word's first sound, before its vowel has a pitch.
	loud := shaped && !voiced && !unvoiced && score > c.OnsetSNRDB
	t := in.timeNS
	if !voiced && !unvoiced && !loud && v.locked && t-v.lastSoundNS >= c.UnlockNS {
		v.locked = false
	}
	if voiced || unvoiced || loud {
		v.lastSoundNS = t
	}
	if v.locked && !v.speech {
		unvoiced, loud = false, false // the unconfirmed sound goes on
	}
	// A sound above the floor with a pure tone's spectrum (a chime, a
	// beep) is evidence against speech as strong as it is loud.
	tonal := in.levelDBFS >= c.MinLevelDBFS && in.haveShape && in.tonality >= c.ToneTonality
	switch {
	case voiced:
	case unvoiced, loud:
		score = min(score, 2) // speech, but weaker evidence than a voice
	case tonal && score > 1:
		score = -score
	default:
		score = min(score, -1)
	}
	score = min(max(score, -10), 10)
	if v.haveAny {
		v.score = 0.5*v.score + 0.5*score
	} else {
		v.score, v.haveAny = score, true
	}
	if voiced {
		v.voicedRun++
	} else {
		v.voicedRun = 0
	}
	if voiced || unvoiced {
		v.run++
	} else {
		v.run = 0
	}
	if !v.speech {
		switch {
		case v.voicedRun >= 2:
			v.speech, v.confirmed, v.onsetNS = true, true, t
		case (v.run >= c.OnsetHops || loud) && !v.locked:
			v.speech, v.confirmed, v.onsetNS = true, false, t
		}
		if v.speech {
			v.atNS = t
			if v.floorNS > 0 {
				v.atNS = max(v.floorNS, t-c.RiseNS)
			}
			v.lastNS = t
			if voiced {
				v.lastVoicedNS = t
			}
		}
	} else {
		v.hold(t, voiced, unvoiced, loud)
	}
	return v.speech, v.score
}

// hold decides whether speech that is on stays on.
func (v *VAD) hold(t int64, voiced, unvoiced, loud bool) {
	c := &v.cfg
	if v.floorNS != 0 && v.floorNS <= v.lastNS {
		v.fallNS = t // the last speech frame's sound has not yet faded
	}
	switch {
	case voiced:
		v.confirmed, v.lastNS, v.lastVoicedNS = true, t, t
	case !v.confirmed && t-v.onsetNS > c.ConfirmNS:
		// No voice followed the unvoiced onset: not speech, and no
		// new unvoiced onset until this sound pauses.
		v.speech, v.locked, v.run, v.atNS = false, true, 0, max(v.lastNS, v.fallNS)
	case (unvoiced || loud) && (!v.confirmed || t-v.lastVoicedNS <= c.MaxUnvoicedNS):
		v.lastNS = t
	case t-v.lastNS > c.HangoverNS:
		// Ended while a sound goes on that is not a voice (past
		// MaxUnvoicedNS, or never confirmed): no unvoiced or loud onset
		// until it pauses.
		v.speech, v.locked, v.atNS = false, unvoiced || loud, max(v.lastNS, v.fallNS)
	}
}
