package fuse

import (
	"fmt"
	"math"
)

// DOAConfig describes the microphone array. Channel i of the audio is the
// microphone at Mics[i]; positions are in metres, x to the robot's right, y
// ahead. Bearings are in degrees, 0 ahead, positive to the right, in
// [-90, 90]: a line array cannot tell front from back.
type DOAConfig struct {
	Mics [][2]float64
	// SpeedOfSound in m/s [343].
	SpeedOfSound float64
	// SmoothNS is the time constant of the exponential smoothing of the
	// cross-correlations over speech frames [1 s].
	SmoothNS int64
	// MinWeight is the smoothed speech weight (1 per speech frame, decaying
	// with SmoothNS) below which the bearing is missing [0.25].
	MinWeight float64
	// MaxAgeNS is how long after the last speech frame the bearing is
	// still reported [2 s].
	MaxAgeNS int64
}

// doaAngles is the steering grid: -90..90 in 1° steps.
const (
	doaAngles   = 181
	doaStepDeg  = 1.0
	doaFirstDeg = -90.0
)

// DOA estimates the direction of arrival from GCC-PHAT cross-correlations
// of each microphone with the first (computed by the Backend), smoothed
// over speech frames, by steering: for each candidate bearing it sums each
// pair's smoothed correlation at the delay the geometry predicts, and takes
// the best. It allocates only in newDOA.
type DOA struct {
	cfg    DOAConfig
	rate   float64
	pairs  int
	maxLag int
	lags   int // 2·maxLag+1
	acc    []float64
	weight float64
	lastNS int64
	have   bool
	// steer[a*pairs+p] is pair p's fractional lag index at angle a.
	steer []float64
	srp   [doaAngles]float64
	sin   [doaAngles]float64 // of each steering angle
	// resDeg[a] is the bearing one lag step spans at angle a, for the
	// widest pair.
	resDeg [doaAngles]float64
}

func newDOA(cfg DOAConfig, rateHz, n int) (*DOA, error) {
	if cfg.SpeedOfSound == 0 {
		cfg.SpeedOfSound = 343
	}
	if cfg.SmoothNS == 0 {
		cfg.SmoothNS = 1e9
	}
	if cfg.MinWeight == 0 {
		cfg.MinWeight = 0.25
	}
	if cfg.MaxAgeNS == 0 {
		cfg.MaxAgeNS = 2e9
	}
	if len(cfg.Mics) < 2 {
		return nil, fmt.Errorf("%w: direction of arrival needs at least 2 microphones, got %d", ErrConfig, len(cfg.Mics))
	}
	d := &DOA{cfg: cfg, rate: float64(rateHz), pairs: len(cfg.Mics) - 1}
	var widest float64
	for _, m := range cfg.Mics[1:] {
		dx, dy := m[0]-cfg.Mics[0][0], m[1]-cfg.Mics[0][1]
		dist := math.Hypot(dx, dy)
		if dist == 0 || math.IsNaN(dist) || math.IsInf(dist, 0) {
			return nil, fmt.Errorf("%w: microphone at %v coincides with the first or is not finite", ErrConfig, m)
		}
		widest = max(widest, dist)
		d.maxLag = max(d.maxLag, int(math.Ceil(dist/cfg.SpeedOfSound*d.rate))+1)
	}
	if d.maxLag >= n/2 {
		return nil, fmt.Errorf("%w: microphones %.3f m apart need a lag of %d frames, over half the %d-frame analysis", ErrConfig, widest, d.maxLag, n)
	}
	d.lags = 2*d.maxLag + 1
	d.acc = make([]float64, d.pairs*d.lags)
	d.steer = make([]float64, doaAngles*d.pairs)
	for a := range doaAngles {
		th := (doaFirstDeg + doaStepDeg*float64(a)) * math.Pi / 180
		ux, uy := math.Sin(th), math.Cos(th)
		d.sin[a] = ux
		for p, m := range cfg.Mics[1:] {
			dx, dy := m[0]-cfg.Mics[0][0], m[1]-cfg.Mics[0][1]
			// Mic p+1 hears a far source (dx,dy)·u/c earlier than mic 0:
			// its lag behind mic 0 is the negative of that.
			lag := -(dx*ux + dy*uy) / cfg.SpeedOfSound * d.rate
			d.steer[a*d.pairs+p] = lag + float64(d.maxLag)
		}
		// dθ per lag step: c / (rate · d · cos θ) for the widest pair.
		c := math.Abs(math.Cos(th))
		if c < 1e-3 {
			c = 1e-3
		}
		d.resDeg[a] = math.Min(180, cfg.SpeedOfSound/(d.rate*widest)/c*180/math.Pi)
	}
	return d, nil
}

// update folds one frame's GCC rows (pairs × lags) into the smoothed
// correlations when speech is on.
func (d *DOA) update(timeNS int64, gcc []float32, speech bool) {
	if !speech {
		return
	}
	decay := 1.0
	if d.have {
		dt := float64(timeNS - d.lastNS)
		if dt > 0 {
			decay = math.Exp(-dt / float64(d.cfg.SmoothNS))
		}
	}
	for i, v := range gcc {
		x := float64(v)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			x = 0
		}
		d.acc[i] = d.acc[i]*decay + x
	}
	d.weight = d.weight*decay + 1
	d.lastNS, d.have = timeNS, true
}

// bearing returns the smoothed bearing and its uncertainty at timeNS; false
// when too little speech was heard in the last few time constants.
func (d *DOA) bearing(timeNS int64) (deg, stdDeg float64, ok bool) {
	if !d.have {
		return 0, 0, false
	}
	w := d.weight
	if timeNS-d.lastNS > d.cfg.MaxAgeNS {
		return 0, 0, false
	}
	if dt := float64(timeNS - d.lastNS); dt > 0 {
		w *= math.Exp(-dt / float64(d.cfg.SmoothNS))
	}
	if w < d.cfg.MinWeight {
		return 0, 0, false
	}
	best := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for a := range doaAngles {
		var s float64
		for p := range d.pairs {
			x := d.steer[a*d.pairs+p]
			i := int(x)
			f := x - float64(i)
			row := d.acc[p*d.lags : (p+1)*d.lags]
			v := row[i]
			if i+1 < d.lags {
				v += f * (row[i+1] - row[i])
			}
			s += v
		}
		d.srp[a] = s
		if s > hi {
			hi, best = s, a
		}
		lo = min(lo, s)
	}
	if !(hi > lo) || !(hi > 0) {
		return 0, 0, false
	}
	// The peak of a band-limited correlation is broad (speech reaches
	// ~5 kHz: ten lags at 48 kHz) and noise tilts its top; the centroid of
	// the part above half height locates it better than its highest point.
	// It is taken in sin θ, in which a line array's delays are linear.
	half := hi / 2
	var cw, cs float64
	for i := best; i >= 0 && d.srp[i] > half; i-- {
		cw += d.srp[i] - half
		cs += (d.srp[i] - half) * d.sin[i]
	}
	for i := best + 1; i < doaAngles && d.srp[i] > half; i++ {
		cw += d.srp[i] - half
		cs += (d.srp[i] - half) * d.sin[i]
	}
	deg = math.Asin(min(1, max(-1, cs/cw))) * 180 / math.Pi
	// Full width at half height of the steered peak.
	l, r := float64(best), float64(best)
	for i := best; i > 0; i-- {
		if d.srp[i-1] < half {
			l = float64(i-1) + (half-d.srp[i-1])/(d.srp[i]-d.srp[i-1])
			break
		}
		l = float64(i - 1)
	}
	for i := best; i < doaAngles-1; i++ {
		if d.srp[i+1] < half {
			r = float64(i) + (d.srp[i]-half)/(d.srp[i]-d.srp[i+1])
			break
		}
		r = float64(i + 1)
	}
	// The peak's width says how well one frame locates the source; w
	// frames' worth of speech average that down.
	stdDeg = (r - l) * doaStepDeg / 2.355 / math.Sqrt(max(w, 1))
	stdDeg = max(stdDeg, d.resDeg[best]/2)
	return deg, min(stdDeg, 90), true
}
