package fuse

import (
	"fmt"
	"math"
)

// SynchronyConfig configures Synchrony. Zero values take the defaults in
// brackets.
type SynchronyConfig struct {
	// RateHz is the rate at which values are pushed: the bundle (video
	// frame) rate [30].
	RateHz float64
	// WindowNS is the span correlated [4 s]; MaxLagNS the lag searched
	// either way [200 ms]; MinShiftNS the smallest shift of the audio that
	// counts as unrelated, for the null distribution [1 s].
	WindowNS, MaxLagNS, MinShiftNS int64
	// MinValid is the fraction of the window where both series must be
	// present [0.8].
	MinValid float64
	// SyncOffset's: the time constant of its weighted past [2 s], the
	// lags that count as lag 0 [±80 ms], and the off lags it compares them
	// with [±200 … 800 ms]. Chosen on the real-media benchmark's train and
	// validation splits (docs/DECISIONS.md).
	OffsetTauNS, OffsetTolNS, OffsetMinLagNS, OffsetMaxLagNS int64
}

func (cfg *SynchronyConfig) defaults() {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	if cfg.RateHz == 0 {
		cfg.RateHz = 30
	}
	def(&cfg.WindowNS, 4e9)
	def(&cfg.MaxLagNS, 200e6)
	def(&cfg.MinShiftNS, 1e9)
	if cfg.MinValid == 0 {
		cfg.MinValid = 0.8
	}
	def(&cfg.OffsetTauNS, 2e9)
	def(&cfg.OffsetTolNS, 80e6)
	def(&cfg.OffsetMinLagNS, 200e6)
	def(&cfg.OffsetMaxLagNS, 800e6)
}

// Synchrony scores whether mouth motion and audio energy move together, as
// a talking face and its voice do: over a window of a few seconds it
// correlates the two series at every lag within ±MaxLag and takes the best,
// then expresses it as a z-score against the best correlations with the
// audio shifted by a second or more (circularly) — the same statistic
// where the two cannot be related. Raw correlation is not enough: two
// series that merely both vary slowly correlate by chance; the z-score asks
// whether this alignment is special. It allocates only in NewSynchrony.
type Synchrony struct {
	cfg                 SynchronyConfig
	w, maxLag, minShift int
	mouth, audio        []float64
	valid               []bool
	head, n             int
	zm, za, cc          []float64
	lastZ, lastLag      float64
	lastOK, dirty       bool
}

// NewSynchrony returns a Synchrony with cfg's defaults applied.
func NewSynchrony(cfg SynchronyConfig) (*Synchrony, error) {
	cfg.defaults()
	s := &Synchrony{cfg: cfg}
	s.w = int(math.Round(float64(cfg.WindowNS) * cfg.RateHz / 1e9))
	s.maxLag = int(math.Round(float64(cfg.MaxLagNS) * cfg.RateHz / 1e9))
	s.minShift = int(math.Round(float64(cfg.MinShiftNS) * cfg.RateHz / 1e9))
	if !(cfg.RateHz > 0) || s.w < 16 || s.minShift <= s.maxLag || s.w-2*s.minShift < 8 || !(cfg.MinValid > 0 && cfg.MinValid <= 1) {
		return nil, fmt.Errorf("%w: synchrony window %d, lag %d, shift %d values at %v Hz leave no null distribution", ErrConfig, s.w, s.maxLag, s.minShift, cfg.RateHz)
	}
	s.mouth, s.audio, s.valid = make([]float64, s.w), make([]float64, s.w), make([]bool, s.w)
	s.zm, s.za, s.cc = make([]float64, s.w), make([]float64, 2*s.w), make([]float64, s.w)
	return s, nil
}

// Push adds one bundle's mouth motion and audio energy (use a log energy,
// such as the level in dBFS); ok false when either is missing.
func (s *Synchrony) Push(mouth, audio float64, ok bool) {
	if math.IsNaN(mouth) || math.IsInf(mouth, 0) || math.IsNaN(audio) || math.IsInf(audio, 0) {
		ok = false
	}
	s.mouth[s.head], s.audio[s.head], s.valid[s.head] = mouth, audio, ok
	s.head = (s.head + 1) % s.w
	s.n = min(s.n+1, s.w)
	s.dirty = true
}

// Score returns the synchrony z-score and the lag of the best correlation
// in ms (positive when the audio follows the mouth); ok false until the
// window is full, when too much of it is missing, or when either series is
// flat.
func (s *Synchrony) Score() (z, lagMS float64, ok bool) {
	if !s.dirty {
		return s.lastZ, s.lastLag, s.lastOK
	}
	s.dirty = false
	s.lastZ, s.lastLag, s.lastOK = 0, 0, false
	if s.n < s.w {
		return 0, 0, false
	}
	// Standardise both series in time order; missing values become 0 (the
	// mean), so they add nothing to any correlation.
	var valid int
	var mm, ma float64
	for _, v := range s.valid {
		if v {
			valid++
		}
	}
	if float64(valid) < s.cfg.MinValid*float64(s.w) {
		return 0, 0, false
	}
	for i := range s.w {
		j := (s.head + i) % s.w
		if s.valid[j] {
			mm += s.mouth[j]
			ma += s.audio[j]
		}
	}
	mm /= float64(valid)
	ma /= float64(valid)
	var vm, va float64
	for i := range s.w {
		j := (s.head + i) % s.w
		s.zm[i], s.za[i] = 0, 0
		if s.valid[j] {
			s.zm[i], s.za[i] = s.mouth[j]-mm, s.audio[j]-ma
			vm += s.zm[i] * s.zm[i]
			va += s.za[i] * s.za[i]
		}
	}
	if !(vm > 1e-12*float64(valid)) || !(va > 1e-12*float64(valid)) {
		return 0, 0, false
	}
	norm := 1 / math.Sqrt(vm*va)
	// Circular cross-correlation at every shift k: audio k values later.
	copy(s.za[s.w:], s.za[:s.w])
	for k := range s.w {
		var c float64
		za := s.za[k : k+s.w]
		for i, m := range s.zm {
			c += m * za[i]
		}
		s.cc[k] = c * norm
	}
	at := func(k int) float64 { return s.cc[((k%s.w)+s.w)%s.w] }
	bestAt := func(center int) (float64, int) {
		best, lag := math.Inf(-1), 0
		for l := -s.maxLag; l <= s.maxLag; l++ {
			if c := at(center + l); c > best {
				best, lag = c, l
			}
		}
		return best, lag
	}
	best, lag := bestAt(0)
	var sum, sumSq float64
	var cnt int
	for sh := s.minShift; sh <= s.w-s.minShift; sh++ {
		c, _ := bestAt(sh)
		sum += c
		sumSq += c * c
		cnt++
	}
	mean := sum / float64(cnt)
	sd := math.Sqrt(max(sumSq/float64(cnt)-mean*mean, 0))
	if !(sd > 1e-9) {
		return 0, 0, false
	}
	s.lastZ = min(max((best-mean)/sd, -10), 10)
	s.lastLag = float64(lag) * 1000 / s.cfg.RateHz
	s.lastOK = true
	return s.lastZ, s.lastLag, true
}

// BearingAgreement is the likelihood, in [0, 1], that a sound at
// soundDeg ± soundStdDeg and a face at faceDeg ± faceStdDeg, both in one
// frame (the robot's: frame.go), are in the same direction: exp(−Δ²/2σ²),
// Δ the difference the shorter way round, σ² the sum of the two
// variances. ok is false when either bearing is not finite or σ is 0.
func BearingAgreement(soundDeg, soundStdDeg, faceDeg, faceStdDeg float64) (float64, bool) {
	v := soundStdDeg*soundStdDeg + faceStdDeg*faceStdDeg
	d := BearingDiff(soundDeg, faceDeg)
	if math.IsNaN(d) || math.IsInf(d, 0) || !(v > 0) || math.IsInf(v, 0) {
		return 0, false
	}
	return math.Exp(-d * d / (2 * v)), true
}
