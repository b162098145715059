package fuse

import (
	"fmt"
	"math"
)

// SyncOffset tells a voice in time with a mouth from one that lags or
// leads it, in the spirit of SyncNet's offset confidence. It correlates
// mouth motion with the audio's change at every lag within
// ±OffsetMaxLagNS, each over an exponentially weighted past (time
// constant OffsetTauNS, so a pause in speech keeps what the speech
// before it showed), and compares the best correlation near lag 0
// (within ±OffsetTolNS) with the best at the lags a dub or a badly
// synchronised stream has (OffsetMinLagNS … OffsetMaxLagNS either way).
// The confidence, their difference, is positive when the two move
// together at lag 0 and negative when they move together at another lag:
// a voice that is not this mouth's, or not in time with it.
//
// A lag of ℓ pairs the newest audio with the mouth ℓ values before it
// (ℓ < 0: the newest mouth with older audio), so only the past is used.
// Memory is fixed at NewSyncOffset; Push and Score do not allocate.
type SyncOffset struct {
	tol, minLag, maxLag int
	minN, decay, rateHz float64
	// The last maxLag+1 values, newest at head.
	mouth, audio []float64
	valid        []bool
	head         int
	// Per lag (index lag+maxLag): weighted count and sums of the pairs.
	n, sm, sa, smm, saa, sma []float64
	conf, lagMS              float64
	ok, dirty                bool
}

// NewSyncOffset returns a SyncOffset for cfg (its RateHz, MinValid and
// Offset* fields, defaults applied as NewSynchrony does).
func NewSyncOffset(cfg SynchronyConfig) (*SyncOffset, error) {
	cfg.defaults()
	frames := func(ns int64) int { return int(math.Round(float64(ns) * cfg.RateHz / 1e9)) }
	tau := float64(cfg.OffsetTauNS) * cfg.RateHz / 1e9
	s := &SyncOffset{tol: frames(cfg.OffsetTolNS), minLag: frames(cfg.OffsetMinLagNS), maxLag: frames(cfg.OffsetMaxLagNS),
		rateHz: cfg.RateHz, decay: math.Exp(-1 / tau), minN: cfg.MinValid * tau / 2}
	if !(cfg.RateHz > 0) || !(tau >= 4) || s.minLag <= s.tol || s.maxLag < s.minLag || !(cfg.MinValid > 0 && cfg.MinValid <= 1) {
		return nil, fmt.Errorf("%w: synchrony offset: time constant %.1f, tolerance %d, lags %d…%d values at %v Hz", ErrConfig, tau, s.tol, s.minLag, s.maxLag, cfg.RateHz)
	}
	s.mouth, s.audio, s.valid = make([]float64, s.maxLag+1), make([]float64, s.maxLag+1), make([]bool, s.maxLag+1)
	k := 2*s.maxLag + 1
	s.n, s.sm, s.sa, s.smm, s.saa, s.sma = make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k)
	return s, nil
}

// back returns the index of the value k pushes before the newest.
func (s *SyncOffset) back(k int) int { return (s.head - k + len(s.mouth)) % len(s.mouth) }

// Push adds one bundle's mouth motion and audio change (ok false when
// either is missing) and updates every lag's correlation.
func (s *SyncOffset) Push(mouth, audio float64, ok bool) {
	if math.IsNaN(mouth) || math.IsInf(mouth, 0) || math.IsNaN(audio) || math.IsInf(audio, 0) {
		ok = false
	}
	s.head = (s.head + 1) % len(s.mouth)
	s.mouth[s.head], s.audio[s.head], s.valid[s.head] = mouth, audio, ok
	d := s.decay
	for i := range s.n {
		lag := i - s.maxLag
		km, ka := s.back(max(lag, 0)), s.back(max(-lag, 0))
		s.n[i] *= d
		s.sm[i] *= d
		s.sa[i] *= d
		s.smm[i] *= d
		s.saa[i] *= d
		s.sma[i] *= d
		if !s.valid[km] || !s.valid[ka] {
			continue
		}
		m, a := s.mouth[km], s.audio[ka]
		s.n[i]++
		s.sm[i] += m
		s.sa[i] += a
		s.smm[i] += m * m
		s.saa[i] += a * a
		s.sma[i] += m * a
	}
	s.dirty = true
}

// corr is the weighted correlation at lag index i; ok false with too few
// pairs or a flat series.
func (s *SyncOffset) corr(i int) (float64, bool) {
	n := s.n[i]
	if n < s.minN {
		return 0, false
	}
	vm, va := s.smm[i]-s.sm[i]*s.sm[i]/n, s.saa[i]-s.sa[i]*s.sa[i]/n
	if !(vm > 1e-9*n) || !(va > 1e-9*n) {
		return 0, false
	}
	return (s.sma[i] - s.sm[i]*s.sa[i]/n) / math.Sqrt(vm*va), true
}

// Score returns the offset confidence (the best correlation near lag 0
// less the best at the off lags, in [-2, 2]) and the lag of the best
// correlation overall in ms (positive: the audio follows the mouth); ok
// false while a lag near 0 or every off lag has too few pairs (half a
// time constant's worth, times MinValid) or a flat series.
func (s *SyncOffset) Score() (conf, lagMS float64, ok bool) {
	if !s.dirty {
		return s.conf, s.lagMS, s.ok
	}
	s.dirty = false
	s.conf, s.lagMS, s.ok = 0, 0, false
	near, off := math.Inf(-1), math.Inf(-1)
	best, bestLag := math.Inf(-1), 0
	for i := range s.n {
		lag := i - s.maxLag
		d := max(lag, -lag)
		if d > s.tol && d < s.minLag {
			continue
		}
		c, ok := s.corr(i)
		if !ok {
			continue
		}
		if d <= s.tol {
			near = max(near, c)
		} else {
			off = max(off, c)
		}
		if c > best {
			best, bestLag = c, lag
		}
	}
	if math.IsInf(near, -1) || math.IsInf(off, -1) {
		return 0, 0, false
	}
	s.conf, s.lagMS, s.ok = near-off, float64(bestLag)*1000/s.rateHz, true
	return s.conf, s.lagMS, true
}
