package sync

import (
	"context"
	"errors"
	"fmt"
	"math"
	gosync "sync"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/resample"
)

// Config configures a FrameSync. Times are nanoseconds.
type Config struct {
	// Policy groups the cameras' frames into the sets that trigger
	// bundles (FrameSets; "" is PolicyWindow). With one camera every
	// policy makes a set of each frame, so the bundles are the window
	// policy's; several cameras need approximate or exact.
	Policy Policy
	// Video is the (first) camera's stream; empty when no camera is
	// configured.
	Video av.StreamID
	// MoreVideo are the other cameras' streams: each set of the policy
	// (one frame per camera) is a bundle, at its newest frame's capture
	// time (av.Bundle.MoreFrames).
	MoreVideo []av.StreamID
	// FramePeriodNS is the camera's nominal frame period; with no camera,
	// or while it is silent, audio-only bundles come at this period.
	FramePeriodNS int64
	// Audio is the microphone stream; empty when none is configured.
	Audio         av.StreamID
	AudioRateHz   int // the microphone's own rate: its chunks must have it
	AudioChannels int
	// MoreAudio are the other microphones: each contributes its window
	// around a bundle's time (av.Bundle.MoreAudio), resampled to the
	// analysis rate. One silent for MaxWaitNS is not waited for.
	MoreAudio []AudioStream
	// AnalysisRateHz is the rate of the bundles' audio: chunks are
	// resampled to it (ingest/resample) as they enter, once, channels
	// kept. 0 keeps AudioRateHz. Recordings hold the microphone's own
	// audio, so a replay resamples it again, bit for bit the same.
	AnalysisRateHz int
	// AudioWindowNS is the span of audio before each frame that goes into
	// its bundle, and AudioAfterNS the span after it: each bundle's audio
	// is [t - AudioWindowNS, t + AudioAfterNS), sliced sample-accurately
	// across chunk boundaries.
	AudioWindowNS int64
	AudioAfterNS  int64
	// MaxWaitNS is the longest a frame waits, in arrival time, for its audio.
	MaxWaitNS int64
	// MinAudioCoverage is the fraction of the window that real audio must
	// cover for audio to count as present.
	MinAudioCoverage float64
	// PendingFrames bounds the frames waiting for audio; when it is full the
	// oldest is emitted at once with the audio it has.
	PendingFrames int
	// VideoOffsetNS and AudioOffsetNS are static per-stream offsets added
	// to capture times (a camera's exposure delay, a device's known
	// latency), bringing the streams onto one time base.
	VideoOffsetNS int64
	AudioOffsetNS int64
	// EstimateDrift times audio frames with an AudioClock fitted to the
	// chunks' frame counts against their arrival times (plus
	// AudioOffsetNS, typically minus the input latency), instead of the
	// chunks' own capture times at the nominal rate.
	EstimateDrift bool
	// Clock tunes the estimator (its RateHz and OffsetNS are set from the
	// fields above).
	Clock ClockConfig
	// Late, when set, receives each frame that arrives after its bundle
	// time was passed (counted as a late drop all the same) instead of
	// having it released: a late-data output. It then owns the frame.
	Late func(av.Sample)
}

// AudioStream is one microphone's stream.
type AudioStream struct {
	Stream   av.StreamID
	RateHz   int // the microphone's own rate: its chunks must have it
	Channels int
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("sync: bad config")

func (c Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.Video == "" && c.Audio == "":
		return bad("no video and no audio stream")
	case c.FramePeriodNS <= 0:
		return bad("frame period %d ns is not positive", c.FramePeriodNS)
	case c.Audio != "" && (c.AudioRateHz <= 0 || c.AudioChannels <= 0):
		return bad("audio stream %q needs a rate and a channel count", c.Audio)
	case c.AudioWindowNS < 0 || c.AudioAfterNS < 0:
		return bad("audio window [-%d ns, +%d ns] is negative", c.AudioWindowNS, c.AudioAfterNS)
	case c.AnalysisRateHz < 0:
		return bad("analysis rate %d Hz is negative", c.AnalysisRateHz)
	case c.Audio != "" && av.NSToFrames(c.AudioWindowNS+c.AudioAfterNS, c.analysisRate()) < 1:
		return bad("audio window of %d ns holds no audio frame at %d Hz", c.AudioWindowNS+c.AudioAfterNS, c.analysisRate())
	case c.AudioWindowNS+c.AudioAfterNS > 60e9:
		return bad("audio window of %d ns is longer than a minute", c.AudioWindowNS+c.AudioAfterNS)
	case c.Video != "" && c.Video == c.Audio:
		return bad("stream %q is both the video and the audio stream", c.Video)
	case c.MaxWaitNS < 0:
		return bad("max wait %d ns is negative", c.MaxWaitNS)
	case c.PendingFrames < 1:
		return bad("pending frame capacity %d is not positive", c.PendingFrames)
	case c.Video == "" && len(c.MoreVideo) > 0:
		return bad("more cameras but no first camera stream")
	case c.Audio == "" && len(c.MoreAudio) > 0:
		return bad("more microphones but no first microphone stream")
	case c.Policy != "" && c.Policy != PolicyWindow && c.Policy != PolicyApproximate && c.Policy != PolicyExact:
		return bad("policy %q is not window, approximate or exact", c.Policy)
	}
	seen := map[av.StreamID]bool{c.Video: true, c.Audio: true}
	for _, v := range c.MoreVideo {
		if v == "" || seen[v] {
			return bad("camera stream %q is empty or used twice", v)
		}
		seen[v] = true
	}
	for _, a := range c.MoreAudio {
		if a.Stream == "" || seen[a.Stream] {
			return bad("microphone stream %q is empty or used twice", a.Stream)
		}
		if a.RateHz <= 0 || a.Channels <= 0 {
			return bad("audio stream %q needs a rate and a channel count", a.Stream)
		}
		seen[a.Stream] = true
	}
	return nil
}

// analysisRate is the rate of the bundles' audio.
func (c Config) analysisRate() int {
	if c.AnalysisRateHz > 0 {
		return c.AnalysisRateHz
	}
	return c.AudioRateHz
}

// videoJumpNS: a frame this far behind the newest is a candidate for a
// camera clock restart rather than a late frame.
const videoJumpNS = 1e9

// FrameSync bundles frames with the audio before them.
type FrameSync struct {
	cfg     Config
	drops   *av.Drops
	bundles *av.BundlePool
	ring    *audioRing // the first microphone's (mics[0].ring); nil without audio
	mics    []*mic     // every microphone, in configuration order

	windowFrames int64

	sets    *FrameSets // the cameras' frames into sets (nil without a camera)
	out     func(*av.Bundle)
	pending []pend // sets waiting for audio, in capture order
	nowNS   int64  // latest arrival time seen
	startNS int64  // arrival time of the first sample
	started bool

	seq              uint64
	lastTriggerNS    int64 // capture time of the last bundle emitted
	haveTrigger      bool
	lastFrameArrival int64
	sawFrame         bool

	jumpRun int // frames in a row far behind the newest

	stats Stats
	pubMu gosync.Mutex
	pub   Stats
}

// mic is one microphone's audio on its way into bundles.
type mic struct {
	stream   av.StreamID
	rateHz   int
	channels int
	ring     *audioRing
	// rs resamples audio chunks to the analysis rate into rsChunk (nil
	// when the rates are equal).
	rs      *resample.Resampler
	rsChunk av.AudioChunk
	// lastArrivalNS is the arrival of its last chunk, when heard.
	lastArrivalNS int64
	heard         bool
}

// pend is a set of frames waiting for its audio: its time and arrival,
// the first camera's frame and the others' (nil where missing).
type pend struct {
	t, arrivalNS int64
	f            *av.Frame
	more         []*av.Frame
}

// Stats are a FrameSync's counters since it started.
type Stats struct {
	Bundles      uint64 // emitted
	VideoMissing uint64 // bundles without a frame (camera silent or absent)
	AudioMissing uint64 // bundles whose audio coverage was too low
	Deadline     uint64 // bundles emitted by their deadline rather than complete
	GapFrames    uint64 // audio frames zero-filled in slices (never arrived)
	ClockResets  uint64 // audio clock discontinuities (device reconnect, looping input)
	VideoResets  uint64 // camera timeline restarts (frames far behind, three in a row)
	// LateAudio counts chunks that arrived with audio some bundle already
	// emitted needed (they are kept for later bundles).
	LateAudio uint64
	DriftPPM  float64
}

// Stats returns the counters.
// It is safe to call from any goroutine (a status publisher) while
// another pushes samples.
func (s *FrameSync) Stats() Stats {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	return s.pub
}

// publish snapshots the counters for Stats.
func (s *FrameSync) publish() {
	st := s.stats
	if s.ring != nil {
		st.ClockResets = s.ring.restarts
		if s.ring.clk != nil {
			st.ClockResets, st.DriftPPM = s.ring.clk.Resets(), s.ring.clk.DriftPPM()
		}
	}
	s.pubMu.Lock()
	s.pub = st
	s.pubMu.Unlock()
}

// NewFrameSync returns a synchroniser. Drops it makes (late or
// out-of-order samples) are counted in drops.
func NewFrameSync(cfg Config, drops *av.Drops) (*FrameSync, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &FrameSync{cfg: cfg, drops: drops, pending: make([]pend, 0, cfg.PendingFrames)}
	var windowSamples []int
	if cfg.Audio != "" {
		rate := cfg.analysisRate()
		s.windowFrames = av.NSToFrames(cfg.AudioWindowNS+cfg.AudioAfterNS, rate)
		for _, a := range append([]AudioStream{{cfg.Audio, cfg.AudioRateHz, cfg.AudioChannels}}, cfg.MoreAudio...) {
			m, err := s.newMic(a)
			if err != nil {
				return nil, err
			}
			s.mics = append(s.mics, m)
			windowSamples = append(windowSamples, int(s.windowFrames)*a.Channels)
		}
		s.ring = s.mics[0].ring
	}
	s.bundles = av.NewBundlePoolN(1+len(cfg.MoreVideo), windowSamples, cfg.PendingFrames+4)
	if cfg.Video != "" {
		sets, err := NewFrameSets(FrameSetsConfig{Policy: cfg.Policy, Cameras: 1 + len(cfg.MoreVideo), QueueSize: cfg.PendingFrames, MaxWaitNS: cfg.MaxWaitNS},
			s.pushSet, func(f *av.Frame) { s.drop(f, av.DropLate) })
		if err != nil {
			return nil, err
		}
		s.sets = sets
	}
	return s, nil
}

// newMic sets up microphone a's ring (and resampler, and clock) at the
// analysis rate.
func (s *FrameSync) newMic(a AudioStream) (*mic, error) {
	cfg := s.cfg
	rate := cfg.analysisRate()
	m := &mic{stream: a.Stream, rateHz: a.RateHz, channels: a.Channels}
	if rate != a.RateHz {
		rs, err := resample.New(a.RateHz, rate, a.Channels)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		m.rs = rs
		m.rsChunk.RateHz, m.rsChunk.Channels = rate, a.Channels
	}
	// Room for the window, plus the audio that can arrive while frames
	// wait, plus a second of slack for chunking and jitter.
	keep := s.windowFrames + av.NSToFrames(cfg.MaxWaitNS+1e9, rate)
	m.ring = newAudioRing(int(keep), rate, a.Channels)
	m.ring.offsetNS = cfg.AudioOffsetNS
	if cfg.EstimateDrift {
		cc := cfg.Clock
		cc.RateHz, cc.OffsetNS = rate, cfg.AudioOffsetNS
		clk, err := NewAudioClock(cc)
		if err != nil {
			return nil, err
		}
		m.ring.clk = clk
	}
	return m, nil
}

// pushSet takes a set of the cameras' frames (FrameSets), at time t (its
// newest frame's capture time), as the trigger of a bundle.
func (s *FrameSync) pushSet(set []*av.Frame, t int64) {
	p := pend{t: t, f: set[0]}
	if len(set) > 1 {
		p.more = append([]*av.Frame(nil), set[1:]...)
	}
	have := false
	for _, f := range set {
		if f != nil {
			p.arrivalNS, have = max(p.arrivalNS, f.ArrivalNS), true
		}
	}
	if have {
		s.hold(p, s.out)
	}
}

// camera returns the index of stream among the cameras, or -1.
func (s *FrameSync) camera(id av.StreamID) int {
	if s.cfg.Video == "" {
		return -1
	}
	if id == s.cfg.Video {
		return 0
	}
	for i, v := range s.cfg.MoreVideo {
		if id == v {
			return i + 1
		}
	}
	return -1
}

// microphone returns stream's microphone, or nil.
func (s *FrameSync) microphone(id av.StreamID) *mic {
	for _, m := range s.mics {
		if m.stream == id {
			return m
		}
	}
	return nil
}

// Push takes ownership of one sample and calls emit, in capture-time order,
// for every bundle that became ready. Samples must be pushed in arrival
// order.
func (s *FrameSync) Push(smp av.Sample, emit func(*av.Bundle)) {
	m := smp.SampleMeta()
	if !s.started {
		s.startNS, s.started = m.ArrivalNS, true
	}
	s.nowNS = max(s.nowNS, m.ArrivalNS)
	if cam := s.camera(m.Stream); cam >= 0 {
		f, ok := smp.(*av.Frame)
		if !ok {
			s.drop(smp, av.DropWrongKind)
		} else {
			f.CaptureNS += s.cfg.VideoOffsetNS
			if len(s.cfg.MoreVideo) > 0 {
				// A frame waiting in a set is heard: no audio-only
				// bundles pass it. (With one camera, a frame is a set.)
				s.sawFrame, s.lastFrameArrival = true, max(s.lastFrameArrival, f.ArrivalNS)
			}
			s.out = emit
			s.sets.Add(cam, f) // to pushSet
			s.out = nil
		}
	} else if mc := s.microphone(m.Stream); mc != nil {
		s.pushAudio(mc, smp)
	} else {
		s.drop(smp, av.DropUnknownStream)
	}
	s.emitReady(emit, false)
}

// pushAudio writes a chunk of microphone mc into its ring.
func (s *FrameSync) pushAudio(mc *mic, smp av.Sample) {
	c, ok := smp.(*av.AudioChunk)
	if !ok || c.Channels != mc.channels || c.RateHz != mc.rateHz || c.FirstFrame < 0 || len(c.Data)%c.Channels != 0 {
		s.drop(smp, av.DropWrongKind)
		return
	}
	mc.lastArrivalNS, mc.heard = c.ArrivalNS, true
	w := s.resampled(mc, c)
	if len(w.Data) == 0 { // a chunk too short to complete an output frame
		c.Release()
		return
	}
	if s.haveTrigger && mc.ring.started() && mc.ring.timeOf(w.FirstFrame) < s.lastTriggerNS+s.cfg.AudioAfterNS {
		s.stats.LateAudio++
	}
	if !mc.ring.write(w) {
		s.drops.Add(c.Stream, av.DropOutOfOrder, 1)
	}
	c.Release()
}

// Advance tells the synchroniser that arrival time has reached nowNS with
// no sample arriving, and emits what became due: frames whose deadline
// passed, and audio-only bundles while the camera is silent. The stage
// calls it from a timer so that streams that all stop still get their
// missing markers; being an input like a sample, it keeps output a pure
// function of the inputs.
func (s *FrameSync) Advance(nowNS int64, emit func(*av.Bundle)) {
	if !s.started || nowNS <= s.nowNS {
		return
	}
	s.nowNS = nowNS
	if s.sets != nil {
		s.out = emit
		s.sets.Advance(nowNS)
		s.out = nil
	}
	s.emitReady(emit, false)
}

// Flush emits every pending frame with the audio there is. Call it at the
// end of the input.
func (s *FrameSync) Flush(emit func(*av.Bundle)) {
	if s.sets != nil {
		s.sets.Flush()
	}
	s.emitReady(emit, true)
}

// resampled returns c at the analysis rate: c itself when the rates are
// equal, else the microphone's scratch chunk, valid until the next call. Its
// capture times keep c's time origin: output frame j is at origin +
// j/AnalysisRateHz where c's frame k is at origin + k/AudioRateHz.
func (s *FrameSync) resampled(mc *mic, c *av.AudioChunk) *av.AudioChunk {
	if mc.rs == nil {
		return c
	}
	r := &mc.rsChunk
	need := mc.rs.MaxFrames(c.Frames()) * c.Channels
	if cap(r.Data) < need {
		r.Data = make([]float32, need)
	}
	n, first := mc.rs.Push(r.Data[:need], c.Data, c.FirstFrame)
	originNS := c.CaptureNS - av.FramesToNS(c.FirstFrame, c.RateHz)
	r.Meta = c.Meta
	r.Data, r.FirstFrame = r.Data[:n*c.Channels], first
	r.CaptureNS = originNS + av.FramesToNS(first, r.RateHz)
	return r
}

func (s *FrameSync) drop(smp av.Sample, reason av.DropReason) {
	s.drops.Add(smp.SampleMeta().Stream, reason, 1)
	if reason == av.DropLate && s.cfg.Late != nil {
		s.cfg.Late(smp)
		return
	}
	smp.Release()
}

// dropSet drops every frame of p.
func (s *FrameSync) dropSet(p pend, reason av.DropReason) {
	if p.f != nil {
		s.drop(p.f, reason)
	}
	for _, f := range p.more {
		if f != nil {
			s.drop(f, reason)
		}
	}
}

// hold queues set p for its audio; a set behind those already taken is
// dropped, unless the cameras' clock started again.
func (s *FrameSync) hold(p pend, emit func(*av.Bundle)) {
	newest := s.lastTriggerNS
	if n := len(s.pending); n > 0 {
		newest = s.pending[n-1].t
	}
	if (s.haveTrigger || len(s.pending) > 0) && p.t <= newest {
		// Behind a frame already taken, or behind an audio-only bundle
		// emitted while the camera was silent. Far behind, three times in
		// a row, is the camera's clock starting again (a reconnect, a
		// looping recording): its timeline restarts.
		if newest-p.t > videoJumpNS {
			s.jumpRun++
		} else {
			s.jumpRun = 0
		}
		if s.jumpRun < 3 {
			reason := av.DropOutOfOrder
			if p.t <= s.lastTriggerNS && s.haveTrigger {
				reason = av.DropLate
			}
			s.dropSet(p, reason)
			return
		}
		for _, q := range s.pending {
			emit(s.bundle(q.t, q))
		}
		s.pending = s.pending[:0]
		s.lastTriggerNS, s.haveTrigger = p.t-1, true
		s.stats.VideoResets++
	}
	s.jumpRun = 0
	s.sawFrame = true
	// (Push may have seen a later frame, waiting in FrameSets.)
	s.lastFrameArrival = max(s.lastFrameArrival, p.arrivalNS)
	if len(s.pending) == cap(s.pending) {
		s.stats.Deadline++
		emit(s.bundle(s.pending[0].t, s.pending[0]))
		s.pending = append(s.pending[:0], s.pending[1:]...)
	}
	s.pending = append(s.pending, p)
}

// emitReady emits pending frames whose audio is complete or whose deadline
// passed, then audio-only bundles while the camera is silent.
func (s *FrameSync) emitReady(emit func(*av.Bundle), flush bool) {
	s.emitDue(emit, flush)
	s.publish()
}

func (s *FrameSync) emitDue(emit func(*av.Bundle), flush bool) {
	n := 0
	for _, f := range s.pending {
		done := s.audioDone(f.t)
		if !flush && !done && f.arrivalNS+s.cfg.MaxWaitNS > s.nowNS {
			break
		}
		if !done {
			s.stats.Deadline++
		}
		emit(s.bundle(f.t, f))
		n++
	}
	s.pending = append(s.pending[:0], s.pending[n:]...)
	if len(s.pending) > 0 || s.ring == nil {
		return
	}
	// The camera is silent (or absent): trigger on the audio clock.
	lastHeard := s.startNS
	if s.sawFrame {
		lastHeard = s.lastFrameArrival
	}
	cameraSilent := s.cfg.Video == "" || lastHeard+s.cfg.MaxWaitNS <= s.nowNS
	if !cameraSilent {
		return
	}
	for {
		if !s.ring.started() {
			return
		}
		next := s.ring.timeOf(s.ring.begin) + s.cfg.AudioWindowNS
		if s.haveTrigger {
			next = max(next, s.lastTriggerNS+s.cfg.FramePeriodNS)
		}
		if !s.audioDone(next) {
			return
		}
		emit(s.bundle(next, pend{}))
	}
}

// audioDone reports whether the audio window ending at t has arrived, or
// there is no audio to wait for: the first microphone's, and that of every
// other one not silent for MaxWaitNS.
func (s *FrameSync) audioDone(t int64) bool {
	if s.ring == nil {
		return true
	}
	if !s.windowIn(s.ring, t) {
		return false
	}
	for _, m := range s.mics[1:] {
		if m.heard && m.lastArrivalNS+s.cfg.MaxWaitNS > s.nowNS && !s.windowIn(m.ring, t) {
			return false
		}
	}
	return true
}

// windowIn reports whether r holds the whole window of time t.
func (s *FrameSync) windowIn(r *audioRing, t int64) bool {
	return r.started() && r.end >= r.index(t-s.cfg.AudioWindowNS)+s.windowFrames
}

// Watermark returns the capture time up to which the audio stream is
// complete: a frame at t can be bundled once t + AudioAfterNS is below it.
// It is math.MinInt64 before any audio.
func (s *FrameSync) Watermark() int64 {
	if s.ring == nil || !s.ring.started() {
		return math.MinInt64
	}
	return s.ring.timeOf(s.ring.end)
}

// bundle makes the bundle for trigger time t with the set p (whose frames
// may be nil; the zero pend for none) and takes ownership of its frames.
// With several cameras or microphones, those absent are named in
// MissingStreams.
func (s *FrameSync) bundle(t int64, p pend) *av.Bundle {
	b := s.bundles.Get()
	s.seq++
	b.Seq, b.TimeNS, b.Frame = s.seq, t, p.f
	copy(b.MoreFrames, p.more)
	s.lastTriggerNS, s.haveTrigger = t, true
	s.stats.Bundles++
	video := p.f != nil
	for _, f := range p.more {
		video = video || f != nil
	}
	if !video {
		s.stats.VideoMissing++
		b.Missing = append(b.Missing, av.Video)
	}
	if len(s.cfg.MoreVideo) > 0 {
		if p.f == nil {
			b.MissingStreams = append(b.MissingStreams, s.cfg.Video)
		}
		for i, f := range b.MoreFrames {
			if f == nil {
				b.MissingStreams = append(b.MissingStreams, s.cfg.MoreVideo[i])
			}
		}
	}
	if s.ring == nil {
		b.Missing = append(b.Missing, av.Audio)
		b.Audio.Data = b.Audio.Data[:0]
	} else {
		for i, m := range s.mics {
			a := b.MicAudio(i)
			a.Stream, a.RateHz, a.Channels = m.stream, m.ring.rateHz, m.channels
			a.StartNS, a.Covered = m.ring.read(t-s.cfg.AudioWindowNS, a.Data)
			low := a.Coverage() < s.cfg.MinAudioCoverage
			if low && len(s.mics) > 1 {
				b.MissingStreams = append(b.MissingStreams, m.stream)
			}
			if i > 0 {
				continue
			}
			s.stats.GapFrames += uint64(a.Frames() - a.Covered)
			if low {
				s.stats.AudioMissing++
				b.Missing = append(b.Missing, av.Audio)
			}
		}
	}
	b.Stamps[av.StageCapture] = t
	b.Stamps[av.StageArrival] = s.nowNS
	return b
}

// Run is the sync stage: it pushes every sample from in (in the order
// received, which is arrival order) into s and sends the bundles to out,
// stamping each with clock's time. When in is closed it flushes, closes out
// and returns nil; if ctx ends first it releases what it holds and returns
// ctx's error.
//
// When no sample has arrived for a whole timer period (MaxWait/2), the
// timer advances the synchroniser's arrival time to the clock's time less
// MaxWait, so that a frame still waiting when every stream has stopped goes
// out with its missing markers within about 2.5 × MaxWait. While samples
// flow, live or replayed, they alone decide.
func Run(ctx context.Context, s *FrameSync, clock av.Clock, in <-chan av.Sample, out *av.Queue[*av.Bundle]) error {
	defer out.Close()
	received := false
	ticks := make(chan int64)
	tickCtx, stopTicks := context.WithCancel(ctx)
	var ticker gosync.WaitGroup
	defer ticker.Wait()
	defer stopTicks()
	if grace := s.cfg.MaxWaitNS; grace > 0 {
		period := max(grace/2, int64(1e6))
		ticker.Add(1)
		go func() {
			defer ticker.Done()
			for next := clock.Now() + period; ; next += period {
				if clock.WaitUntil(tickCtx, next) != nil {
					return
				}
				select {
				case ticks <- clock.Now() - grace:
				case <-tickCtx.Done():
					return
				}
			}
		}()
	}
	var sendErr error
	emit := func(b *av.Bundle) {
		if sendErr != nil {
			b.Release()
			return
		}
		b.Stamps[av.StageSync] = clock.Now()
		if err := out.Send(ctx, b); err != nil {
			b.Release()
			sendErr = err
		}
	}
	for {
		select {
		case smp, ok := <-in:
			if !ok {
				s.Flush(emit)
				return sendErr
			}
			s.Push(smp, emit)
			received = true
			if sendErr != nil {
				s.discard()
				return sendErr
			}
		case now := <-ticks:
			// Only a whole tick period without samples counts: while
			// they flow (live or replayed), they alone decide.
			if received || len(in) > 0 {
				received = false
				break
			}
			s.Advance(now, emit)
			if sendErr != nil {
				s.discard()
				return sendErr
			}
		case <-ctx.Done():
			s.discard()
			return ctx.Err()
		}
	}
}

// discard releases the frames still pending, counting them as dropped at
// shutdown.
func (s *FrameSync) discard() {
	for _, f := range s.pending {
		s.dropSet(f, av.DropShutdown)
	}
	s.pending = s.pending[:0]
}
