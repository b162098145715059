// Package mic captures microphones through PortAudio.
//
// A Mic opens its device (by name, index or "default") in blocking mode,
// reads fixed-size buffers of int16 or float32 samples, converts them to
// float32 chunks from a pool and sends them on. Capture times come from
// sample counts: the stream's first frame is placed at the first buffer's
// arrival minus its duration and the configured latency, and frame k at
// that origin plus k/rate, so chunk timestamps carry no callback jitter and
// device clock drift shows up as a slow divergence of capture and arrival
// times, which the synchroniser can estimate. Input overflows reported by
// PortAudio are counted (Overflows, and the drop reason "input_overflow").
//
// If the device fails (missing at start, or vanishing mid-run), Run returns
// an error; ingest/retry reopens it with backoff. Frame counts run on across
// reopens, skipping the frames of the gap, so capture times stay on the
// same time line.
//
// The capture code needs cgo and libportaudio and is left out of builds with
// the nosensors tag, where New returns ErrNotBuilt.
//
// # Without a sound card
//
// ALSA's file plugin (testdata/alsa/asound.conf, ALSA_CONFIG_PATH) gives
// PortAudio real input devices that read a raw PCM file: the tests capture
// files byte-exactly, mono and stereo, through the real PortAudio path.
package mic
