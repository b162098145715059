package av

// AudioChunk is a run of consecutive audio frames from one device, as
// interleaved float32 samples in [-1, 1].
type AudioChunk struct {
	Meta
	RateHz   int
	Channels int
	// FirstFrame is the index, counted from the start of the stream, of the
	// chunk's first audio frame (one sample per channel). Capture times of
	// audio come from these counts, not from callback times.
	FirstFrame int64
	Data       []float32

	pool *Pool[AudioChunk]
}

// AudioPool hands out chunks of one shape.
type AudioPool struct {
	pool     *Pool[AudioChunk]
	rateHz   int
	channels int
}

// NewAudioPool returns a pool of chunks of frames×channels samples that keeps
// up to capacity free chunks.
func NewAudioPool(rateHz, channels, frames, capacity int) *AudioPool {
	ap := &AudioPool{rateHz: rateHz, channels: channels}
	ap.pool = NewPool(capacity, func() *AudioChunk {
		return &AudioChunk{Data: make([]float32, frames*channels)}
	})
	return ap
}

// Get returns a chunk with its shape set and its header cleared.
func (ap *AudioPool) Get() *AudioChunk {
	c := ap.pool.Get()
	c.Meta = Meta{}
	c.RateHz, c.Channels, c.FirstFrame = ap.rateHz, ap.channels, 0
	c.Data = c.Data[:cap(c.Data)]
	c.pool = ap.pool
	return c
}

// Frames returns the number of audio frames in the chunk.
func (c *AudioChunk) Frames() int {
	if c.Channels == 0 {
		return 0
	}
	return len(c.Data) / c.Channels
}

// EndNS returns the capture time just after the chunk's last frame.
func (c *AudioChunk) EndNS() int64 {
	return c.CaptureNS + FramesToNS(int64(c.Frames()), c.RateHz)
}

// SampleMeta implements Sample.
func (c *AudioChunk) SampleMeta() *Meta { return &c.Meta }

// Release returns the chunk to its pool.
func (c *AudioChunk) Release() {
	if c == nil || c.pool == nil {
		return
	}
	p := c.pool
	c.pool = nil
	p.Put(c)
}

// FramesToNS converts a count of audio frames at rateHz to nanoseconds,
// rounding down, without overflow for any realistic count.
func FramesToNS(frames int64, rateHz int) int64 {
	r := int64(rateHz)
	return frames/r*1e9 + frames%r*1e9/r
}

// NSToFrames converts nanoseconds to a count of audio frames at rateHz,
// rounding down (towards minus infinity).
func NSToFrames(ns int64, rateHz int) int64 {
	r := int64(rateHz)
	q := ns / 1e9 * r
	rem := ns % 1e9
	if rem < 0 {
		rem += 1e9
		q -= r
	}
	return q + rem*r/1e9
}

// ToS16 converts a sample to 16-bit PCM: round(x·32768), clamped to the
// int16 range; NaN becomes 0.
func ToS16(x float32) int16 {
	v := float64(x) * 32768
	switch {
	case v != v: // NaN
		return 0
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v >= 0:
		return int16(v + 0.5)
	default:
		return -int16(-v + 0.5)
	}
}

// FromS16 converts 16-bit PCM to a sample: s/32768.
func FromS16(s int16) float32 { return float32(s) / 32768 }

// QuantizeS16 puts x on the 16-bit grid. Audio in the pipeline lies on this
// grid (microphones deliver 16-bit samples; other sources quantize), so a
// recording in pcm-s16 loses nothing and replays bit-exactly.
func QuantizeS16(x float32) float32 { return FromS16(ToS16(x)) }
