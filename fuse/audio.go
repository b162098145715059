package fuse

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"gorgonia.org/tensor"
)

// AudioConfig configures AudioFeatures. Zero values take the defaults in
// brackets.
type AudioConfig struct {
	RateHz   int // the configured rate; audio at another rate gets level features only
	Channels int // the configured channel count
	// FFTSize is the analysis frame, a power of two [the smallest ≥ 30 ms].
	FFTSize  int
	MelBands int // [40]
	MFCCs    int // [13], at most MelBands
	// MelLowHz and MelHighHz bound the mel filterbank [20, RateHz/2].
	MelLowHz, MelHighHz float64
	// MinCoverage is the fraction of a slice that must be real audio [0.5].
	MinCoverage float64
	// OnsetDeltaDB is how far the flux must rise above its median of the
	// last OnsetHistory bundles [3 dB, 15]; OnsetGapNS the refractory gap
	// between onsets [100 ms].
	OnsetDeltaDB float64
	OnsetHistory int
	OnsetGapNS   int64
	// HopNS is the step of the voice activity detector: it decides on
	// every HopNS of audio, each time over the FFTSize frames up to there,
	// whatever the bundle rate [10 ms].
	HopNS int64
	VAD   VADConfig
	// DOA is the microphone array; no Mics, no bearing.
	DOA DOAConfig
}

// AudioFeature names one scalar or vector audio feature, for Has.
type AudioFeature uint8

// Audio features.
const (
	FeatRMS AudioFeature = iota
	FeatRMSDBFS
	FeatZCR
	FeatClipFraction
	FeatCentroid
	FeatFlatness
	FeatTonality
	FeatFlux
	FeatOnset
	FeatLogMel
	FeatMFCC
	FeatPitch
	FeatHarmonicity
	FeatSpeech
	FeatBearing
	numAudioFeatures
)

// AudioValues are one bundle's audio features. A feature is valid only when
// Has reports it; the others hold zero and mean nothing.
type AudioValues struct {
	TimeNS                         int64
	RMS, RMSDBFS, ZCR, ClipFrac    float64
	CentroidHz, Flatness, Tonality float64
	FluxDB                         float64
	Onset                          bool
	PitchHz, Harmonicity           float64
	Speech                         bool
	VADScore                       float64
	// VADFrames are the voice activity detector's decisions on the audio
	// that is new in this bundle, one per HopNS, oldest first; Speech and
	// VADScore are the last one's. They alias the extractor's buffer until
	// the next Push.
	VADFrames                 []VADFrame
	BearingDeg, BearingStdDeg float64
	// LogMel and MFCC alias the extractor's buffers until the next Push.
	LogMel, MFCC []float32

	present uint32
}

// VADFrame is one decision of the voice activity detector: on the audio
// up to EndNS (capture time just after its last frame).
type VADFrame struct {
	EndNS  int64
	Speech bool // with hangover
	Turned bool // Speech differs from the frame before
	// AtNS, on a frame that turned speech on or off, is when that speech
	// began (where its sound rose out of the noise floor, VADConfig.RiseNS)
	// or ended (where its last speech frame's sound fell back to the
	// floor, VADConfig.HangoverNS: the hangover only waits to be sure).
	AtNS  int64
	Score float64 // smoothed score, > 0 leans speech
}

// Has reports whether f could be computed for this bundle.
func (v *AudioValues) Has(f AudioFeature) bool { return v.present&(1<<f) != 0 }

func (v *AudioValues) set(f AudioFeature) { v.present |= 1 << f }

// Evidence adds the scalar features present to ev, under the names of
// FeatureTable; missing ones are left out.
func (v *AudioValues) Evidence(ev map[string]float64) {
	add := func(f AudioFeature, name string, x float64) {
		if v.Has(f) {
			ev[name] = x
		}
	}
	b := func(x bool) float64 {
		if x {
			return 1
		}
		return 0
	}
	add(FeatRMS, "audio_rms", v.RMS)
	add(FeatRMSDBFS, "audio_rms_dbfs", v.RMSDBFS)
	add(FeatZCR, "audio_zcr", v.ZCR)
	add(FeatClipFraction, "audio_clip_fraction", v.ClipFrac)
	add(FeatCentroid, "audio_centroid_hz", v.CentroidHz)
	add(FeatFlatness, "audio_flatness", v.Flatness)
	add(FeatTonality, "audio_tonality", v.Tonality)
	add(FeatFlux, "audio_flux_db", v.FluxDB)
	add(FeatOnset, "audio_onset", b(v.Onset))
	add(FeatPitch, "audio_pitch_hz", v.PitchHz)
	add(FeatHarmonicity, "audio_harmonicity", v.Harmonicity)
	add(FeatSpeech, "vad_speech", b(v.Speech))
	add(FeatSpeech, "vad_score", v.VADScore)
	add(FeatBearing, "doa_bearing_deg", v.BearingDeg)
	add(FeatBearing, "doa_bearing_std_deg", v.BearingStdDeg)
}

// AudioCounters count the bad input AudioFeatures met. Each bundle adds to
// at most one of Missing, RateMismatch, LowCoverage, TooManyNonFinite; the
// others count per bundle alongside.
type AudioCounters struct {
	Bundles          uint64 // bundles pushed
	Missing          uint64 // no audio at all
	OddSize          uint64 // data not a whole number of frames
	RateMismatch     uint64 // not the configured rate: level features only
	ChannelMismatch  uint64 // not the configured channel count
	NoBearing        uint64 // too few channels for the configured array
	LowCoverage      uint64 // less real audio than MinCoverage
	NonFinite        uint64 // NaN or ±Inf samples (zeroed)
	TooManyNonFinite uint64 // bundles with over 10% non-finite samples
	Clipped          uint64 // bundles with any clipped sample
	BackendErrors    uint64
}

// AudioFeatures computes per-bundle audio features: level, zero-crossing
// rate, clipping, spectral shape, log-mel and MFCC, onsets, pitch, voice
// activity and, with a microphone array, the direction of arrival. Power
// spectra, log-mel, MFCC (as a Dense layer) and GCC-PHAT run on the
// Backend. It allocates nothing per bundle once built (given a Backend that
// does not), and is not safe for concurrent use.
type AudioFeatures struct {
	cfg     AudioConfig
	be      Backend
	fftSize int
	bins    int

	window, frame, power []float32
	mel, prevMel         []float32
	havePrevMel          bool
	fb, dct              []float32
	mfcc                 []float32
	binHz                float64

	pitch *pitchTracker
	vad   *VAD
	// The VAD's hops: vframe and vpower are its analysis frame and
	// spectrum; hopPos is where the next hop ends, in frames from the
	// start (lastStartNS) of the last slice.
	hopFrames   int
	vadFrames   []VADFrame
	hopPos      int
	hops        []hopRow // the hops of the slice gather took
	nextHopPos  int      // hopPos once they are done
	lastStartNS int64
	haveHop     bool
	doa         *DOA
	// GCC rows: channel 0 repeated, and each other channel.
	gccA, gccB, gcc []float32

	// Tensors over the buffers above, built once, for the Backend.
	tWindow, tFrame, tPower, tMel, tFB, tDCT, tMFCC *tensor.Dense
	tGccA, tGccB, tGcc                              *tensor.Dense

	// The spectra rows of a slice: row 0 the analysis frame (frame and
	// power alias it), rows 1.. the VAD's hops; tensors per row count.
	rowsF, rowsP []float32
	byRows       map[int][2]*tensor.Dense
	work         TickWork // Push's own, of one microphone
	pend         pending
	gcc0         bool // the slice's GCC rows are in the work

	peaks        int // spectral peaks of the last analysis frame
	fluxHist     []float64
	fluxSorted   []float64
	fluxN, fluxI int
	lastOnsetNS  int64
	anyOnset     bool

	v AudioValues
	// Counters are the bad-input counts so far.
	Counters AudioCounters
}

// NewAudioFeatures validates cfg and builds the extractor on be.
func NewAudioFeatures(cfg AudioConfig, be Backend) (*AudioFeatures, error) {
	if cfg.RateHz < 8000 || cfg.RateHz > 384000 {
		return nil, fmt.Errorf("%w: audio features need a rate of 8000..384000 Hz, got %d", ErrConfig, cfg.RateHz)
	}
	if cfg.Channels < 1 {
		return nil, fmt.Errorf("%w: audio features need at least one channel, got %d", ErrConfig, cfg.Channels)
	}
	if cfg.FFTSize == 0 {
		need := cfg.RateHz * 30 / 1000
		cfg.FFTSize = 1 << bits.Len(uint(need-1))
	}
	if !isPow2(cfg.FFTSize) || cfg.FFTSize < 256 {
		return nil, fmt.Errorf("%w: fft size %d is not a power of two of at least 256", ErrConfig, cfg.FFTSize)
	}
	if cfg.MelBands == 0 {
		cfg.MelBands = 40
	}
	if cfg.MFCCs == 0 {
		cfg.MFCCs = 13
	}
	if cfg.MFCCs > cfg.MelBands || cfg.MelBands < 1 {
		return nil, fmt.Errorf("%w: %d MFCCs from %d mel bands", ErrConfig, cfg.MFCCs, cfg.MelBands)
	}
	if cfg.MelLowHz == 0 {
		cfg.MelLowHz = 20
	}
	if cfg.MelHighHz == 0 {
		cfg.MelHighHz = float64(cfg.RateHz) / 2
	}
	if !(cfg.MelLowHz >= 0 && cfg.MelLowHz < cfg.MelHighHz && cfg.MelHighHz <= float64(cfg.RateHz)/2) {
		return nil, fmt.Errorf("%w: mel range %v..%v Hz at %d Hz", ErrConfig, cfg.MelLowHz, cfg.MelHighHz, cfg.RateHz)
	}
	if cfg.MinCoverage == 0 {
		cfg.MinCoverage = 0.5
	}
	if cfg.OnsetDeltaDB == 0 {
		cfg.OnsetDeltaDB = 3
	}
	if cfg.OnsetHistory == 0 {
		cfg.OnsetHistory = 15
	}
	if cfg.OnsetGapNS == 0 {
		cfg.OnsetGapNS = 100e6
	}
	if cfg.HopNS == 0 {
		cfg.HopNS = 10e6
	}
	hop := int(av.NSToFrames(cfg.HopNS, cfg.RateHz))
	if hop < 1 || cfg.HopNS > 1e9 {
		return nil, fmt.Errorf("%w: VAD hop of %d ns at %d Hz", ErrConfig, cfg.HopNS, cfg.RateHz)
	}
	n := cfg.FFTSize
	a := &AudioFeatures{
		cfg: cfg, be: be, fftSize: n, bins: n/2 + 1,
		window:     HannWindow(n),
		rowsF:      make([]float32, 2*n),
		rowsP:      make([]float32, 2*(n/2+1)),
		byRows:     map[int][2]*tensor.Dense{},
		mel:        make([]float32, cfg.MelBands),
		prevMel:    make([]float32, cfg.MelBands),
		fb:         MelFilterbank(cfg.MelBands, n, cfg.RateHz, cfg.MelLowHz, cfg.MelHighHz),
		dct:        DCTMatrix(cfg.MelBands, cfg.MFCCs),
		mfcc:       make([]float32, cfg.MFCCs),
		binHz:      float64(cfg.RateHz) / float64(n),
		pitch:      newPitchTracker(cfg.RateHz, n),
		vad:        newVAD(cfg.VAD, n, cfg.RateHz, cfg.HopNS),
		hopFrames:  hop,
		vadFrames:  make([]VADFrame, 0, 64),
		fluxHist:   make([]float64, cfg.OnsetHistory),
		fluxSorted: make([]float64, cfg.OnsetHistory),
	}
	a.frame, a.power = a.rowsF[:n], a.rowsP[:a.bins]
	if len(cfg.DOA.Mics) > 0 {
		if len(cfg.DOA.Mics) > cfg.Channels {
			return nil, fmt.Errorf("%w: %d microphone positions for %d channels", ErrConfig, len(cfg.DOA.Mics), cfg.Channels)
		}
		d, err := newDOA(cfg.DOA, cfg.RateHz, n)
		if err != nil {
			return nil, err
		}
		a.doa = d
		a.gccA = make([]float32, d.pairs*n)
		a.gccB = make([]float32, d.pairs*n)
		a.gcc = make([]float32, d.pairs*d.lags)
		a.tGccA, a.tGccB = Matrix(d.pairs, n, a.gccA), Matrix(d.pairs, n, a.gccB)
		a.tGcc = Matrix(d.pairs, d.lags, a.gcc)
	}
	a.tWindow, a.tFrame, a.tPower = Vector(a.window), Matrix(1, n, a.frame), Matrix(1, a.bins, a.power)
	a.tMel, a.tFB = Matrix(1, cfg.MelBands, a.mel), Matrix(cfg.MelBands, a.bins, a.fb)
	a.tDCT, a.tMFCC = Matrix(cfg.MelBands, cfg.MFCCs, a.dct), Matrix(1, cfg.MFCCs, a.mfcc)
	// A backend that keeps constant tensors on its device (CUDA) keeps
	// the window, filterbank and DCT there: no upload per tick. Without
	// room, they go up with every call instead.
	if r, ok := be.(residentBackend); ok {
		for _, t := range []**tensor.Dense{&a.tWindow, &a.tFB, &a.tDCT} {
			if d, err := r.Resident(*t); err == nil {
				*t = d
			}
		}
	}
	return a, nil
}

// Config returns the configuration with its defaults applied.
func (a *AudioFeatures) Config() AudioConfig { return a.cfg }

// Push computes the features of one bundle's audio slice, aligned at
// timeNS. The result aliases the extractor's state until the next Push.
// Bad input is counted in Counters and leaves the features it spoils
// missing; Push never panics on any slice.
func (a *AudioFeatures) Push(timeNS int64, s *av.AudioSlice) *AudioValues {
	a.work.Audio = a.work.Audio[:0]
	if a.gather(timeNS, s, &a.work) {
		a.finish(a.be.Compute(&a.work))
	}
	return &a.v
}

// gather computes what needs no Backend and appends the Backend work of
// the slice to w: the analysis frame (row 0) and the VAD's new hops (rows
// 1..) for spectra, log-mel and MFCC of row 0, and the GCC-PHAT pairs of
// the microphones (computed whether or not the slice holds speech, so that
// they join the one call; only speech uses them). False when the slice
// needs no Backend work (the features are then final).
func (a *AudioFeatures) gather(timeNS int64, s *av.AudioSlice, w *TickWork) bool {
	v := &a.v
	*v = AudioValues{TimeNS: timeNS}
	a.Counters.Bundles++
	if s == nil || s.Data == nil || s.Channels < 1 || len(s.Data) < s.Channels {
		a.Counters.Missing++
		return false
	}
	ch := s.Channels
	frames := len(s.Data) / ch
	if len(s.Data)%ch != 0 {
		a.Counters.OddSize++
	}
	data := s.Data[:frames*ch]
	if ch != a.cfg.Channels {
		a.Counters.ChannelMismatch++
	}
	cov := float64(min(max(s.Covered, 0), frames)) / float64(frames)
	if cov < a.cfg.MinCoverage {
		a.Counters.LowCoverage++
		return false
	}

	// Time domain over the whole window: level, clipping, zero crossings
	// of the channel mix, non-finite samples.
	var sumSq float64
	var finite, nonFinite, clipped, crossings int
	prevNeg, havePrev := false, false
	inv := 1 / float32(ch)
	for i := range frames {
		var m float32
		for _, x := range data[i*ch : (i+1)*ch] {
			x, ok := clean(x)
			if !ok {
				nonFinite++
				continue
			}
			finite++
			sumSq += float64(x) * float64(x)
			if x >= 0.999 || x <= -0.999 {
				clipped++
			}
			m += x
		}
		m *= inv
		if m != 0 {
			neg := m < 0
			if havePrev && neg != prevNeg {
				crossings++
			}
			prevNeg, havePrev = neg, true
		}
	}
	if nonFinite > 0 {
		a.Counters.NonFinite += uint64(nonFinite)
		if nonFinite*10 > len(data) {
			a.Counters.TooManyNonFinite++
			return false
		}
	}
	if clipped > 0 {
		a.Counters.Clipped++
	}
	v.RMS = math.Sqrt(sumSq / float64(finite))
	v.RMSDBFS = dbfs(sumSq / float64(finite))
	v.ClipFrac = float64(clipped) / float64(finite)
	v.set(FeatRMS)
	v.set(FeatRMSDBFS)
	v.set(FeatClipFraction)
	if s.RateHz > 0 && frames > 1 {
		v.ZCR = float64(crossings) * float64(s.RateHz) / float64(frames-1)
		v.set(FeatZCR)
	}
	if s.RateHz != a.cfg.RateHz {
		a.Counters.RateMismatch++
		return false
	}

	// The analysis frame: the newest fftSize frames of the mix, zero-padded
	// at the front when the slice is shorter.
	n := min(frames, a.fftSize)
	pad := a.fftSize - n
	clear(a.frame[:pad])
	var frameSq float64
	src := data[(frames-n)*ch:]
	for i := range n {
		var m float32
		for _, x := range src[i*ch : (i+1)*ch] {
			x, _ = clean(x)
			m += x
		}
		m *= inv
		a.frame[pad+i] = m
		frameSq += float64(m) * float64(m)
	}
	a.pend = pending{timeNS: timeNS, startNS: s.StartNS, data: data, frames: frames, ch: ch, frameSq: frameSq}
	hops := a.gatherHops(s.StartNS, data, frames, ch)
	t := a.rowTensors(1 + hops)
	a.gcc0 = a.doa != nil && ch >= len(a.cfg.DOA.Mics)
	if a.gcc0 {
		a.gatherGCC(data, frames, ch)
	}
	w.Audio = append(w.Audio, AudioWork{Frames: t[0], Window: a.tWindow, Power: t[1],
		Filterbank: a.tFB, LogMel: a.tMel, DCT: a.tDCT, MFCC: a.tMFCC})
	if a.gcc0 {
		wa := &w.Audio[len(w.Audio)-1]
		wa.GCCA, wa.GCCB, wa.GCC, wa.MaxLag = a.tGccA, a.tGccB, a.tGcc, a.doa.maxLag
	}
	return true
}

// pending is what finish needs of the slice gather took.
type pending struct {
	timeNS, startNS int64
	data            []float32
	frames, ch      int
	frameSq         float64
}

// finish computes the features of the slice gather took from the Backend's
// results (err: the Backend failed, and the spectral features, the VAD and
// the bearing are missing), in the order the stateful parts need.
func (a *AudioFeatures) finish(err error) {
	v, p := &a.v, a.pend
	a.pend.data = nil
	if err != nil {
		a.Counters.BackendErrors++
		return
	}
	timeNS, frameSq := p.timeNS, p.frameSq
	v.set(FeatLogMel)
	v.LogMel = a.mel
	v.MFCC = a.mfcc
	v.set(FeatMFCC)
	a.flux(v)
	a.peaks = 0
	if frameSq > 0 {
		a.shape(v)
	}
	hz, harm, voiced, haveH := a.pitch.estimate(a.frame)
	if haveH {
		v.Harmonicity = harm
		v.set(FeatHarmonicity)
	}
	if voiced {
		v.PitchHz = hz
		v.set(FeatPitch)
	}
	a.runVAD(p.startNS)
	if a.vad.haveAny {
		v.Speech, v.VADScore, v.VADFrames = a.vad.speech, a.vad.score, a.vadFrames
		v.set(FeatSpeech)
	}
	a.bearing(v, timeNS, p.ch)
}

// gatherHops puts the analysis frame of every VAD hop of the slice (data,
// frames × ch, starting at startNS) it has not seen into rows 1.. of the
// spectra rows, and returns how many: hops lie on one grid of HopNS across
// slices, each analysed over the FFTSize frames up to its end. A slice that
// does not overlap the last one starts a new grid.
func (a *AudioFeatures) gatherHops(startNS int64, data []float32, frames, ch int) int {
	a.hops = a.hops[:0]
	n, hop, rate := a.fftSize, a.hopFrames, a.cfg.RateHz
	pos := n
	if a.haveHop {
		d := startNS - a.lastStartNS
		shift := av.NSToFrames(d+av.FramesToNS(1, rate)/2, rate)
		if p := int64(a.hopPos) - shift; d >= 0 && p > int64(n-hop) && p <= int64(frames+hop) {
			pos = int(p)
		} else if d >= 0 && p <= int64(n-hop) { // a gap: stay on the grid
			pos = int(p + (int64(n)-p+int64(hop)-1)/int64(hop)*int64(hop))
		}
	}
	for ; pos <= frames; pos += hop {
		if pos >= n {
			a.hops = append(a.hops, hopRow{pos: pos, endNS: startNS + av.FramesToNS(int64(pos), rate)})
		}
	}
	a.nextHopPos = pos
	a.growRows(1 + len(a.hops))
	inv := 1 / float32(ch)
	for h := range a.hops {
		pos := a.hops[h].pos
		src := data[(pos-n)*ch : pos*ch]
		row := a.rowsF[(1+h)*n : (2+h)*n]
		var frameSq float64
		for i := range n {
			var m float32
			for _, x := range src[i*ch : (i+1)*ch] {
				x, _ = clean(x)
				m += x
			}
			m *= inv
			row[i] = m
			frameSq += float64(m) * float64(m)
		}
		a.hops[h].frameSq = frameSq
	}
	return len(a.hops)
}

// hopRow is one VAD hop of the slice gather took.
type hopRow struct {
	pos     int // its end, in frames of the slice
	endNS   int64
	frameSq float64
}

// runVAD runs the voice activity detector on the hops gatherHops found,
// from their spectra.
func (a *AudioFeatures) runVAD(startNS int64) {
	a.vadFrames = a.vadFrames[:0]
	n, bins := a.fftSize, a.bins
	for h, hr := range a.hops {
		frame, power := a.rowsF[(1+h)*n:(2+h)*n], a.rowsP[(1+h)*bins:(2+h)*bins]
		sh := spectralShape(power, a.binHz)
		_, harm, voiced, haveH := a.pitch.estimate(frame)
		was := a.vad.speech
		speech, score := a.vad.update(vadInput{
			timeNS: hr.endNS, power: power, levelDBFS: dbfs(hr.frameSq / float64(n)),
			flatness: sh.flatness, tonality: sh.tonality, harmonicity: harm,
			haveShape: sh.ok && hr.frameSq > 0, haveHarmonicity: haveH, voice: voiced, peaks: sh.peaks,
		})
		f := VADFrame{EndNS: hr.endNS, Speech: speech, Turned: speech != was, Score: score}
		if f.Turned {
			f.AtNS = a.vad.atNS
		}
		a.vadFrames = append(a.vadFrames, f)
	}
	a.hopPos, a.lastStartNS, a.haveHop = a.nextHopPos, startNS, true
}

// growRows makes room for rows spectra rows, keeping row 0 (the analysis
// frame, already filled).
func (a *AudioFeatures) growRows(rows int) {
	n, bins := a.fftSize, a.bins
	if len(a.rowsF) < rows*n {
		f, p := make([]float32, 2*rows*n), make([]float32, 2*rows*bins)
		copy(f, a.rowsF[:n])
		a.rowsF, a.rowsP = f, p
		a.frame, a.power = f[:n], p[:bins]
		a.tFrame, a.tPower = Matrix(1, n, a.frame), Matrix(1, bins, a.power)
		clear(a.byRows)
	}
}

// rowTensors returns the frames and power tensors of the first rows rows,
// made once per row count (and again when growRows moved the rows).
func (a *AudioFeatures) rowTensors(rows int) [2]*tensor.Dense {
	t, ok := a.byRows[rows]
	if !ok {
		n, bins := a.fftSize, a.bins
		t = [2]*tensor.Dense{Matrix(rows, n, a.rowsF[:rows*n]), Matrix(rows, bins, a.rowsP[:rows*bins])}
		a.byRows[rows] = t
	}
	return t
}

// shapeOf is a power spectrum's shape.
type shapeOf struct {
	centroidHz, flatness, tonality float64
	peaks                          int // within 20 dB of the strongest, below 5 kHz
	ok                             bool
}

// shape computes the spectral centroid, flatness and tonality; false when
// the spectrum holds no power.
func (a *AudioFeatures) shape(v *AudioValues) bool {
	sh := spectralShape(a.power, a.binHz)
	a.peaks = sh.peaks
	if !sh.ok {
		return false
	}
	v.CentroidHz, v.Flatness, v.Tonality = sh.centroidHz, sh.flatness, sh.tonality
	v.set(FeatCentroid)
	v.set(FeatFlatness)
	v.set(FeatTonality)
	return true
}

// spectralShape measures a power spectrum of bins at binHz each.
func spectralShape(power []float32, binHz float64) (sh shapeOf) {
	p := power[1:] // DC carries no shape
	var sum, wsum, logSum float64
	peak, peakAt := float32(-1), 0
	for k, x := range p {
		f := float64(x)
		sum += f
		wsum += f * float64(k+1)
		if x > peak {
			peak, peakAt = x, k
		}
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return sh
	}
	floor := sum * 1e-12 / float64(len(p))
	for _, x := range p {
		logSum += math.Log(float64(x) + floor)
	}
	var near float64
	for _, x := range p[max(0, peakAt-2):min(len(p), peakAt+3)] {
		near += float64(x)
	}
	// Spectral peaks within 20 dB of the strongest below 5 kHz: one for a
	// pure tone, several for voiced speech's harmonics.
	floorPk := peak / 100
	top := min(len(p)-2, int(5000/binHz))
	for k := 2; k < top; k++ {
		x := p[k]
		if x >= floorPk && x > p[k-1] && x >= p[k+1] && x > p[k-2] && x >= p[k+2] {
			sh.peaks++
		}
	}
	sh.centroidHz = wsum / sum * binHz
	sh.flatness = min(1, math.Exp(logSum/float64(len(p)))/(sum/float64(len(p))))
	sh.tonality = near / sum
	sh.ok = true
	return sh
}

// flux computes the rectified log-mel flux against the previous bundle and
// the onset decision.
func (a *AudioFeatures) flux(v *AudioValues) {
	had := a.havePrevMel
	var rise float64
	for i, m := range a.mel {
		if d := float64(m - a.prevMel[i]); d > 0 {
			rise += d
		}
	}
	copy(a.prevMel, a.mel)
	a.havePrevMel = true
	if !had {
		return
	}
	flux := rise / float64(len(a.mel)) * 10 / math.Ln10
	v.FluxDB = flux
	v.set(FeatFlux)
	// Adaptive threshold: median of the recent flux plus a margin.
	if a.fluxN > 0 {
		h := a.fluxSorted[:a.fluxN]
		copy(h, a.fluxHist[:a.fluxN])
		insertionSort(h)
		med := h[len(h)/2]
		if len(h)%2 == 0 {
			med = (h[len(h)/2-1] + h[len(h)/2]) / 2
		}
		v.Onset = flux > med+a.cfg.OnsetDeltaDB && (!a.anyOnset || v.TimeNS-a.lastOnsetNS >= a.cfg.OnsetGapNS)
		if v.Onset {
			a.lastOnsetNS, a.anyOnset = v.TimeNS, true
		}
		v.set(FeatOnset)
	}
	a.fluxHist[a.fluxI] = flux
	a.fluxI = (a.fluxI + 1) % len(a.fluxHist)
	a.fluxN = min(a.fluxN+1, len(a.fluxHist))
}

func insertionSort(x []float64) {
	for i := 1; i < len(x); i++ {
		for j := i; j > 0 && x[j] < x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
}

// bearing runs GCC-PHAT of each microphone against the first on the
// newest fftSize frames and updates the direction of arrival.
func (a *AudioFeatures) bearing(v *AudioValues, timeNS int64, ch int) {
	if a.doa == nil {
		return
	}
	if ch < len(a.cfg.DOA.Mics) {
		a.Counters.NoBearing++
		return
	}
	if v.Speech && a.gcc0 {
		a.doa.update(timeNS, a.gcc, true)
	}
	if deg, std, ok := a.doa.bearing(timeNS); ok {
		v.BearingDeg, v.BearingStdDeg = deg, std
		v.set(FeatBearing)
	}
}

// gatherGCC puts the newest fftSize frames of each microphone and of the
// first into the GCC-PHAT rows.
func (a *AudioFeatures) gatherGCC(data []float32, frames, ch int) {
	n := a.fftSize
	cnt := min(frames, n)
	pad := n - cnt
	src := data[(frames-cnt)*ch:]
	for p := range a.doa.pairs {
		ra, rb := a.gccA[p*n:(p+1)*n], a.gccB[p*n:(p+1)*n]
		clear(ra[:pad])
		clear(rb[:pad])
		for i := range cnt {
			x, _ := clean(src[i*ch])
			y, _ := clean(src[i*ch+p+1])
			ra[pad+i], rb[pad+i] = x, y
		}
	}
}

// clean returns a sample clamped to full scale, or 0 and false when it is
// NaN or infinite. Samples past full scale count as clipped.
func clean(x float32) (float32, bool) {
	if x != x || x > math.MaxFloat32 || x < -math.MaxFloat32 {
		return 0, false
	}
	return min(max(x, -1), 1), true
}
