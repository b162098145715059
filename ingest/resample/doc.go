// Package resample converts audio between sample rates, once, on its way
// into the pipeline's analysis: fusiond's audio features run at one
// analysis rate (16 kHz by default) whatever the microphone delivers.
//
// A Resampler is a polyphase windowed-sinc filter for one rational ratio
// out/in = L/M (the rates divided by their greatest common divisor). Output
// frame j lies at input position j·M/L; it is the weighted sum of the T
// input frames around that position, with the weights of phase
// (j·M mod L) of a Kaiser-windowed sinc whose cutoff lies below the lower
// of the two Nyquist frequencies (so that downsampling does not alias).
// Each phase's weights sum to one: DC passes unchanged. Flat to about 0.39
// of the lower rate, at least 80 dB down from its Nyquist frequency on
// (measured in the tests).
//
// It is streaming and deterministic: output frame j depends only on input
// frames (by their index in the stream), never on how the input was cut
// into chunks, and it is computed with float32 products rounded before
// each sum (no fused multiply-add), so the same input gives the same bits
// on every machine. Channels are resampled independently and stay
// interleaved. A chunk that does not follow the previous one (a dropped
// chunk, a device restart) restarts the filter at its first frame. The
// filter delays nothing in time (output frame j is the signal at time
// j/outRate), but output frame j needs input up to T/2 frames later, so
// the last T/2 input frames of a stream produce no output.
//
// Steady state allocates nothing: the history buffer grows only when a
// chunk is longer than any before.
package resample
