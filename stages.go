package fusiond

import (
	"errors"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	avsync "github.com/seed-4c364652/fusiond/sync"
)

// stages are the deterministic part of a pipeline, built the same way for
// a live run and for a replay.
type stages struct {
	sync    *avsync.FrameSync
	backend fuse.Backend
	fuse    *fuse.Activity
	// apart is set when the visual features run apart from fusion
	// (newStagesApart): replay's pipeline computes them in goroutines of
	// their own, the live pipeline all of a bundle's cameras at once
	// (joinVisual). One per camera, in config order; nil for a camera
	// without visual features.
	apart []*visualApart
}

// syncConfig is the synchroniser's config: the streams of the cameras and
// microphones, and the sync section. The first camera's frame period is
// the audio-only bundles'; the heard microphone (heardMic) is the
// synchroniser's first, whose window is av.Bundle.Audio, the others'
// windows following in config order.
func syncConfig(cfg *configs.Config) avsync.Config {
	sc := avsync.Config{
		Policy:           avsync.Policy(cfg.Sync.Policy),
		MaxWaitNS:        int64(cfg.Sync.MaxWait),
		AudioWindowNS:    int64(cfg.Sync.AudioWindow),
		AudioAfterNS:     int64(cfg.Sync.AudioAfter),
		MinAudioCoverage: cfg.Sync.MinAudioCoverage,
		PendingFrames:    cfg.Pipeline.QueueCapacity,
		FramePeriodNS:    int64(time.Second / 30),
		VideoOffsetNS:    int64(cfg.Sync.VideoOffset),
		AudioOffsetNS:    int64(cfg.Sync.AudioOffset),
		EstimateDrift:    cfg.Sync.EstimateDrift,
		AnalysisRateHz:   cfg.Sync.AnalysisRateHz,
	}
	for i, cam := range cfg.Cameras {
		if i > 0 {
			sc.MoreVideo = append(sc.MoreVideo, av.StreamID(cam.Name))
			continue
		}
		sc.Video = av.StreamID(cam.Name)
		sc.FramePeriodNS = int64(float64(time.Second) / cam.FPS)
	}
	heard := heardMic(cfg) // features.go
	for i, mic := range cfg.Microphones {
		if i != heard {
			sc.MoreAudio = append(sc.MoreAudio, avsync.AudioStream{Stream: av.StreamID(mic.Name), RateHz: mic.RateHz, Channels: mic.Channels})
			continue
		}
		sc.Audio, sc.AudioRateHz, sc.AudioChannels = av.StreamID(mic.Name), mic.RateHz, mic.Channels
	}
	return sc
}

// newStages builds the synchroniser, the compute backend and fusion. The
// caller closes the backend. adjust, when set, adjusts fusion's config.
func newStages(cfg *configs.Config, drops *av.Drops, log *slog.Logger, adjust func(*fuse.ActivityConfig)) (*stages, error) {
	return buildStages(cfg, drops, log, adjust, false)
}

// newStagesApart is newStages with the visual features, when there are
// any, computed apart from fusion (stages.apart, replaypipe.go), on a
// backend of their own where the configured one is not safe for
// concurrent use. The caller closes it with close.
func newStagesApart(cfg *configs.Config, drops *av.Drops, log *slog.Logger) (*stages, error) {
	return buildStages(cfg, drops, log, nil, true)
}

// tapFaces shows taps the faces of every camera measured apart.
func (s *stages) tapFaces(taps ...FaceTap) {
	for _, v := range s.apart {
		if v != nil {
			v.features = tapFaces(v.features, taps...) // features.go
		}
	}
}

// joinVisual measures the visual features of every camera of b at once
// (with s.apart): the cameras beyond the first in a goroutine each, the
// first in the caller's, joined before it returns, so that a tick costs
// the slowest camera rather than the sum. Each camera's extractor sees its
// frames in order, so the features, and the decisions, are those measured
// one camera after the other. Fusion, in the caller's goroutine, then
// takes b.
func (s *stages) joinVisual(b *av.Bundle) {
	if !b.Has(av.Video) {
		for _, v := range s.apart {
			if v != nil {
				v.next = nil
			}
		}
		return
	}
	var wg gosync.WaitGroup
	first := -1
	for i, v := range s.apart {
		switch {
		case v == nil:
		case first < 0:
			first = i
		default:
			wg.Go(func() { v.next = v.measure(b, i) })
		}
	}
	if first >= 0 {
		s.apart[first].next = s.apart[first].measure(b, first)
	}
	wg.Wait()
}

func buildStages(cfg *configs.Config, drops *av.Drops, log *slog.Logger, adjust func(*fuse.ActivityConfig), apart bool) (*stages, error) {
	s := &stages{}
	var err error
	if s.sync, err = avsync.NewFrameSync(syncConfig(cfg), drops); err != nil {
		return nil, err
	}
	if s.backend, err = fuse.NewBackend(cfg.Fuse.Backend, log); err != nil {
		return nil, err
	}
	ac := cfg.Fuse.Activity
	dc, err := decideConfig(cfg) // decide.go
	if err != nil {
		s.backend.Close()
		return nil, err
	}
	features := func(i int) fuse.FrameFeatures { return s.cameraFeatures(cfg, i, log, apart) }
	vis := features(0)
	acfg := fuse.ActivityConfig{
		Robot: cfg.Robot, IntervalNS: int64(cfg.Fuse.DecisionInterval), Prior: ac.Prior,
		MotionWeight: ac.MotionWeight, MotionRef: ac.MotionRef, AudioWeight: ac.AudioWeight, AudioRefDBFS: ac.AudioRefDBFS,
		Backend: s.backend, AudioFeatures: audioFeatures(cfg), Visual: vis, CrossModal: crossModal(cfg),
		Decide:       dc,
		StepWindowNS: int64(cfg.Fuse.Decisions.StepWindow), AudioStepWindowNS: int64(cfg.Fuse.Decisions.AudioStepWindow),
		CameraYawDeg: cameraPose(cfg).YawDeg, Streams: streamNames(cfg), // features.go
		MoreCameras: moreCameras(cfg, features), // features.go
	}
	// countDrop counts every error as a drop of stream for reason and
	// logs the first.
	countDrop := func(stream av.StreamID, reason av.DropReason, msg string) func(error) {
		logged := false
		return func(err error) {
			drops.Add(stream, reason, 1)
			if !logged {
				logged = true
				log.Error(msg, "err", err)
			}
		}
	}
	acfg.OnHeadError = countDrop("decisions", av.DropHeadError,
		"fusion head failed: this step's decision kinds are lost (counted as drops, stream decisions, reason head_error)")
	acfg.OnBackendError = countDrop("bundles", av.DropBackendError,
		"backend failed a bundle's features: its spectra, voice activity, bearing and motion are lost, decisions go on without them (counted as drops, stream bundles, reason backend_error)")
	if adjust != nil {
		adjust(&acfg)
	}
	s.fuse, err = fuse.NewActivity(acfg)
	if err != nil {
		if vis != nil {
			vis.Close()
		}
		for _, c := range acfg.MoreCameras {
			if c.Visual != nil {
				c.Visual.Close()
			}
		}
		s.backend.Close()
		return nil, err
	}
	return s, nil
}

// cameraFeatures returns camera i's visual features for fusion (nil
// without): computed in fusion, or with apart by a visualApart (added to
// s.apart).
func (s *stages) cameraFeatures(cfg *configs.Config, i int, log *slog.Logger, apart bool) fuse.FrameFeatures {
	vis := visualFeatures(cfg, i, log) // features.go
	if !apart {
		return vis
	}
	if vis == nil {
		s.apart = append(s.apart, nil)
		return nil
	}
	v := newVisualApart(vis)
	s.apart = append(s.apart, v)
	return v
}

// Stages are the deterministic part of the pipeline (the synchroniser and
// fusion) driven in one goroutine, with the pipeline clock a virtual
// clock set to each sample's arrival time: what replay, eval and train
// share. Stage stamps (and so latency_ns) come from that clock, so the
// output is a function of the samples pushed alone.
type Stages struct {
	st      *stages
	drops   *av.Drops
	clock   *av.VirtualClock
	publish func(*av.Decision)
	observe func(*av.Bundle)
	emitFn  func(*av.Bundle) // emit, made once: not a method value per sample
}

// StagesConfig says where Stages' output goes.
type StagesConfig struct {
	// Decision gets every decision, stamped (required). It may keep it.
	Decision func(*av.Decision)
	// Bundle, when set, sees every bundle before fusion; it must not keep
	// it.
	Bundle func(*av.Bundle)
	// Activity, when set, adjusts fusion's config before fusion is built
	// (eval and train watch its decision steps through OnStep).
	Activity func(*fuse.ActivityConfig)
	// Log gets the stages' logs (nil: discarded).
	Log *slog.Logger
}

// NewStages builds the synchroniser and fusion of cfg, with the configured
// compute backend, as a live run builds them. The caller closes them.
func NewStages(cfg *configs.Config, sc StagesConfig) (*Stages, error) {
	if sc.Decision == nil {
		return nil, errors.New("fusiond: StagesConfig.Decision is nil")
	}
	log := sc.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Stages{drops: av.NewDrops(), clock: av.NewVirtualClock(0), observe: sc.Bundle}
	d.emitFn = d.emit
	st, err := newStages(cfg, d.drops, log, sc.Activity)
	if err != nil {
		return nil, err
	}
	d.st = st
	d.publish = func(x *av.Decision) {
		x.Stamps[av.StageFuse] = d.clock.Now()
		x.Stamps[av.StagePublish] = d.clock.Now()
		sc.Decision(x)
	}
	return d, nil
}

func (d *Stages) emit(b *av.Bundle) {
	b.Stamps[av.StageSync] = d.clock.Now()
	if d.observe != nil {
		d.observe(b)
	}
	d.st.fuse.Push(b, d.publish)
	b.Release()
}

// Push moves the clock to s's arrival time and gives s to the
// synchroniser, which takes ownership. Decisions it completes go to
// StagesConfig.Decision before Push returns.
func (d *Stages) Push(s av.Sample) {
	d.clock.Set(s.SampleMeta().ArrivalNS)
	d.st.sync.Push(s, d.emitFn)
}

// Flush emits what the stages still hold, at the end of the input.
func (d *Stages) Flush() {
	d.st.sync.Flush(d.emitFn)
	d.st.fuse.Flush(d.publish)
}

// Drops are the samples the synchroniser refused (late, out of order,
// unknown stream) and the decision steps fusion lost, by stream and
// reason.
func (d *Stages) Drops() []av.DropCount { return d.drops.Snapshot() }

// Close releases fusion and the backend.
func (d *Stages) Close() {
	d.st.fuse.Close()
	d.st.backend.Close()
}
