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
	// bundles (FrameSets; "" is PolicyWindow). With today's one camera
	// every policy makes a set of each frame, so the bundles are the
	// window policy's.
	Policy Policy
	// Video is the trigger stream; empty when no camera is configured.
	Video av.StreamID
	// FramePeriodNS is the camera's nominal frame period; with no camera,
	// or while it is silent, audio-only bundles come at this period.
	FramePeriodNS int64
	// Audio is the microphone stream; empty when none is configured.
	Audio         av.StreamID
	AudioRateHz   int // the microphone's own rate: its chunks must have it
	AudioChannels int
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
	case c.Policy != "" && c.Policy != PolicyWindow && c.Policy != PolicyApproximate && c.Policy != PolicyExact:
		return bad("policy %q is not window, approximate or exact", c.Policy)
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
	ring    *audioRing // nil without audio
	// rs resamples audio chunks to the analysis rate into rsChunk (nil
	// when the rates are equal).
	rs      *resample.Resampler
	rsChunk av.AudioChunk

	windowFrames int64

	sets    *FrameSets // the camera's frames into sets (nil without a camera)
	out     func(*av.Bundle)
	pending []*av.Frame // frames waiting for audio, in capture order
	nowNS   int64       // latest arrival time seen
	startNS int64       // arrival time of the first sample
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
	s := &FrameSync{cfg: cfg, drops: drops, pending: make([]*av.Frame, 0, cfg.PendingFrames)}
	windowSamples := 0
	if cfg.Audio != "" {
		rate := cfg.analysisRate()
		if rate != cfg.AudioRateHz {
			rs, err := resample.New(cfg.AudioRateHz, rate, cfg.AudioChannels)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrConfig, err)
			}
			s.rs = rs
			s.rsChunk.RateHz, s.rsChunk.Channels = rate, cfg.AudioChannels
		}
		windowFrames := av.NSToFrames(cfg.AudioWindowNS+cfg.AudioAfterNS, rate)
		windowSamples = int(windowFrames) * cfg.AudioChannels
		s.windowFrames = windowFrames
		// Room for the window, plus the audio that can arrive while frames
		// wait, plus a second of slack for chunking and jitter.
		keep := windowFrames + av.NSToFrames(cfg.MaxWaitNS+1e9, rate)
		s.ring = newAudioRing(int(keep), rate, cfg.AudioChannels)
		s.ring.offsetNS = cfg.AudioOffsetNS
		if cfg.EstimateDrift {
			cc := cfg.Clock
			cc.RateHz, cc.OffsetNS = rate, cfg.AudioOffsetNS
			clk, err := NewAudioClock(cc)
			if err != nil {
				return nil, err
			}
			s.ring.clk = clk
		}
	}
	s.bundles = av.NewBundlePool(windowSamples, cfg.PendingFrames+4)
	if cfg.Video != "" {
		sets, err := NewFrameSets(FrameSetsConfig{Policy: cfg.Policy, Cameras: 1, QueueSize: cfg.PendingFrames, MaxWaitNS: cfg.MaxWaitNS},
			s.pushSet, func(f *av.Frame) { s.drop(f, av.DropLate) })
		if err != nil {
			return nil, err
		}
		s.sets = sets
	}
	return s, nil
}

// pushSet takes a set of the cameras' frames (FrameSets) as the trigger of
// a bundle. There is one camera (Config.Video), so the set is its frame,
// at its capture time; several cameras need a bundle of several frames.
func (s *FrameSync) pushSet(set []*av.Frame, _ int64) {
	if f := set[0]; f != nil {
		s.pushFrame(f, s.out)
	}
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
	switch {
	case s.cfg.Video != "" && m.Stream == s.cfg.Video:
		f, ok := smp.(*av.Frame)
		if !ok {
			s.drop(smp, av.DropWrongKind)
			break
		}
		f.CaptureNS += s.cfg.VideoOffsetNS
		s.out = emit
		s.sets.Add(0, f) // to pushSet
		s.out = nil
	case s.cfg.Audio != "" && m.Stream == s.cfg.Audio:
		c, ok := smp.(*av.AudioChunk)
		if !ok || c.Channels != s.cfg.AudioChannels || c.RateHz != s.cfg.AudioRateHz || c.FirstFrame < 0 || len(c.Data)%c.Channels != 0 {
			s.drop(smp, av.DropWrongKind)
			break
		}
		w := s.resampled(c)
		if len(w.Data) == 0 { // a chunk too short to complete an output frame
			c.Release()
			break
		}
		if s.haveTrigger && s.ring.started() && s.ring.timeOf(w.FirstFrame) < s.lastTriggerNS+s.cfg.AudioAfterNS {
			s.stats.LateAudio++
		}
		if !s.ring.write(w) {
			s.drops.Add(c.Stream, av.DropOutOfOrder, 1)
		}
		c.Release()
	default:
		s.drop(smp, av.DropUnknownStream)
	}
	s.emitReady(emit, false)
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
// equal, else the sync's scratch chunk, valid until the next call. Its
// capture times keep c's time origin: output frame j is at origin +
// j/AnalysisRateHz where c's frame k is at origin + k/AudioRateHz.
func (s *FrameSync) resampled(c *av.AudioChunk) *av.AudioChunk {
	if s.rs == nil {
		return c
	}
	r := &s.rsChunk
	need := s.rs.MaxFrames(c.Frames()) * c.Channels
	if cap(r.Data) < need {
		r.Data = make([]float32, need)
	}
	n, first := s.rs.Push(r.Data[:need], c.Data, c.FirstFrame)
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

func (s *FrameSync) pushFrame(f *av.Frame, emit func(*av.Bundle)) {
	newest := s.lastTriggerNS
	if n := len(s.pending); n > 0 {
		newest = s.pending[n-1].CaptureNS
	}
	if (s.haveTrigger || len(s.pending) > 0) && f.CaptureNS <= newest {
		// Behind a frame already taken, or behind an audio-only bundle
		// emitted while the camera was silent. Far behind, three times in
		// a row, is the camera's clock starting again (a reconnect, a
		// looping recording): its timeline restarts.
		if newest-f.CaptureNS > videoJumpNS {
			s.jumpRun++
		} else {
			s.jumpRun = 0
		}
		if s.jumpRun < 3 {
			reason := av.DropOutOfOrder
			if f.CaptureNS <= s.lastTriggerNS && s.haveTrigger {
				reason = av.DropLate
			}
			s.drop(f, reason)
			return
		}
		for _, p := range s.pending {
			emit(s.bundle(p.CaptureNS, p))
		}
		s.pending = s.pending[:0]
		s.lastTriggerNS, s.haveTrigger = f.CaptureNS-1, true
		s.stats.VideoResets++
	}
	s.jumpRun = 0
	s.sawFrame = true
	s.lastFrameArrival = f.ArrivalNS
	if len(s.pending) == cap(s.pending) {
		s.stats.Deadline++
		emit(s.bundle(s.pending[0].CaptureNS, s.pending[0]))
		s.pending = append(s.pending[:0], s.pending[1:]...)
	}
	s.pending = append(s.pending, f)
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
		done := s.audioDone(f.CaptureNS)
		if !flush && !done && f.ArrivalNS+s.cfg.MaxWaitNS > s.nowNS {
			break
		}
		if !done {
			s.stats.Deadline++
		}
		emit(s.bundle(f.CaptureNS, f))
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
		emit(s.bundle(next, nil))
	}
}

// audioDone reports whether the audio window ending at t has arrived, or
// there is no audio to wait for.
func (s *FrameSync) audioDone(t int64) bool {
	if s.ring == nil {
		return true
	}
	return s.ring.started() && s.ring.end >= s.ring.index(t-s.cfg.AudioWindowNS)+s.windowFrames
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

// bundle makes the bundle for trigger time t (with frame f, which may be
// nil) and takes ownership of f.
func (s *FrameSync) bundle(t int64, f *av.Frame) *av.Bundle {
	b := s.bundles.Get()
	s.seq++
	b.Seq, b.TimeNS, b.Frame = s.seq, t, f
	s.lastTriggerNS, s.haveTrigger = t, true
	s.stats.Bundles++
	if f == nil {
		s.stats.VideoMissing++
		b.Missing = append(b.Missing, av.Video)
	}
	if s.ring == nil {
		b.Missing = append(b.Missing, av.Audio)
		b.Audio.Data = b.Audio.Data[:0]
	} else {
		b.Audio.Stream, b.Audio.RateHz, b.Audio.Channels = s.cfg.Audio, s.ring.rateHz, s.cfg.AudioChannels
		b.Audio.StartNS, b.Audio.Covered = s.ring.read(t-s.cfg.AudioWindowNS, b.Audio.Data)
		s.stats.GapFrames += uint64(b.Audio.Frames() - b.Audio.Covered)
		if b.Audio.Coverage() < s.cfg.MinAudioCoverage {
			s.stats.AudioMissing++
			b.Missing = append(b.Missing, av.Audio)
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
		s.drop(f, av.DropShutdown)
	}
	s.pending = s.pending[:0]
}
