package sync

import (
	"fmt"
	"math"
	"slices"
)

// ClockConfig configures an AudioClock. Times are nanoseconds.
type ClockConfig struct {
	RateHz int // nominal sample rate
	// OffsetNS is the static offset added to every estimate: the capture
	// time of a frame is its estimated arrival-clock time plus OffsetNS
	// (typically minus the device's known input latency).
	OffsetNS int64
	// TimeConstantNS is how far back observations still count (their
	// weight falls by e over it). Default 30 s.
	TimeConstantNS int64
	// DiscontinuityNS: an observation this far off the model, twice in a
	// row, is a discontinuity (a reconnect, a looping recording) and resets
	// the model. Default 250 ms.
	DiscontinuityNS int64
}

func (c ClockConfig) withDefaults() ClockConfig {
	if c.TimeConstantNS == 0 {
		c.TimeConstantNS = 30e9
	}
	if c.DiscontinuityNS == 0 {
		c.DiscontinuityNS = 250e6
	}
	return c
}

func (c ClockConfig) validate() error {
	switch {
	case c.RateHz <= 0 || c.RateHz > 10_000_000:
		return fmt.Errorf("%w: clock: rate %d Hz is out of range", ErrConfig, c.RateHz)
	case c.TimeConstantNS < 1e9:
		return fmt.Errorf("%w: clock: time constant %d ns is shorter than 1 s", ErrConfig, c.TimeConstantNS)
	case c.DiscontinuityNS < 10e6:
		return fmt.Errorf("%w: clock: discontinuity threshold %d ns is under 10 ms", ErrConfig, c.DiscontinuityNS)
	}
	return nil
}

// AudioClock estimates, online, when an audio device captured each frame:
// it fits arrival time against frame count (offset and drift) by
// exponentially forgetting least squares. Residuals are clipped to a few
// times their running mean, so callback jitter averages out and an
// occasional late callback barely moves the fit. A jump of the frame count
// backwards, or two observations in a row far off the model, is a
// discontinuity: the model restarts from the next observation.
//
// It is a pure function of its observations; it reads no clock.
type AudioClock struct {
	cfg   ClockConfig
	pNom  float64 // nominal ns per frame
	tauNS float64

	started             bool
	x0                  int64 // anchor frame
	y0                  int64 // anchor time
	lastEnd             int64 // frame count at the end of the last chunk
	n                   int64 // observations since the last reset
	s, su, sv, suu, suv float64
	alpha, beta         float64 // v ≈ alpha + beta·u, u = x − x0, v = y − y0 − u·pNom
	absRes              float64 // running mean |residual|
	farInRow            int

	resets, clipped uint64
}

// NewAudioClock returns an estimator.
func NewAudioClock(cfg ClockConfig) (*AudioClock, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &AudioClock{cfg: cfg, pNom: 1e9 / float64(cfg.RateHz), tauNS: float64(cfg.TimeConstantNS)}, nil
}

// Resets returns the number of discontinuities detected.
func (c *AudioClock) Resets() uint64 { return c.resets }

// Clipped returns the number of observations whose residual was clipped
// (late or early callbacks).
func (c *AudioClock) Clipped() uint64 { return c.clipped }

// Started reports whether the clock has had an observation since its last
// reset.
func (c *AudioClock) Started() bool { return c.started }

// DriftPPM returns the estimated drift of the device's clock: positive when
// its frames come slower than nominal (its clock runs slow).
func (c *AudioClock) DriftPPM() float64 { return c.beta / c.pNom * 1e6 }

func (c *AudioClock) reset(end, arrivalNS int64) {
	*c = AudioClock{cfg: c.cfg, pNom: c.pNom, tauNS: c.tauNS, resets: c.resets, clipped: c.clipped}
	c.started = true
	c.x0, c.y0, c.lastEnd = end, arrivalNS, end
	c.s, c.n = 1, 1
	c.absRes = 2e6 // a prior of 2 ms for the callback jitter
}

// Observe takes one chunk: the frame count at its start, its length in
// frames and its arrival time. It returns true when the chunk began a new
// model (the first chunk, or after a discontinuity).
func (c *AudioClock) Observe(firstFrame int64, frames int, arrivalNS int64) (restarted bool) {
	end := firstFrame + int64(frames)
	if !c.started {
		c.reset(end, arrivalNS)
		return true
	}
	if firstFrame < c.lastEnd {
		// The frame count went backwards: far back is a restarted device
		// or recording; a little is a chunk out of order, ignored.
		if float64(c.lastEnd-firstFrame)*c.pNom > float64(c.cfg.DiscontinuityNS) {
			c.resets++
			c.reset(end, arrivalNS)
			return true
		}
		return false
	}
	u := float64(end - c.x0)
	v := float64(arrivalNS-c.y0) - u*c.pNom
	r := v - (c.alpha + c.beta*u)
	if math.Abs(r) > float64(c.cfg.DiscontinuityNS) {
		if c.farInRow++; c.farInRow >= 2 {
			c.resets++
			c.reset(end, arrivalNS)
			return true
		}
		c.clipped++
		c.lastEnd = end
		return false // ignored, unless the next one is far off too
	}
	c.farInRow = 0
	limit := 4 * c.absRes
	if c.n > 8 && math.Abs(r) > limit {
		c.clipped++
		r = math.Copysign(limit, r)
		v = c.alpha + c.beta*u + r
	}
	c.absRes += (math.Abs(r) - c.absRes) / 64
	// Forget in proportion to the audio time since the last observation.
	lambda := math.Exp(-float64(end-c.lastEnd) * c.pNom / c.tauNS)
	c.s = lambda*c.s + 1
	c.su = lambda*c.su + u
	c.sv = lambda*c.sv + v
	c.suu = lambda*c.suu + u*u
	c.suv = lambda*c.suv + u*v
	c.n++
	c.lastEnd = end
	c.fit()
	if u > 10*float64(c.cfg.RateHz) { // keep the numbers small: re-anchor every 10 s
		c.reanchor(end)
	}
	return false
}

func (c *AudioClock) fit() {
	mu, mv := c.su/c.s, c.sv/c.s
	varU := c.suu/c.s - mu*mu
	if c.n < 3 || varU <= 0 {
		c.alpha, c.beta = mv, 0
		return
	}
	c.beta = (c.suv/c.s - mu*mv) / varU
	c.alpha = mv - c.beta*mu
}

// reanchor moves the origin to frame x1: u' = u − u1, v' = v − c with
// y0' = y0 + D, c = D − u1·pNom.
func (c *AudioClock) reanchor(x1 int64) {
	u1 := float64(x1 - c.x0)
	d := int64(math.Round(u1 * c.pNom))
	cc := float64(d) - u1*c.pNom
	su, sv := c.su, c.sv
	c.suu = c.suu - 2*u1*su + u1*u1*c.s
	c.suv = c.suv - u1*sv - cc*su + u1*cc*c.s
	c.su = su - u1*c.s
	c.sv = sv - cc*c.s
	c.x0, c.y0 = x1, c.y0+d
	c.fit()
}

// TimeOf returns the estimated capture time of frame k. Before any
// observation it returns OffsetNS plus k at the nominal rate.
func (c *AudioClock) TimeOf(k int64) int64 {
	u := float64(k - c.x0)
	return c.y0 + int64(math.Round(u*c.pNom+c.alpha+c.beta*u)) + c.cfg.OffsetNS
}

// FrameAt returns the frame captured at time t (rounding down).
func (c *AudioClock) FrameAt(t int64) int64 {
	v := float64(t - c.cfg.OffsetNS - c.y0 - int64(math.Round(c.alpha)))
	k := c.x0 + int64(math.Floor(v/(c.pNom+c.beta)))
	// Settle rounding so that TimeOf(k) <= t < TimeOf(k+1).
	for c.TimeOf(k) > t {
		k--
	}
	for c.TimeOf(k+1) <= t {
		k++
	}
	return k
}

// DriftSim describes a simulated audio device for measuring AudioClock.
type DriftSim struct {
	RateHz      int
	ChunkFrames int
	DriftPPM    float64 // the device's clock runs fast by this much
	JitterNS    int64   // callbacks arrive uniformly within ± this of their due time
	LatencyNS   int64   // mean delay from capture to callback (given to the clock as −OffsetNS)
	LateEvery   int     // every LateEvery-th callback (on average) is late by LateNS more; 0: never
	LateNS      int64
	DurationNS  int64
	Seed        uint64
	// WindowNS groups the errors for the report (default 60 s).
	WindowNS int64
}

// DriftReport is what SimulateDrift measured: the error of each chunk's
// estimated first-frame time against the truth, once the chunk was observed.
type DriftReport struct {
	// P99AfterNS is the 99th percentile of |error| from 10 s on.
	P99AfterNS float64
	// WorstWindowP99NS is the largest per-window 99th percentile from 10 s on.
	WorstWindowP99NS float64
	// MaxNS is the largest |error| from 10 s on.
	MaxNS   float64
	Chunks  int
	Resets  uint64
	Clipped uint64
	EstPPM  float64 // the final drift estimate (the device runs fast: negative)
	Windows int
}

// SimulateDrift runs an AudioClock against a simulated drifting device with
// jittery, occasionally late callbacks, deterministically from Seed.
func SimulateDrift(sim DriftSim) (DriftReport, error) {
	if sim.WindowNS == 0 {
		sim.WindowNS = 60e9
	}
	if sim.RateHz <= 0 || sim.ChunkFrames <= 0 || sim.DurationNS <= 0 {
		return DriftReport{}, fmt.Errorf("%w: drift simulation needs a rate, a chunk size and a duration", ErrConfig)
	}
	clk, err := NewAudioClock(ClockConfig{RateHz: sim.RateHz, OffsetNS: -sim.LatencyNS})
	if err != nil {
		return DriftReport{}, err
	}
	rng := newSplitMix(sim.Seed)
	period := 1e9 / float64(sim.RateHz) / (1 + sim.DriftPPM*1e-6) // true ns per frame
	const t0 = int64(1_000_000e9)
	var all, window []float64
	var rep DriftReport
	windowEnd := int64(10e9) + sim.WindowNS
	for k := int64(0); ; k++ {
		first := k * int64(sim.ChunkFrames)
		end := first + int64(sim.ChunkFrames)
		trueFirst := t0 + int64(math.Round(float64(first)*period))
		trueEnd := t0 + int64(math.Round(float64(end)*period))
		if trueEnd-t0 > sim.DurationNS {
			break
		}
		arrival := trueEnd + sim.LatencyNS
		if sim.JitterNS > 0 {
			arrival += int64(rng.next()%uint64(2*sim.JitterNS+1)) - sim.JitterNS
		}
		if sim.LateEvery > 0 && rng.next()%uint64(sim.LateEvery) == 0 {
			arrival += sim.LateNS
		}
		clk.Observe(first, sim.ChunkFrames, arrival)
		rep.Chunks++
		if trueEnd-t0 < 10e9 {
			continue
		}
		e := math.Abs(float64(clk.TimeOf(first) - trueFirst))
		all = append(all, e)
		window = append(window, e)
		rep.MaxNS = max(rep.MaxNS, e)
		if trueEnd-t0 >= windowEnd {
			rep.WorstWindowP99NS = max(rep.WorstWindowP99NS, percentile(window, 0.99))
			rep.Windows++
			window = window[:0]
			windowEnd += sim.WindowNS
		}
	}
	if len(window) > 0 {
		rep.WorstWindowP99NS = max(rep.WorstWindowP99NS, percentile(window, 0.99))
		rep.Windows++
	}
	rep.P99AfterNS = percentile(all, 0.99)
	rep.Resets, rep.Clipped, rep.EstPPM = clk.Resets(), clk.Clipped(), clk.DriftPPM()
	return rep, nil
}

// percentile sorts xs and returns its q-quantile (0 for none).
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[min(len(xs)-1, int(q*float64(len(xs))))]
}

// splitMix is a tiny deterministic generator (math/rand/v2's PCG would do;
// this keeps the simulation's stream fixed whatever the library does).
type splitMix struct{ s uint64 }

func newSplitMix(seed uint64) *splitMix { return &splitMix{seed} }

func (r *splitMix) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
