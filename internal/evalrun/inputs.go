package evalrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/media"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/internal/evaluate"
	"github.com/seed-4c364652/fusiond/internal/wavfile"
)

// Input is one labelled input of eval or train: a media file (video
// with or without an audio track, or audio), an MCAP recording (from
// fusiond record) or a synthetic scene (a config under testdata/eval).
type Input struct {
	path      string
	labels    string // the Audacity label track
	clip      string
	variant   string
	composite bool
}

// inputFor is the input at path with its labels beside it (NAME.txt)
// unless labels is given.
func inputFor(path, labels string) Input {
	base := strings.TrimSuffix(path, filepath.Ext(path))
	if labels == "" {
		labels = base + ".txt"
	}
	return Input{path: path, labels: labels, clip: filepath.Base(base)}
}

// inputRun is an input run through the stages under one configuration.
type inputRun struct {
	cfg *configs.Config
	// decisions are every decision published, activity included.
	decisions []*av.Decision
	// originNS is label time 0 (the input's first sample); endNS its end.
	originNS, endNS int64
	audio, video    bool // samples of the modality reached the stages
	// steps are the frame-rate decision steps, as the Decider saw them
	// (kept for train only).
	steps     []step
	keepSteps bool
}

// step is one frame-rate decision step's evidence, as the Decider sees it.
type step struct {
	ev      map[string]float64
	missing []string
	timeNS  int64
}

// run runs in through the daemon's deterministic stages (as replay does)
// under config (evaluate.Configs: audio drops the cameras, video the
// microphones, fused keeps both), with the overrides sets; keepSteps keeps
// its decision steps (train).
func (e *Env) run(in Input, config string, sets []string, keepSteps bool) (*inputRun, error) {
	switch strings.ToLower(filepath.Ext(in.path)) {
	case ".mcap":
		return e.runRecording(in, config, sets, keepSteps)
	case ".yaml", ".yml":
		return e.runScene(in, config, sets, keepSteps)
	}
	return e.runMedia(in, config, sets, keepSteps)
}

// keepModalities drops the cameras or microphones config does not use.
func keepModalities(cfg *configs.Config, config string) error {
	switch config {
	case "audio":
		cfg.Cameras = nil
	case "video":
		cfg.Microphones = nil
	case "fused":
	default:
		return fmt.Errorf("unknown eval config %q (want audio, video or fused)", config)
	}
	return nil
}

// collect keeps every decision, with its latency_ns filled in.
func (r *inputRun) collect(d *av.Decision) {
	d.StampLatency()
	r.decisions = append(r.decisions, d)
}

// runSamples drives next's samples through the stages of r.cfg.
func (e *Env) runSamples(r *inputRun, next func() (av.Sample, error)) error {
	var adjust func(*fuse.ActivityConfig)
	if r.keepSteps {
		adjust = func(ac *fuse.ActivityConfig) {
			ac.OnStep = func(ev map[string]float64, missing []string, timeNS int64) {
				r.steps = append(r.steps, step{maps.Clone(ev), slices.Clone(missing), timeNS})
			}
		}
	}
	drv, err := e.NewStages(r.cfg, r.collect, adjust)
	if err != nil {
		return err
	}
	defer drv.Close()
	for {
		s, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch s.(type) {
		case *av.AudioChunk:
			r.audio = true
		case *av.Frame:
			r.video = true
		}
		drv.Push(s)
	}
	drv.Flush()
	return nil
}

// mediaConfig is the config a user would write to play path as camera
// (source file) and microphone (source media), at the file's own size,
// frame rate, sample rate and channels, as fast as it decodes.
func mediaConfig(path string, p media.ProbeResult, sets []string) (*configs.Config, error) {
	var b strings.Builder
	b.WriteString("robot: eval\n")
	if p.HasVideo {
		fps := p.VideoFPS
		if !(fps > 0 && fps <= 1000) {
			fps = 30
		}
		fmt.Fprintf(&b, "cameras:\n  - name: cam0\n    source: file\n    file: %q\n    width: %d\n    height: %d\n    fps: %g\n    pace: false\n",
			path, p.VideoWidth, p.VideoHeight, fps)
	} else {
		b.WriteString("cameras: []\n")
	}
	if p.HasAudio {
		fmt.Fprintf(&b, "microphones:\n  - name: mic0\n    source: media\n    file: %q\n    rate_hz: %d\n    channels: %d\n    chunk: 20ms\n    pace: false\n",
			path, p.AudioRateHz, p.AudioChannels)
	} else {
		b.WriteString("microphones: []\n")
	}
	return configs.Parse(path+" (eval config)", []byte(b.String()), sets)
}

// runMedia plays a media file through the daemon's own sources, as fast
// as they decode, and merges their samples by the time each would arrive
// live (a frame at its capture time, an audio chunk when its last sample
// is captured): the order a paced live run would see, independent of how
// fast the decoders ran. Label time 0 is the file's start (its first video
// frame; for an audio file, its first sample).
func (e *Env) runMedia(in Input, config string, sets []string, keepSteps bool) (*inputRun, error) {
	p, err := media.Probe("ffprobe", in.path)
	if err != nil {
		return nil, err
	}
	if !p.HasVideo && !p.HasAudio {
		return nil, fmt.Errorf("%s: no video or audio track", in.path)
	}
	cfg, err := mediaConfig(in.path, p, sets)
	if err != nil {
		return nil, err
	}
	if err := keepModalities(cfg, config); err != nil {
		return nil, err
	}
	r := &inputRun{cfg: cfg, originNS: evalStartNS, endNS: evalStartNS + p.DurationNS, keepSteps: keepSteps}
	if !p.HasVideo {
		r.originNS += p.AudioStartNS
	}
	if len(cfg.Cameras)+len(cfg.Microphones) == 0 {
		return r, nil // nothing this configuration can play
	}
	clock := av.NewVirtualClock(evalStartNS) // the sources'; arrival times are set below
	drops := av.NewDrops()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var srcs []Source
	for _, cam := range cfg.Cameras {
		s, err := e.NewCamera(cam, clock, drops, discard)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.path, err)
		}
		srcs = append(srcs, s)
	}
	for _, mic := range cfg.Microphones {
		s, err := e.NewMic(mic, clock, drops, discard)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.path, err)
		}
		srcs = append(srcs, s)
	}
	var g errgroup.Group
	queues := make([]*av.Queue[av.Sample], len(srcs))
	for i, s := range srcs {
		q := av.NewQueue[av.Sample]("eval", cfg.Pipeline.QueueCapacity, av.Block, nil)
		queues[i] = q
		g.Go(func() error {
			defer q.Close()
			return s.Run(ctx, q, evalStartNS)
		})
	}
	heads := make([]av.Sample, len(srcs))
	open := make([]bool, len(srcs))
	for i := range open {
		open[i] = true
	}
	due := func(s av.Sample) int64 {
		m := s.SampleMeta()
		if c, ok := s.(*av.AudioChunk); ok && c.Channels > 0 {
			return m.CaptureNS + av.FramesToNS(int64(len(c.Data)/c.Channels), c.RateHz)
		}
		return m.CaptureNS
	}
	next := func() (av.Sample, error) {
		best := -1
		for i := range heads {
			if heads[i] == nil && open[i] {
				heads[i], open[i] = <-queues[i].C()
			}
			if heads[i] != nil && (best < 0 || due(heads[i]) < due(heads[best])) {
				best = i
			}
		}
		if best < 0 {
			return nil, io.EOF
		}
		s := heads[best]
		heads[best] = nil
		m := s.SampleMeta()
		m.ArrivalNS = due(s)
		r.endNS = max(r.endNS, m.ArrivalNS)
		return s, nil
	}
	err = e.runSamples(r, next)
	cancel()
	for i, q := range queues {
		if heads[i] != nil {
			heads[i].Release()
		}
		for s := range q.C() {
			s.Release()
		}
	}
	if gerr := g.Wait(); err == nil && gerr != nil {
		err = fmt.Errorf("%s: %w", in.path, gerr)
	}
	return r, err
}

// runRecording replays an MCAP recording, its recorded config with the
// overrides, keeping the streams of config. Label time 0 is the capture
// time of the recording's first sample.
func (e *Env) runRecording(in Input, config string, sets []string, keepSteps bool) (*inputRun, error) {
	rd, err := recording.Open(in.path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	cfg, err := e.RecordedConfig(rd, sets)
	if err != nil {
		return nil, err
	}
	if err := keepModalities(cfg, config); err != nil {
		return nil, err
	}
	keep := map[av.StreamID]bool{}
	for _, c := range cfg.Cameras {
		keep[av.StreamID(c.Name)] = true
	}
	for _, m := range cfg.Microphones {
		keep[av.StreamID(m.Name)] = true
	}
	r := &inputRun{cfg: cfg, keepSteps: keepSteps}
	first := true
	next := func() (av.Sample, error) {
		for {
			m, err := rd.Next()
			if err != nil {
				return nil, err
			}
			s, err := rd.Sample(m)
			if err != nil {
				return nil, fmt.Errorf("%s: message %d of %s: %w", in.path, m.Seq, m.Topic, err)
			}
			if s == nil {
				continue
			}
			meta := s.SampleMeta()
			if first {
				r.originNS, r.endNS, first = meta.CaptureNS, meta.CaptureNS, false
			}
			end := meta.CaptureNS
			if c, ok := s.(*av.AudioChunk); ok && c.Channels > 0 {
				end += av.FramesToNS(int64(len(c.Data)/c.Channels), c.RateHz)
			}
			r.endNS = max(r.endNS, end)
			if !keep[meta.Stream] {
				s.Release()
				continue
			}
			return s, nil
		}
	}
	if len(keep) == 0 {
		// Nothing to play; read the file for its time span only.
		for {
			if _, err := next(); err != nil {
				if err == io.EOF {
					return r, nil
				}
				return nil, err
			}
		}
	}
	if err := e.runSamples(r, next); err != nil {
		return nil, err
	}
	return r, nil
}

// loadInputLabels reads the labels of in: an error when there are none.
func loadInputLabels(in Input) (*evaluate.Labels, error) {
	ls, err := evaluate.ReadLabels(in.labels)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s has no labels: %s does not exist (an Audacity label track; see README \"Label and train on your own recordings\")", in.path, in.labels)
	}
	return ls, err
}

// Score runs in under every configuration and scores the runs.
func (e *Env) Score(in Input, sets []string) ([]*evaluate.Result, error) {
	ls, err := loadInputLabels(in)
	if err != nil {
		return nil, err
	}
	var out []*evaluate.Result
	for _, c := range evaluate.Configs {
		r, err := e.run(in, c, sets, false)
		if err != nil {
			return nil, err
		}
		out = append(out, evaluate.Score(&evaluate.Run{
			Clip: in.clip, Variant: in.variant, Config: c, Composite: in.composite,
			Audio: r.audio, Video: r.video, OriginNS: r.originNS, EndNS: r.endNS,
			Decisions: r.decisions, Labels: ls,
		}))
	}
	return out, nil
}

// Step is what the fusion head sees at one frame-rate decision
// step of an input, aligned with the labels: the step's evidence and
// missing modalities (the head's input, fuse.Decider.Features) and, per
// decision kind, the fraction of the step that is labelled, or Skip where
// the run cannot sense the kind (its label would be skipped in eval).
type Step struct {
	Clip string
	// T0 and T1 are the step's span in seconds from label time 0: from
	// the previous step's time to this step's.
	T0, T1   float64
	TimeNS   int64
	Evidence map[string]float64
	Missing  []string
	Labelled map[string]float64 // kind → fraction of [T0, T1) labelled
	Skip     map[string]bool    // kind → its modality is missing
	HFOVDeg  float64
}

// CollectSteps runs every input fused through the stages (as eval does)
// and returns the head's inputs at each decision step with the labels
// over it: the data `fusiond train` fits on (the train and validation
// splits; never the test split). Train drops a modality itself for the
// audio-only and video-only heads.
func (e *Env) CollectSteps(inputs []Input, sets []string) ([]Step, error) {
	var out []Step
	for _, in := range inputs {
		ls, err := loadInputLabels(in)
		if err != nil {
			return nil, err
		}
		r, err := e.run(in, "fused", sets, true)
		if err != nil {
			return nil, err
		}
		prev := r.originNS
		for _, st := range r.steps {
			s := Step{Clip: in.clip, TimeNS: st.timeNS, Evidence: st.ev, Missing: st.missing,
				T0: float64(prev-r.originNS) / 1e9, T1: float64(st.timeNS-r.originNS) / 1e9,
				Labelled: map[string]float64{}, Skip: map[string]bool{}, HFOVDeg: hfovDeg(r.cfg)}
			prev = st.timeNS
			if s.T1 <= s.T0 {
				continue
			}
			for _, k := range evaluate.Kinds {
				if !fuse.Sensed(k, r.audio, r.video) {
					s.Skip[k] = true
					continue
				}
				s.Labelled[k] = ls.Covered(k, s.T0, s.T1)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// ExportWAV writes the first audio stream of an MCAP recording as a 16-bit
// WAV to label in Audacity: its sample 0 is label time 0 (the capture time
// of the recording's first sample, of any stream), so the labels exported
// from Audacity line up with what eval and train read. Gaps are silence.
// It holds the audio in memory (about 11 MB a minute of 48 kHz stereo).
func ExportWAV(recPath, wavPath string) error {
	rd, err := recording.Open(recPath)
	if err != nil {
		return err
	}
	defer rd.Close()
	var data []float32
	var stream av.StreamID
	rate, channels := 0, 0
	originNS, first := int64(0), true
	var baseFrame int64 // the frame index at label time 0
	for {
		m, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		s, err := rd.Sample(m)
		if err != nil {
			return fmt.Errorf("%s: message %d of %s: %w", recPath, m.Seq, m.Topic, err)
		}
		if s == nil {
			continue
		}
		if first {
			originNS, first = s.SampleMeta().CaptureNS, false
		}
		c, ok := s.(*av.AudioChunk)
		if !ok || stream != "" && c.Stream != stream {
			s.Release()
			continue
		}
		if stream == "" {
			stream, rate, channels = c.Stream, c.RateHz, c.Channels
			baseFrame = c.FirstFrame - av.NSToFrames(c.CaptureNS-originNS, rate)
		}
		at := int(c.FirstFrame-baseFrame) * channels
		if at >= 0 {
			if need := at + len(c.Data); need > len(data) {
				data = append(data, make([]float32, need-len(data))...)
			}
			copy(data[at:], c.Data)
		}
		s.Release()
	}
	if stream == "" {
		return fmt.Errorf("%s: no audio stream", recPath)
	}
	return wavfile.Write(wavPath, rate, channels, data)
}

// hfovDeg is the (one) camera's field of view (60° without a camera).
func hfovDeg(cfg *configs.Config) float64 {
	if len(cfg.Cameras) == 0 {
		return 60
	}
	return cfg.Cameras[0].Pose.HFOVDeg
}
