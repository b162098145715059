package fuse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"gorgonia.org/tensor"
)

// ActivityConfig configures Activity.
type ActivityConfig struct {
	Robot      string
	IntervalNS int64 // one decision per interval of capture time
	Prior      float64
	// Motion evidence: MotionWeight × (motion − MotionRef), motion in grey
	// levels.
	MotionWeight, MotionRef float64
	// Audio evidence: AudioWeight × (level − AudioRefDBFS).
	AudioWeight, AudioRefDBFS float64
	// Backend runs the motion kernels; nil for the CPU backend.
	Backend Backend
	// AudioFeatures, when set, computes each bundle's audio features
	// (AudioFeatures, on Backend) and publishes them in the evidence
	// (audio.go, audio_activity.go); they do not change the logit.
	AudioFeatures *AudioConfig
	// Visual, when set, computes each frame's visual features (fuse/vision)
	// and publishes them in the evidence; with AudioFeatures and CrossModal
	// too, the audio–visual synchrony and bearing agreement
	// (crossmodal_activity.go). Close closes it.
	Visual     FrameFeatures
	CrossModal *SynchronyConfig
	// MoreCameras are the cameras beyond the first, whose frames are the
	// bundles' MoreFrames in this order: each has the camera kinds
	// (CameraKind) decided on its own frames and the first microphone's
	// audio, named with it (cameras.go). Everything else in this config
	// is the first camera's.
	MoreCameras []CameraConfig
	// CameraYawDeg is the (first) camera's yaw in the robot frame: the faces'
	// bearings (the camera's) are turned by it before they are compared
	// with the sound's (the robot's; frame.go).
	CameraYawDeg float64
	// Streams names the configured streams of each modality (av.Video:
	// the cameras, av.Audio: the microphones), for the decisions'
	// MissingStreams; a modality without streams has none to name.
	Streams map[av.Modality][]string
	// Decide, when set, also makes the decision kinds of Decider (speech,
	// presence, motion, sound_event, speaker; decide.go) at frame rate:
	// every bundle is a step over the last StepWindowNS of bundles, and a
	// kind is published when it turns on, changes or ends (and as a
	// heartbeat), right after the bundle that showed it.
	Decide *DecideConfig
	// StepWindowNS is the span a step reads; 0: DefaultStepWindowNS.
	// AudioStepWindowNS is the span its audio evidence reads, at most
	// StepWindowNS; 0: DefaultAudioStepWindowNS (or StepWindowNS, when
	// shorter).
	StepWindowNS, AudioStepWindowNS int64
	// OnHeadError, when set, is told of every step whose fusion head
	// failed (a backend error): that step's decision kinds are lost, the
	// activity decision is not.
	OnHeadError func(error)
	// OnBackendError, when set, is told of every bundle whose feature work
	// the Backend failed (Compute): its spectral audio features, voice
	// activity, bearing and motion are lost, its level and the decisions
	// are not.
	OnBackendError func(error)
	// OnStep, when set, sees every step's evidence, missing modalities and
	// capture time before the Decider does (training and evaluation); it
	// must not keep ev.
	OnStep func(ev map[string]float64, missing []string, timeNS int64)
	// Offload, when set, receives every Tick (tick.go) instead of this
	// Activity's own Fusion: the robot extracts features and a fusion
	// worker (sinks/worker) makes the decisions. Activity then emits
	// nothing. Offload must not keep the tick.
	Offload func(*Tick)
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("fuse: bad config")

// KindActivity is the kind of decision Activity makes.
const KindActivity = "activity"

// SilenceDBFS is the level reported for digital silence.
const SilenceDBFS = -120.0

// MotionCell is the side, in pixels, of the blocks motion is measured on
// (here and, by default, by the visual features, whose measure Activity
// then takes instead of computing its own).
const MotionCell = 8

// MotionFloor is the change of a block's mean luma, in grey levels, below
// which it counts as sensor noise rather than motion.
const MotionFloor = 3.0

// Activity decides whether something is happening, from motion and sound.
type Activity struct {
	cfg ActivityConfig

	backend      Backend
	grid, prev   []float32 // luma block means of this frame and the last
	diff         []float32
	gridW, gridH int
	havePrev     bool
	// One-frame batches for the backend, kept to avoid allocating per frame.
	// tGrid, tPrev and tDiff are tensors over grid, prev and diff, made
	// when the grid's size changes and swapped with them; mslot is the
	// bundle's frame in the tick's motion work (-1: none).
	tGrid, tPrev, tDiff *tensor.Dense
	mslot               int
	work                TickWork // the tick's, of every camera (a.more too)

	// The interval being accumulated.
	interval    int64
	inInterval  bool
	motionSum   float64
	motionN     int
	centroidX   float64 // motion-weighted block position, summed over bundles
	centroidY   float64
	centroidW   float64
	powerSum    float64 // mean square audio, summed over bundles
	powerN      int
	coverageSum float64
	bundles     int
	last        av.Stamps
	lastTimeNS  int64

	feat   audioSummary    // with cfg.AudioFeatures (audio_activity.go)
	vis    visualSummary   // with cfg.Visual (crossmodal_activity.go)
	fusion *Fusion         // the head side (tick.go); unused with cfg.Offload
	more   []*cameraFusion // cfg.MoreCameras' (cameras.go)
	// cameraOnly: a camera beyond the first (cameras.go), which makes no
	// activity decision.
	cameraOnly bool
	// batchHead: the step rows of every camera go to the head in one call
	// (headStep), with cfg.Decide and cfg.MoreCameras; stepDue says this
	// Activity's step row waits for it.
	batchHead, stepDue bool
	headRows           []HeadRow
	headOut            [][]HeadScore

	// Frame-rate steps (with cfg.Decide or cfg.OnStep).
	steps       *stepWindow
	stepEv      map[string]float64
	stepMiss    []string
	tickStreams []string
	tick        Tick
}

// NewActivity returns an Activity fusion.
func NewActivity(cfg ActivityConfig) (*Activity, error) {
	if cfg.IntervalNS <= 0 {
		return nil, fmt.Errorf("%w: decision interval %d ns is not positive", ErrConfig, cfg.IntervalNS)
	}
	if cfg.Robot == "" {
		return nil, fmt.Errorf("%w: no robot id", ErrConfig)
	}
	b := cfg.Backend
	if b == nil {
		b = NewCPU()
	}
	a := &Activity{cfg: cfg, backend: b}
	if cfg.AudioFeatures != nil {
		f, err := NewAudioFeatures(*cfg.AudioFeatures, b)
		if err != nil {
			return nil, err
		}
		a.feat.features = f
	}
	if err := a.vis.init(cfg); err != nil {
		return nil, err
	}
	if cfg.Decide != nil || cfg.OnStep != nil {
		w, aw := cfg.StepWindowNS, cfg.AudioStepWindowNS
		if w == 0 {
			w = DefaultStepWindowNS
		}
		if aw == 0 {
			aw = min(w, DefaultAudioStepWindowNS)
		}
		if w < 0 || aw < 0 || aw > w {
			return nil, fmt.Errorf("%w: step windows %d ns, audio %d ns: want 0 < audio ≤ step", ErrConfig, w, aw)
		}
		a.steps, a.stepEv = newStepWindow(w, aw), map[string]float64{}
	}
	var dc *DecideConfig
	if cfg.Decide != nil {
		c := *cfg.Decide
		if c.Backend == nil {
			c.Backend = b
		}
		dc = &c
	}
	f, err := NewFusion(cfg.Robot, dc, cfg.OnHeadError)
	if err != nil {
		return nil, err
	}
	a.fusion = f
	if a.more, err = newCameraFusions(cfg, a); err != nil {
		return nil, err
	}
	if len(a.more) > 0 && cfg.Decide != nil {
		a.batchHead = true
		for _, f := range a.more {
			f.a.batchHead = true
		}
	}
	return a, nil
}

// Push takes a bundle's measurements and calls emit with the decision of the
// previous interval when this bundle starts a new one. It does not take
// ownership of b.
//
// The bundle's Backend work, of every camera (cfg.MoreCameras' too) and
// the microphone, is gathered into one TickWork and done in one
// Backend.Compute call; the stateful per-frame logic (VAD, onsets,
// trackers) then runs on the results, camera after camera, in the order
// it always has. The head's Dense is a call of its own, per camera step.
func (a *Activity) Push(b *av.Bundle, emit func(*av.Decision)) { a.push(b, emit, nil) }

// push is Push; visualReady, when not nil, waits until the visual features
// of b's frames are measured (Run measures them meanwhile, beside the
// tick's Compute, which does not read them) and is called once Compute
// has returned, before anything reads them.
func (a *Activity) push(b *av.Bundle, emit func(*av.Decision), visualReady func()) {
	a.begin(b, emit)
	w := &a.work
	m := &w.Motion
	m.Frames, m.Grids, m.Prev, m.Diffs, m.Cell = m.Frames[:0], m.Grids[:0], m.Prev[:0], m.Diffs[:0], MotionCell
	w.Audio = w.Audio[:0]
	pend := b.Has(av.Audio) && a.feat.gather(b, w)
	a.gatherMotion(b, w)
	for _, f := range a.more {
		f.gather(b, w, emit)
	}
	var err error
	if len(w.Audio) > 0 || len(m.Frames) > 0 {
		err = a.backend.Compute(w)
	}
	if err != nil && a.cfg.OnBackendError != nil {
		a.cfg.OnBackendError(err)
	}
	if visualReady != nil {
		visualReady()
	}
	a.finish(b, pend, err, emit)
	for _, f := range a.more {
		f.finish(err)
	}
	if a.batchHead {
		a.headStep(emit)
	}
}

// headStep scores the step rows of every camera (the first's and
// cfg.MoreCameras') in one head call, then makes each camera's decisions,
// the first camera's first.
func (a *Activity) headStep(emit func(*av.Decision)) {
	a.headRows = a.headRows[:0]
	if a.stepDue {
		a.headRows = append(a.headRows, a.fusion.dec.rows[0])
	}
	for _, f := range a.more {
		if f.a.stepDue {
			a.headRows = append(a.headRows, f.a.fusion.dec.rows[0])
		}
	}
	if len(a.headRows) == 0 {
		return
	}
	for len(a.headOut) < len(a.headRows) {
		a.headOut = append(a.headOut, make([]HeadScore, len(DecisionKinds)))
	}
	err := a.fusion.dec.head.Eval(a.headRows, a.headOut)
	r := 0
	if a.stepDue {
		a.stepDue = false
		a.fusion.applyScored(&a.tick, a.headOut[r], err, emit)
		r++
	}
	for _, f := range a.more {
		if f.a.stepDue {
			f.a.stepDue = false
			f.a.fusion.applyScored(&f.a.tick, a.headOut[r], err, f.filter)
			r++
		}
	}
}

// CloseInterval makes the activity decision of the interval that b's
// arrival closes, if any (the one b does not belong to). Push does it
// first thing; a caller with work to do on b before Push (the daemon
// measures its cameras' visual features) calls it first, so that the
// decision, which needs nothing of b, does not wait for that work. The
// decisions are the same either way.
func (a *Activity) CloseInterval(b *av.Bundle, emit func(*av.Decision)) {
	if a.inInterval && floorDiv(b.TimeNS, a.cfg.IntervalNS) != a.interval {
		a.decide(emit)
	}
}

// begin closes the interval b does not belong to, and counts b in its own.
func (a *Activity) begin(b *av.Bundle, emit func(*av.Decision)) {
	a.CloseInterval(b, emit)
	if !a.inInterval {
		a.interval, a.inInterval = floorDiv(b.TimeNS, a.cfg.IntervalNS), true
	}
	a.bundles++
	a.lastTimeNS = b.TimeNS
	a.last = b.Stamps
}

// finish takes b's measurements from the Backend's results (err: the
// Backend failed) and makes its step.
func (a *Activity) finish(b *av.Bundle, pend bool, err error, emit func(*av.Decision)) {
	be := bundleEvidence{timeNS: b.TimeNS}
	if b.Has(av.Audio) {
		ms := meanSquare(b.Audio.Data)
		a.powerSum += ms
		a.powerN++
		a.coverageSum += b.Audio.Coverage()
		a.feat.finish(pend, err)
		be.audio, be.power, be.coverage = true, ms, b.Audio.Coverage()
		if v := a.feat.cur; v != nil {
			be.onset = v.Onset
			if v.Has(FeatSpeech) {
				// Every 10 ms VAD decision new in this bundle counts.
				for _, f := range v.VADFrames {
					be.vadN++
					be.vadScore += f.Score
					if f.Speech {
						be.vadSpeech++
					}
					switch {
					case f.Turned && f.Speech:
						be.vadOnNS = f.AtNS
					case f.Turned:
						be.vadOffNS = f.AtNS
					}
				}
			}
			be.hasTonal, be.tonality = v.Has(FeatTonality), v.Tonality
			be.hasDOA, be.doa, be.doaStd = v.Has(FeatBearing), v.BearingDeg, v.BearingStdDeg
		}
	}
	var m motionSample
	var mok bool
	if b.Has(av.Video) && b.Frame != nil {
		m, mok = a.finishMotion(err)
	}
	a.vis.push(b, &a.feat, m, mok)
	if b.Has(av.Video) && b.Frame != nil {
		be.video = true
		if mok {
			a.motionSum += m.energy
			a.motionN++
			be.hasMotion, be.motion = true, m.energy
			if m.energy > 0 {
				a.centroidX += m.x * m.energy
				a.centroidY += m.y * m.energy
				a.centroidW += m.energy
				be.hasMotionX, be.motionX = true, m.x
			}
		}
		a.vis.frameEvidence(&be)
	}
	a.step(b, be, emit)
}

// step makes the frame-rate decisions of one bundle (with cfg.Decide).
func (a *Activity) step(b *av.Bundle, be bundleEvidence, emit func(*av.Decision)) {
	if a.steps == nil {
		return
	}
	a.steps.push(be)
	audioOK, videoOK := a.steps.evidence(a.stepEv)
	a.stepMiss = a.stepMiss[:0]
	if !videoOK {
		a.stepMiss = append(a.stepMiss, string(av.Video))
	}
	if !audioOK {
		a.stepMiss = append(a.stepMiss, string(av.Audio))
	}
	if a.cfg.OnStep != nil {
		a.cfg.OnStep(a.stepEv, a.stepMiss, b.TimeNS)
	}
	if a.cfg.Decide == nil {
		return
	}
	a.tickStreams = a.missingStreams(a.tickStreams[:0], a.stepMiss)
	a.tick = Tick{Kind: TickStep, TimeNS: b.TimeNS, Missing: a.stepMiss, MissingStreams: a.tickStreams, Evidence: a.stepEv, Stamps: b.Stamps}
	if a.batchHead {
		a.fusion.dec.prepare(a.tick.Evidence, a.tick.Missing, a.tick.TimeNS)
		a.stepDue = true
		return
	}
	a.hand(&a.tick, emit)
}

// hand gives a tick to the Fusion, or to cfg.Offload.
func (a *Activity) hand(t *Tick, emit func(*av.Decision)) {
	if a.cfg.Offload != nil {
		a.cfg.Offload(t)
		return
	}
	a.fusion.Apply(t, emit)
}

// Flush emits the decision of the interval in progress.
func (a *Activity) Flush(emit func(*av.Decision)) {
	if a.inInterval {
		a.decide(emit)
	}
	for _, f := range a.more {
		f.flush(emit)
	}
}

func (a *Activity) decide(emit func(*av.Decision)) {
	if a.cameraOnly {
		a.inInterval = false
		a.motionSum, a.motionN, a.powerSum, a.powerN, a.coverageSum, a.bundles = 0, 0, 0, 0, 0, 0
		a.centroidX, a.centroidY, a.centroidW = 0, 0, 0
		clear(a.vis.last)
		return
	}
	d := &Tick{
		Kind:          TickInterval,
		TimeNS:        a.lastTimeNS,
		Contributions: map[string]float64{"prior": a.cfg.Prior},
		Missing:       []string{},
		Evidence:      map[string]float64{"bundles": float64(a.bundles)},
		Stamps:        a.last,
	}
	logit := a.cfg.Prior
	if a.motionN > 0 {
		motion := a.motionSum / float64(a.motionN)
		c := a.cfg.MotionWeight * (motion - a.cfg.MotionRef)
		d.Contributions[string(av.Video)] = c
		d.Evidence["motion_energy"] = motion
		if a.centroidW > 0 {
			d.Evidence["motion_x"] = a.centroidX / a.centroidW
			d.Evidence["motion_y"] = a.centroidY / a.centroidW
		}
		logit += c
	} else {
		d.Contributions[string(av.Video)] = 0
		d.Missing = append(d.Missing, string(av.Video))
	}
	if a.powerN > 0 {
		level := dbfs(a.powerSum / float64(a.powerN))
		c := a.cfg.AudioWeight * (level - a.cfg.AudioRefDBFS)
		d.Contributions[string(av.Audio)] = c
		d.Evidence["audio_level_dbfs"] = level
		d.Evidence["audio_coverage"] = a.coverageSum / float64(a.powerN)
		logit += c
	} else {
		d.Contributions[string(av.Audio)] = 0
		d.Missing = append(d.Missing, string(av.Audio))
	}
	d.MissingStreams = a.missingStreams(nil, d.Missing)
	a.feat.evidence(d.Evidence)
	a.vis.evidence(d.Evidence)
	d.Logit = logit
	a.inInterval = false
	a.motionSum, a.motionN, a.powerSum, a.powerN, a.coverageSum, a.bundles = 0, 0, 0, 0, 0, 0
	a.centroidX, a.centroidY, a.centroidW = 0, 0, 0
	a.hand(d, emit)
}

// missingStreams appends the configured streams of the missing
// modalities to out, in the order of missing; nil when there are none.
func (a *Activity) missingStreams(out []string, missing []string) []string {
	for _, m := range missing {
		out = append(out, a.cfg.Streams[av.Modality(m)]...)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// motionSample is one frame's motion: its energy (the mean, over the grid,
// of each block's luma change beyond MotionFloor, in grey levels) and the
// energy-weighted centre of the moving blocks, as fractions of the image
// width and height.
type motionSample struct{ energy, x, y float64 }

// gatherMotion puts b's frame, when it has one, into w's motion work: every
// camera's motion grid is measured in the tick's one Backend call.
func (a *Activity) gatherMotion(b *av.Bundle, w *TickWork) {
	a.mslot = -1
	if !b.Has(av.Video) || b.Frame == nil {
		return
	}
	f := b.Frame
	gw, gh := f.Width/MotionCell, f.Height/MotionCell
	if gw != a.gridW || gh != a.gridH {
		a.gridW, a.gridH = gw, gh
		a.grid, a.prev, a.diff = make([]float32, gw*gh), make([]float32, gw*gh), make([]float32, gw*gh)
		a.tGrid, a.tPrev, a.tDiff = Vector(a.grid), Vector(a.prev), Vector(a.diff)
		a.havePrev = false
	}
	ref := FrameRef{Pix: f.Pix, Width: f.Width, Height: f.Height, Stride: f.Stride, Format: f.Format}
	if !frameOK(ref, MotionCell) { // malformed: no motion, and no batch spoilt
		a.havePrev = false
		return
	}
	m := &w.Motion
	a.mslot = len(m.Frames)
	var prev *tensor.Dense
	if a.havePrev {
		prev = a.tPrev
	}
	m.Frames = append(m.Frames, ref)
	m.Grids, m.Prev, m.Diffs = append(m.Grids, a.tGrid), append(m.Prev, prev), append(m.Diffs, a.tDiff)
}

// finishMotion measures the frame gatherMotion took against the previous
// one; false for the first frame, a frame of a new size, or a malformed one
// (err: the Backend refused the tick's work).
func (a *Activity) finishMotion(err error) (motionSample, bool) {
	if a.mslot < 0 || err != nil {
		a.havePrev = false
		return motionSample{}, false
	}
	gw, gh := a.gridW, a.gridH
	had := a.havePrev
	a.grid, a.prev = a.prev, a.grid
	a.tGrid, a.tPrev = a.tPrev, a.tGrid
	a.havePrev = true
	if !had {
		return motionSample{}, false
	}
	var sum, sx, sy float64
	for i, d := range a.diff {
		e := float64(d) - MotionFloor
		if e <= 0 {
			continue
		}
		sum += e
		sx += e * (float64(i%gw) + 0.5) / float64(gw)
		sy += e * (float64(i/gw) + 0.5) / float64(gh)
	}
	m := motionSample{energy: sum / float64(gw*gh)}
	if sum > 0 {
		m.x, m.y = sx/sum, sy/sum
	}
	return m, true
}

func meanSquare(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s / float64(len(x))
}

// dbfs converts a mean square to dBFS (full-scale sine = -3 dBFS RMS is not
// applied: a full-scale square wave is 0 dBFS).
func dbfs(meanSquare float64) float64 {
	if meanSquare <= 0 {
		return SilenceDBFS
	}
	return max(SilenceDBFS, 10*math.Log10(meanSquare))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Run is the fuse stage: it pushes every bundle from in into a, releases it,
// and sends the decisions to out. before, when set, sees each bundle once
// the decision the bundle's arrival closes has been sent
// (Activity.CloseInterval), on a goroutine of its own, while a does the
// bundle's Backend work, and a reads nothing before measures (the daemon
// measures the cameras' visual features there) until before has returned.
// When in is closed it flushes, closes out and returns nil.
func Run(ctx context.Context, a *Activity, clock av.Clock, in <-chan *av.Bundle, out *av.Queue[*av.Decision], before func(*av.Bundle)) error {
	defer out.Close()
	var sendErr error
	emit := func(d *av.Decision) {
		d.Stamps[av.StageFuse] = clock.Now()
		if sendErr == nil {
			sendErr = out.Send(ctx, d)
		}
	}
	// before runs on a goroutine of its own, beside the tick's Compute
	// (a GPU's, or the CPU backend's workers): the bundle's decisions
	// wait for the longer of the two, not for both in turn.
	var visualReady func()
	var beside chan *av.Bundle
	if before != nil {
		beside = make(chan *av.Bundle)
		ready := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for b := range beside {
				before(b)
				ready <- struct{}{}
			}
		})
		defer wg.Wait()
		defer close(beside)
		visualReady = func() { <-ready }
	}
	for {
		select {
		case b, ok := <-in:
			if !ok {
				a.Flush(emit)
				return sendErr
			}
			a.CloseInterval(b, emit) // not waiting for before
			if beside != nil {
				beside <- b
			}
			a.push(b, emit, visualReady)
			b.Release()
			if sendErr != nil {
				return sendErr
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
