package realbench

import "math"

// Mouth-opening envelope constants: the frame's voice level in dB below the
// clip's loudest frame maps linearly onto a closed (ClosedBelowDB) to a
// fully open (OpenAboveDB) mouth; an opening decays by ReleasePerFrame per
// frame at most, as a jaw closes more slowly than it opens.
const (
	ClosedBelowDB   = -30.0
	OpenAboveDB     = -6.0
	ReleasePerFrame = 0.5
)

// Envelope returns the mouth opening (0 closed … 1 fully open) for each of
// frames video frames at fps, from mono 16-bit samples at rateHz: the RMS
// level in a window of two frame periods centred on each frame's time,
// relative to the loudest frame's, mapped between ClosedBelowDB and
// OpenAboveDB, then released by at most ReleasePerFrame a frame. Samples
// beyond the voice count as silence.
func Envelope(samples []int16, rateHz int, fps float64, frames int) []float64 {
	open := make([]float64, frames)
	if frames == 0 || rateHz <= 0 || fps <= 0 {
		return open
	}
	rms := make([]float64, frames)
	peak := 0.0
	half := int(math.Round(float64(rateHz) / fps)) // window = 2 frame periods
	for i := range rms {
		centre := int(math.Round(float64(i) * float64(rateHz) / fps))
		lo, hi := min(len(samples), max(0, centre-half)), min(len(samples), centre+half)
		sum := 0.0
		for _, s := range samples[lo:max(hi, lo)] {
			v := float64(s) / 32768
			sum += v * v
		}
		rms[i] = math.Sqrt(sum / float64(2*half))
		peak = max(peak, rms[i])
	}
	if peak == 0 {
		return open
	}
	prev := 0.0
	for i, r := range rms {
		a := 0.0
		if r > 0 {
			db := 20 * math.Log10(r/peak)
			a = min(1, max(0, (db-ClosedBelowDB)/(OpenAboveDB-ClosedBelowDB)))
		}
		a = max(a, prev-ReleasePerFrame)
		open[i], prev = a, a
	}
	return open
}
