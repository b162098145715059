// Package synthetic provides deterministic synthetic sources: a camera
// (Video) and a microphone (Audio). They are fusiond's default demo and the
// backbone of its tests, because they come with ground truth: every test
// can ask where the disc is and which sound is playing, and check what the
// pipeline decided against it.
//
// # Video
//
// Video draws a bright white (255) disc on a dark, noisy background: every
// byte of every BGR24 pixel is a mid-grey of 64 plus uniform noise within
// ±NoiseAmplitude. The disc moves at a constant speed on a straight heading
// and bounces off the frame's edges, so there is always motion and its
// position is known; with a VisiblePeriod it is drawn only for the first
// VisibleFor of each period, so presence comes and goes. ShapeAt returns the
// disc's centre and visibility for any frame.
//
// # Audio
//
// Audio plays a schedule of events, once or repeated every Period: a tone
// (a sine), a noise burst (white noise), or speech-like sound (a harmonic
// series on a fundamental whose pitch drifts by ±15%, shaped by formants
// near 500, 1500 and 2500 Hz, chopped into syllables at about 4 Hz with
// gaps between them). Every event has a 5 ms raised-cosine attack and
// release. The events sum to one source signal s(k); channel c hears
// s(k − DelayFrames(c)), the source arriving c×ChannelDelay later as from
// one direction, plus its own independent background noise at NoiseDBFS
// RMS. Samples are clipped to [-1, 1]. ActiveAt says which event the
// undelayed source plays at any time.
//
// # Determinism
//
// Every pixel and sample is a pure function of the config (seed included)
// and its index: a frame of its sequence number, a sample of its channel and
// stream frame index. Noise comes from counter-based hashing (splitmix64 of
// seed, stream part and index), not from a stateful generator, and signals
// use closed-form phases. So Render and Fill are random-access, allocate
// nothing, and are safe to call from any goroutine: filling a range of
// audio in pieces gives exactly the samples of filling it at once, and two
// runs of one config give identical frames and chunks. Within one
// architecture this is bit-exact; across architectures the floating-point
// audio may differ in the last bits where a compiler fuses multiply-adds.
//
// Time comes only from the injected av.Clock: Run waits on it for each
// frame's capture time, and for the capture of each chunk's last frame, so
// with an av.VirtualClock a test decides exactly when every sample arrives.
// Run does not close its output queue; its caller owns that.
package synthetic
