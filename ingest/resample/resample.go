package resample

import (
	"errors"
	"fmt"
	"math"
)

// ErrRate is wrapped by the errors of New.
var ErrRate = errors.New("resample: unsupported rates")

// Filter design. zeroCrossings is the half length of the sinc in periods of
// the lower rate; cutoff the passband edge, as a fraction of the lower
// rate (the Nyquist frequency is 0.5); beta the Kaiser window's shape.
const (
	zeroCrossings = 24
	cutoff        = 0.443
	kaiserBeta    = 8.0
	// MaxPhases bounds L, the output rate over the rates' common divisor:
	// the filter keeps L·T weights.
	MaxPhases = 4096
)

// Resampler converts one stream of interleaved float32 audio from InRateHz
// to OutRateHz. It is not safe for concurrent use.
type Resampler struct {
	inRate, outRate, channels int
	l, m                      int64 // out/in = l/m
	taps                      int   // weights per phase (even)
	coef                      []float32

	// buf holds input frames [base, base+frames) interleaved.
	buf    []float32
	base   int64
	frames int
	// The next output frame j, and its input position q + p/l.
	j, q, p int64
	started bool
}

// New returns a resampler for channels interleaved channels. The rates must
// lie in 1000..768000 Hz and their ratio reduce to at most MaxPhases phases.
// Equal rates give a resampler that copies.
func New(inRateHz, outRateHz, channels int) (*Resampler, error) {
	switch {
	case inRateHz < 1000 || inRateHz > 768000 || outRateHz < 1000 || outRateHz > 768000:
		return nil, fmt.Errorf("%w: %d Hz to %d Hz (each must be 1000..768000)", ErrRate, inRateHz, outRateHz)
	case channels < 1:
		return nil, fmt.Errorf("%w: %d channels", ErrRate, channels)
	}
	g := gcd(inRateHz, outRateHz)
	l, m := outRateHz/g, inRateHz/g
	if l > MaxPhases {
		return nil, fmt.Errorf("%w: %d Hz to %d Hz needs %d filter phases (at most %d)", ErrRate, inRateHz, outRateHz, l, MaxPhases)
	}
	r := &Resampler{inRate: inRateHz, outRate: outRateHz, channels: channels, l: int64(l), m: int64(m)}
	if l == m {
		return r, nil
	}
	// Cutoff in cycles per input sample, and the taps that span
	// zeroCrossings periods of the lower rate on each side.
	scale := min(1, float64(l)/float64(m))
	c := cutoff * scale
	half := int(math.Ceil(zeroCrossings / scale))
	r.taps = 2 * half
	r.coef = make([]float32, l*r.taps)
	w := make([]float64, r.taps)
	for p := range l {
		frac := float64(p) / float64(l)
		var sum float64
		for i := range w {
			// Input frame floor(t)-half+1+i lies d input samples before t.
			d := frac + float64(half-1-i)
			w[i] = 2 * c * sinc(2*c*d) * kaiser(d/float64(half), kaiserBeta)
			sum += w[i]
		}
		for i, x := range w {
			r.coef[p*r.taps+i] = float32(x / sum)
		}
	}
	return r, nil
}

// InRateHz and OutRateHz are the rates; Channels the channel count.
func (r *Resampler) InRateHz() int  { return r.inRate }
func (r *Resampler) OutRateHz() int { return r.outRate }
func (r *Resampler) Channels() int  { return r.channels }

// MaxFrames is the most output frames Push writes for in input frames.
func (r *Resampler) MaxFrames(in int) int {
	return int(int64(in)*r.l/r.m) + 2
}

// OutFrame returns the index of the first output frame at or after input
// frame k: where a stream whose first frame is k starts at the output rate.
func (r *Resampler) OutFrame(k int64) int64 {
	return ceilDiv(k*r.l, r.m)
}

// Push resamples the interleaved frames of src, the input frames from
// index first on, into dst and returns how many output frames it wrote and
// the index of the first (counted at the output rate from the same origin,
// so output frame j is at time j/OutRateHz where input frame k is at
// k/InRateHz). dst needs room for MaxFrames(len(src)/Channels()) frames.
// When first is not where the previous chunk ended, the filter restarts
// there. A trailing partial frame of src is ignored.
func (r *Resampler) Push(dst, src []float32, first int64) (n int, dstFirst int64) {
	ch := r.channels
	in := len(src) / ch
	if r.taps == 0 { // equal rates
		copy(dst, src[:in*ch])
		return in, first
	}
	if !r.started || first != r.base+int64(r.frames) {
		r.reset(first)
	}
	// Append src to the history.
	need := (r.frames + in) * ch
	if need > cap(r.buf) {
		nb := make([]float32, need, need+need/2)
		copy(nb, r.buf[:r.frames*ch])
		r.buf = nb
	}
	r.buf = r.buf[:need]
	copy(r.buf[r.frames*ch:], src[:in*ch])
	r.frames += in

	half := int64(r.taps / 2)
	end := r.base + int64(r.frames)
	dstFirst = r.j
	for r.q+half < end && (n+1)*ch <= len(dst) {
		at := int(r.q-half+1-r.base) * ch
		w := r.coef[int(r.p)*r.taps : int(r.p+1)*r.taps]
		out := dst[n*ch : (n+1)*ch]
		for c := range out {
			var acc float32
			x := r.buf[at+c:]
			for i, h := range w {
				acc += float32(x[i*ch] * h)
			}
			out[c] = acc
		}
		n++
		r.j++
		r.p += r.m
		r.q += r.p / r.l
		r.p %= r.l
	}
	// Keep the frames the next output still needs.
	keep := r.q - half + 1
	if drop := int(keep - r.base); drop > 0 {
		drop = min(drop, r.frames)
		copy(r.buf, r.buf[drop*ch:r.frames*ch])
		r.frames -= drop
		r.base += int64(drop)
		r.buf = r.buf[:r.frames*ch]
	}
	return n, dstFirst
}

// reset restarts the filter at input frame first: the frames before it
// are silence.
func (r *Resampler) reset(first int64) {
	r.j = r.OutFrame(first)
	r.q = floorDiv(r.j*r.m, r.l)
	r.p = r.j*r.m - r.q*r.l
	half := int64(r.taps / 2)
	r.base = r.q - half + 1
	r.frames = int(first - r.base)
	need := r.frames * r.channels
	if need > cap(r.buf) {
		r.buf = make([]float32, need)
	}
	r.buf = r.buf[:need]
	clear(r.buf)
	r.started = true
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// kaiser is the Kaiser window at x in [-1, 1].
func kaiser(x, beta float64) float64 {
	if x <= -1 || x >= 1 {
		return 0
	}
	return bessel0(beta*math.Sqrt(1-x*x)) / bessel0(beta)
}

// bessel0 is the modified Bessel function of the first kind, order 0.
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < 1e-17*sum {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
