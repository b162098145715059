package sync

import "github.com/seed-4c364652/fusiond/ingest/av"

// audioRing keeps the most recent audio of one stream, indexed by absolute
// frame number (counted from the start of the stream), with a mark per frame
// saying whether real audio filled it.
type audioRing struct {
	rateHz   int
	channels int
	size     int64 // frames held
	data     []float32
	valid    []bool

	originNS int64 // capture time of frame 0
	begin    int64 // first frame ever written
	end      int64 // one past the newest frame written
	hasAudio bool

	offsetNS int64       // static offset added to capture times
	clk      *AudioClock // when set, it times the frames
	restarts uint64      // discontinuities without a clock
}

func newAudioRing(frames, rateHz, channels int) *audioRing {
	return &audioRing{
		rateHz:   rateHz,
		channels: channels,
		size:     int64(frames),
		data:     make([]float32, frames*channels),
		valid:    make([]bool, frames),
	}
}

func (r *audioRing) started() bool { return r.hasAudio }

// index returns the frame number captured at (or just before) time t.
func (r *audioRing) index(t int64) int64 {
	if r.clk != nil {
		return r.clk.FrameAt(t)
	}
	return av.NSToFrames(t-r.originNS, r.rateHz)
}

// timeOf returns the capture time of frame k.
func (r *audioRing) timeOf(k int64) int64 {
	if r.clk != nil {
		return r.clk.TimeOf(k)
	}
	return r.originNS + av.FramesToNS(k, r.rateHz)
}

// discontinuityFrames is how far back a chunk's frame count must go to be a
// restarted device rather than a chunk out of order.
func (r *audioRing) discontinuityFrames() int64 {
	if r.clk != nil {
		return av.NSToFrames(r.clk.cfg.DiscontinuityNS, r.rateHz)
	}
	return av.NSToFrames(250e6, r.rateHz)
}

// write copies a chunk in. The first chunk fixes the stream's time origin:
// later capture times follow from frame counts. It returns false when the
// chunk lies wholly before audio already written.
func (r *audioRing) write(c *av.AudioChunk) bool {
	first, last := c.FirstFrame, c.FirstFrame+int64(c.Frames())
	if r.hasAudio && first < r.end-r.discontinuityFrames() {
		// The frame count restarted (a reconnect, a looping recording):
		// what the ring holds belongs to the old count.
		r.hasAudio = false
		if r.clk == nil {
			r.restarts++
		}
	}
	if r.clk != nil {
		r.clk.Observe(first, c.Frames(), c.ArrivalNS)
	}
	if !r.hasAudio {
		r.originNS = c.CaptureNS - av.FramesToNS(c.FirstFrame, c.RateHz) + r.offsetNS
		r.begin, r.end, r.hasAudio = c.FirstFrame, c.FirstFrame, true
		clear(r.valid)
	}
	if last <= r.end {
		return false
	}
	// Frames skipped since the last chunk (a dropped chunk) hold no audio.
	for k := max(r.end, first-r.size); k < first; k++ {
		r.valid[k%r.size] = false
	}
	for k := max(first, r.end); k < last; k++ {
		i := k % r.size
		copy(r.data[i*int64(r.channels):(i+1)*int64(r.channels)], c.Data[(k-first)*int64(r.channels):])
		r.valid[i] = true
	}
	r.end = last
	return true
}

// read fills dst with the frames starting at the one captured at t, zeros
// where there is no audio, and returns the first frame's capture time and
// how many frames held real audio.
func (r *audioRing) read(t int64, dst []float32) (startNS int64, covered int) {
	if !r.hasAudio {
		clear(dst)
		return t, 0
	}
	k0 := r.index(t)
	frames := int64(len(dst) / r.channels)
	oldest := max(r.begin, r.end-r.size)
	for j := int64(0); j < frames; j++ {
		k := k0 + j
		out := dst[j*int64(r.channels) : (j+1)*int64(r.channels)]
		i := k % r.size
		if k < oldest || k >= r.end || !r.valid[i] {
			clear(out)
			continue
		}
		copy(out, r.data[i*int64(r.channels):])
		covered++
	}
	return r.timeOf(k0), covered
}
