package fuse

import "math"

// Pitch search range and YIN thresholds.
const (
	PitchMinHz = 60.0
	PitchMaxHz = 500.0
	// yinThreshold is the dip of the cumulative mean normalised difference
	// taken as the first period; voicedDip the largest dip that counts as
	// voiced at all.
	yinThreshold = 0.15
	voicedDip    = 0.3
	pitchRateHz  = 8000
)

// pitchTracker estimates the fundamental frequency with YIN on the analysis
// frame decimated to about 8 kHz. It allocates only in newPitchTracker.
type pitchTracker struct {
	dec            int     // decimation factor
	rate           float64 // decimated rate
	minLag, maxLag int
	y              []float64 // decimated frame
	d              []float64 // difference function, 0..maxLag
}

func newPitchTracker(rateHz, frameLen int) *pitchTracker {
	dec := max(1, rateHz/pitchRateHz)
	p := &pitchTracker{dec: dec, rate: float64(rateHz) / float64(dec)}
	p.minLag = max(2, int(math.Floor(p.rate/PitchMaxHz)))
	p.maxLag = int(math.Ceil(p.rate / PitchMinHz))
	p.y = make([]float64, frameLen/dec)
	p.d = make([]float64, p.maxLag+2)
	return p
}

// estimate returns the pitch in Hz (ok false when unvoiced or the frame is
// too short for the lowest pitch) and the harmonicity, 1 − the YIN dip.
func (p *pitchTracker) estimate(frame []float32) (hz, harmonicity float64, ok, haveH bool) {
	n := len(frame) / p.dec
	if n > len(p.y) {
		n = len(p.y)
	}
	y := p.y[:n]
	inv := 1 / float64(p.dec)
	for i := range y {
		var s float32
		for _, v := range frame[i*p.dec : (i+1)*p.dec] {
			s += v
		}
		y[i] = float64(s) * inv
	}
	maxLag := p.maxLag
	w := n - maxLag
	if w < maxLag/2 {
		return 0, 0, false, false
	}
	var energy float64
	for _, v := range y[:w] {
		energy += v * v
	}
	if energy == 0 {
		return 0, 0, false, false
	}
	// Difference function and its cumulative mean normalisation, in place.
	d := p.d[:maxLag+2]
	d[0] = 1
	var cum float64
	for tau := 1; tau <= maxLag+1 && tau+w <= n; tau++ {
		var s float64
		a, b := y[:w], y[tau:tau+w]
		for i := range a {
			e := a[i] - b[i]
			s += e * e
		}
		cum += s
		if cum == 0 {
			d[tau] = 1
		} else {
			d[tau] = s * float64(tau) / cum
		}
	}
	best := -1
	for tau := p.minLag; tau <= maxLag; tau++ {
		if d[tau] < yinThreshold {
			for tau+1 <= maxLag && d[tau+1] < d[tau] {
				tau++
			}
			best = tau
			break
		}
	}
	if best < 0 {
		best = p.minLag
		for tau := p.minLag + 1; tau <= maxLag; tau++ {
			if d[tau] < d[best] {
				best = tau
			}
		}
	}
	dip := d[best]
	harmonicity = 1 - min(max(dip, 0), 1)
	if dip > voicedDip || best <= p.minLag || best >= maxLag {
		return 0, harmonicity, false, true
	}
	// Parabolic interpolation of the dip.
	t := float64(best)
	if a, b, c := d[best-1], d[best], d[best+1]; a+c-2*b > 0 {
		t += 0.5 * (a - c) / (a + c - 2*b)
	}
	return p.rate / t, harmonicity, true, true
}
