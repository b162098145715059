package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
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
}

// syncConfig is the synchroniser's config: the streams of the cameras and
// microphones, and the sync section.
func syncConfig(cfg *configs.Config) avsync.Config {
	sc := avsync.Config{
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
	for _, cam := range cfg.Cameras {
		sc.Video = av.StreamID(cam.Name)
		sc.FramePeriodNS = int64(float64(time.Second) / cam.FPS)
	}
	for _, mic := range cfg.Microphones {
		sc.Audio, sc.AudioRateHz, sc.AudioChannels = av.StreamID(mic.Name), mic.RateHz, mic.Channels
	}
	return sc
}

// newStages builds the synchroniser, the compute backend and fusion. The
// caller closes the backend. opts adjust fusion's config (eval and train
// watch its decision steps).
func newStages(cfg *configs.Config, drops *av.Drops, log *slog.Logger, opts ...func(*fuse.ActivityConfig)) (*stages, error) {
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
	vis := visualFeatures(cfg, s.backend, log) // features.go
	acfg := fuse.ActivityConfig{
		Robot: cfg.Robot, IntervalNS: int64(cfg.Fuse.DecisionInterval), Prior: ac.Prior,
		MotionWeight: ac.MotionWeight, MotionRef: ac.MotionRef, AudioWeight: ac.AudioWeight, AudioRefDBFS: ac.AudioRefDBFS,
		Backend: s.backend, AudioFeatures: audioFeatures(cfg), Visual: vis, CrossModal: crossModal(cfg),
		Decide: dc, StepWindowNS: int64(cfg.Fuse.Decisions.StepWindow),
	}
	logged := false
	acfg.OnHeadError = func(err error) {
		drops.Add("decisions", av.DropHeadError, 1)
		if !logged {
			logged = true
			log.Error("fusion head failed: this step's decision kinds are lost (counted as drops, stream decisions, reason head_error)", "err", err)
		}
	}
	for _, o := range opts {
		o(&acfg)
	}
	s.fuse, err = fuse.NewActivity(acfg)
	if err != nil {
		if vis != nil {
			vis.Close()
		}
		s.backend.Close()
		return nil, err
	}
	return s, nil
}

// diffDecision compares two encoded decisions field by field, ignoring
// latency_ns (the one field that depends on the machine's speed), and says
// how they differ ("" when they do not). Either may be "" (missing).
func diffDecision(want, got string) (string, error) {
	switch {
	case want == "" && got == "":
		return "", nil
	case want == "":
		return fmt.Sprintf("  only in replay: %s\n", got), nil
	case got == "":
		return fmt.Sprintf("  only in golden: %s\n", want), nil
	}
	var w, g map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return "", fmt.Errorf("not a decision: %w", err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return "", fmt.Errorf("not a decision: %w", err)
	}
	delete(w, "latency_ns")
	delete(g, "latency_ns")
	keys := make([]string, 0, len(w)+len(g))
	for k := range w {
		keys = append(keys, k)
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		if !reflect.DeepEqual(w[k], g[k]) {
			wj, _ := json.Marshal(w[k])
			gj, _ := json.Marshal(g[k])
			fmt.Fprintf(&b, "  %s: golden %s, replay %s\n", k, wj, gj)
		}
	}
	return b.String(), nil
}

// stageDriver feeds recorded or decoded samples through the stages in one
// goroutine, with the pipeline clock a virtual clock set to each sample's
// arrival time: what replay and eval share. Stage stamps (and so
// latency_ns) come from that clock, so its output is deterministic.
type stageDriver struct {
	st      *stages
	clock   *av.VirtualClock
	publish func(*av.Decision)
	// observe, when set, sees every bundle before fusion.
	observe func(*av.Bundle)
}

// newStageDriver builds the stages of cfg; publish gets every decision,
// stamped. The caller closes the driver.
func newStageDriver(cfg *configs.Config, drops *av.Drops, log *slog.Logger, publish func(*av.Decision), opts ...func(*fuse.ActivityConfig)) (*stageDriver, error) {
	st, err := newStages(cfg, drops, log, opts...)
	if err != nil {
		return nil, err
	}
	d := &stageDriver{st: st, clock: av.NewVirtualClock(0)}
	d.publish = func(x *av.Decision) {
		x.Stamps[av.StageFuse] = d.clock.Now()
		x.Stamps[av.StagePublish] = d.clock.Now()
		publish(x)
	}
	return d, nil
}

func (d *stageDriver) emit(b *av.Bundle) {
	b.Stamps[av.StageSync] = d.clock.Now()
	if d.observe != nil {
		d.observe(b)
	}
	d.st.fuse.Push(b, d.publish)
	b.Release()
}

// push moves the clock to s's arrival time and gives s to the
// synchroniser, which takes ownership.
func (d *stageDriver) push(s av.Sample) {
	d.clock.Set(s.SampleMeta().ArrivalNS)
	d.st.sync.Push(s, d.emit)
}

// flush emits what the stages still hold, at the end of the input.
func (d *stageDriver) flush() {
	d.st.sync.Flush(d.emit)
	d.st.fuse.Flush(d.publish)
}

func (d *stageDriver) close() {
	d.st.fuse.Close()
	d.st.backend.Close()
}
