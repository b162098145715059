package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// evalDir holds the eval clips: <split>/<name>.yaml (a fusiond config of
// synthetic sources) beside <name>.labels.
const evalDir = "testdata/eval"

// evalStartNS is the pipeline time an eval clip starts at: a multiple of
// any decision interval, so intervals start on the clip's seconds.
const evalStartNS = 1_700_000_000 * 1_000_000_000

// evalConfigs are the configurations eval compares: which modalities the
// decider is given.
var evalConfigs = []string{"audio", "video", "fused"}

// clipRun is one clip run through sync and fusion: its activity decisions
// (the evidence of every interval) and its labels.
type clipRun struct {
	path       string
	name       string
	labels     *fuse.Labels
	intervalNS int64
	hfov       float64
	acts       []*av.Decision
	steps      []step
}

// step is one frame-rate decision step's evidence, as the Decider sees it.
type step struct {
	ev      map[string]float64
	missing []string
	timeNS  int64
}

func cmdEval(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval", "[--json] [--model M] [CLIPS...]",
		"Run labelled clips through sync and fusion and score each decision kind (precision, recall, F1,\n"+
			"detection latency, speaker bearing error) for audio-only, video-only and fused side by side.\n"+
			"CLIPS are eval clip configs (name.yaml beside name.labels); default: the held-out split,\n"+
			evalDir+"/test. --make-clips writes the synthetic scenes and their labels instead.",
		[]string{"fusiond eval", "fusiond eval --json testdata/eval/test/test-00-agree.yaml", "fusiond eval --make-clips testdata/eval"}, stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	model := fs.String("model", "shipped", "fusion head: shipped, handset or a model file")
	make := fs.String("make-clips", "", "write the synthetic train and test scenes under this directory and exit")
	mix := fs.Bool("mix", false, "mix the real-audio scenes' WAVs (.cache/eval) from their recipes under "+evalDir+" and exit")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if *make != "" {
		paths, err := makeClips(*make)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond eval: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %d clips under %s\n", len(paths), *make)
		return 0
	}
	if *mix {
		n, err := mixAll(evalDir)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond eval: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "mixed %d clips into %s\n", n, mixOutDir)
		return 0
	}
	m, err := loadModel(*model)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond eval: %v\n", err)
		return 1
	}
	clips, err := clipPaths(fs.Args(), "test")
	if err != nil {
		fmt.Fprintf(stderr, "fusiond eval: %v\n", err)
		return 1
	}
	runs, err := runClips(clips)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond eval: %v\n", err)
		return 1
	}
	rep, err := evaluate(runs, m)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond eval: %v\n", err)
		return 1
	}
	rep.Model = *model
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1
		}
	} else {
		rep.table(stdout)
	}
	if rep.SumViolations > 0 {
		fmt.Fprintf(stderr, "fusiond eval: %d decisions whose contributions do not sum to the logit\n", rep.SumViolations)
		return 1
	}
	return 0
}

// clipPaths returns the clips given, or every clip of split.
func clipPaths(args []string, split string) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	paths, err := filepath.Glob(filepath.Join(evalDir, split, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no clips under %s (scripts/make-eval-clips.sh writes them)", filepath.Join(evalDir, split))
	}
	slices.Sort(paths)
	return paths, nil
}

func runClips(paths []string) ([]*clipRun, error) {
	var runs []*clipRun
	for _, p := range paths {
		r, err := runClip(p)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// runClip runs one clip's synthetic sources, sample by sample in arrival
// order, through the stages a live run and a replay build (stages.go), and
// keeps the activity decisions.
func runClip(path string) (*clipRun, error) {
	labelsPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".labels"
	data, err := os.ReadFile(labelsPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: eval clip has no labels: %s does not exist", path, labelsPath)
	}
	if err != nil {
		return nil, err
	}
	labels, err := fuse.ParseLabels(labelsPath, data)
	if err != nil {
		return nil, err
	}
	cfg, err := configs.Load(path, []string{"fuse.decisions.enabled=false"})
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	drops := av.NewDrops()
	run := &clipRun{path: path, name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), labels: labels,
		intervalNS: int64(cfg.Fuse.DecisionInterval), hfov: cfg.Fuse.Features.CameraHFOVDeg}
	st, err := newStages(cfg, drops, log, func(ac *fuse.ActivityConfig) {
		ac.OnStep = func(ev map[string]float64, missing []string, timeNS int64) {
			run.steps = append(run.steps, step{maps.Clone(ev), slices.Clone(missing), timeNS})
		}
	})
	if err != nil {
		return nil, err
	}
	defer st.backend.Close()
	defer st.fuse.Close()
	collect := func(d *av.Decision) {
		if d.Kind == fuse.KindActivity {
			run.acts = append(run.acts, d)
		}
	}
	emit := func(b *av.Bundle) {
		st.fuse.Push(b, collect)
		b.Release()
	}
	clock := av.NewVirtualClock(0)
	var video *synthetic.Video
	var audio audioFiller
	var fpool *av.FramePool
	var apool *av.AudioPool
	var chunk int
	if len(cfg.Cameras) > 0 {
		cam := cfg.Cameras[0]
		if cam.Source != "synthetic" {
			return nil, fmt.Errorf("%s: camera %s: eval runs synthetic sources only", path, cam.Name)
		}
		src, err := newCameraSource(cam, clock, drops, log)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		video = src.(*synthetic.Video)
		fpool = av.NewFramePool(cam.Width, cam.Height, av.BGR24, 64)
	}
	if len(cfg.Microphones) > 0 {
		mic := cfg.Microphones[0]
		switch mic.Source {
		case "synthetic":
			src, err := newMicSource(mic, clock, drops, log)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			audio = synthAudio{src.(*synthetic.Audio)}
		case "wav":
			w, err := readWAV(mic.File)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: %s is not there: scripts/make-eval-clips.sh mixes it from Debian's media", path, mic.File)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if w.rate != mic.RateHz || w.channels != mic.Channels {
				return nil, fmt.Errorf("%s: %s is %d Hz × %d channels, the clip says %d × %d", path, mic.File, w.rate, w.channels, mic.RateHz, mic.Channels)
			}
			audio = wavAudio{w, av.StreamID(mic.Name)}
		default:
			return nil, fmt.Errorf("%s: microphone %s: eval runs synthetic and wav sources only", path, mic.Name)
		}
		chunk = int(av.NSToFrames(int64(mic.Chunk), mic.RateHz))
		apool = av.NewAudioPool(mic.RateHz, mic.Channels, chunk, 64)
	}
	endNS := int64(labels.Duration * 1e9)
	var seq, k uint64
	for {
		fNS, aNS := int64(math.MaxInt64), int64(math.MaxInt64)
		if video != nil {
			if off := video.CaptureOffsetNS(seq); off < endNS {
				fNS = off
			}
		}
		if audio != nil {
			rate := audio.rate()
			if first := int64(k) * int64(chunk); av.FramesToNS(first, rate) < endNS {
				aNS = av.FramesToNS(first+int64(chunk), rate)
			}
		}
		if fNS == math.MaxInt64 && aNS == math.MaxInt64 {
			break
		}
		if fNS <= aNS {
			f := fpool.Get()
			video.Render(seq, f)
			f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = video.Config().Stream, seq, evalStartNS+fNS, evalStartNS+fNS
			clock.Set(f.ArrivalNS)
			st.sync.Push(f, emit)
			seq++
			continue
		}
		c := apool.Get()
		first := int64(k) * int64(chunk)
		audio.Fill(first, c.Data)
		c.Stream, c.Seq, c.FirstFrame = audio.stream(), k, first
		c.CaptureNS = evalStartNS + av.FramesToNS(first, audio.rate())
		c.ArrivalNS = evalStartNS + aNS
		clock.Set(c.ArrivalNS)
		st.sync.Push(c, emit)
		k++
	}
	st.sync.Flush(emit)
	st.fuse.Flush(collect)
	return run, nil
}

// audioFiller is an eval clip's microphone: samples by frame index.
type audioFiller interface {
	Fill(first int64, data []float32)
	rate() int
	stream() av.StreamID
}

type synthAudio struct{ *synthetic.Audio }

func (a synthAudio) rate() int           { return a.Config().RateHz }
func (a synthAudio) stream() av.StreamID { return a.Config().Stream }

// wavAudio plays a WAV once, then silence; on the 16-bit grid already.
type wavAudio struct {
	w  *wav
	id av.StreamID
}

func (a wavAudio) rate() int           { return a.w.rate }
func (a wavAudio) stream() av.StreamID { return a.id }
func (a wavAudio) Fill(first int64, data []float32) {
	off := int(first) * a.w.channels
	for i := range data {
		if j := off + i; j < len(a.w.data) {
			data[i] = a.w.data[j]
		} else {
			data[i] = 0
		}
	}
}

// evalRow is one kind's scores under one configuration.
type evalRow struct {
	Kind             string   `json:"kind"`
	Config           string   `json:"config"`
	Precision        float64  `json:"precision"`
	Recall           float64  `json:"recall"`
	F1               float64  `json:"f1"`
	TP               int      `json:"tp"`
	FP               int      `json:"fp"`
	FN               int      `json:"fn"`
	Segments         int      `json:"segments"`
	Detected         int      `json:"detected"`
	LatencyMedianS   *float64 `json:"latency_median_s"`
	BearingMedianDeg *float64 `json:"bearing_error_median_deg,omitempty"`
	BearingIntervals int      `json:"bearing_intervals,omitempty"`
}

// evalReport is what eval prints.
type evalReport struct {
	Model     string    `json:"model"`
	Clips     int       `json:"clips"`
	Intervals int       `json:"intervals"`
	Rows      []evalRow `json:"rows"`
	// NotSpeech: the fraction of decision intervals with speech on, fused,
	// on the scenes that must not be speech (tone, muted).
	NotSpeech     map[string]float64 `json:"speech_on_fraction"`
	Decisions     int                `json:"decisions_published"`
	SumViolations int                `json:"sum_violations"`
}

// outcomes runs a fresh Decider over a clip's steps with the modalities
// of config and returns each kind's outcome at every step (the span since
// the step before); it checks every decision it would publish against the
// sum rule.
func (r *clipRun) outcomes(m *fuse.Model, config string, rep *evalReport) (map[string][]fuse.IntervalOutcome, error) {
	d, err := fuse.NewDecider(evalDecideConfig(m, r.hfov))
	if err != nil {
		return nil, err
	}
	out := map[string][]fuse.IntervalOutcome{}
	prevNS := int64(evalStartNS)
	var ds []*av.Decision
	for _, a := range r.steps {
		missing := stepMissing(a.missing, config)
		ds, err = d.Observe(ds[:0], "eval", a.ev, missing, a.timeNS, av.Stamps{})
		if err != nil {
			return nil, err
		}
		for _, x := range ds {
			rep.Decisions++
			var sum float64
			for _, c := range x.Contributions {
				sum += c
			}
			if math.Abs(sum-x.Logit) > 1e-9 {
				rep.SumViolations++
			}
		}
		t0, t1 := float64(prevNS-evalStartNS)/1e9, float64(a.timeNS-evalStartNS)/1e9
		prevNS = a.timeNS
		if t1 <= t0 {
			continue
		}
		for _, s := range d.States() {
			out[s.Kind] = append(out[s.Kind], fuse.IntervalOutcome{T0: t0, T1: t1, Active: s.Active, HasBearing: s.HasBearing, BearingDeg: s.BearingDeg})
		}
	}
	return out, nil
}

// evalDecideConfig is the decision config eval and train run the head
// with: the defaults of configs/default.yaml.
func evalDecideConfig(m *fuse.Model, hfov float64) fuse.DecideConfig {
	return fuse.DecideConfig{Model: m, OnConfidence: 0.6, OffConfidence: 0.4, MinOffNS: 150e6, ChangeBearingDeg: 15, HFOVDeg: hfov, HeartbeatNS: 5e9}
}

// stepMissing is a step's missing modalities under an eval configuration
// (audio: the video dropped; video: the audio dropped).
func stepMissing(m []string, config string) []string {
	switch config {
	case "audio":
		return appendMissing(slices.Clone(m), string(av.Video))
	case "video":
		return appendMissing(slices.Clone(m), string(av.Audio))
	}
	return m
}

func appendMissing(m []string, mod string) []string {
	if !slices.Contains(m, mod) {
		m = append(m, mod)
	}
	slices.Sort(m)
	return m
}

func floorDivNS(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func evaluate(runs []*clipRun, m *fuse.Model) (*evalReport, error) {
	rep := &evalReport{Clips: len(runs), NotSpeech: map[string]float64{}}
	scores := map[string]*fuse.KindScore{}
	notOn, notN := map[string]int{}, map[string]int{}
	for _, cfgName := range evalConfigs {
		for _, r := range runs {
			out, err := r.outcomes(m, cfgName, rep)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.path, err)
			}
			for _, k := range fuse.DecisionKinds {
				key := k + "/" + cfgName
				if scores[key] == nil {
					scores[key] = &fuse.KindScore{}
				}
				scores[key].Add(r.labels, k, out[k])
			}
			if cfgName == "fused" {
				rep.Intervals += len(r.steps)
				for _, scene := range []string{"tone", "muted", "music"} {
					if strings.HasSuffix(r.name, "-"+scene) {
						for _, o := range out[fuse.KindSpeech] {
							notN[scene]++
							if o.Active {
								notOn[scene]++
							}
						}
					}
				}
			}
		}
	}
	for scene, n := range notN {
		rep.NotSpeech[scene] = float64(notOn[scene]) / float64(n)
	}
	for _, k := range fuse.DecisionKinds {
		for _, c := range evalConfigs {
			s := scores[k+"/"+c]
			row := evalRow{Kind: k, Config: c, Precision: s.Precision(), Recall: s.Recall(), F1: s.F1(), TP: s.TP, FP: s.FP, FN: s.FN,
				Segments: s.Segments, Detected: s.Detected}
			if v := fuse.Median(s.Latencies); !math.IsNaN(v) {
				row.LatencyMedianS = &v
			}
			if k == fuse.KindSpeaker {
				if v := fuse.Median(s.BearingErrs); !math.IsNaN(v) {
					row.BearingMedianDeg = &v
					row.BearingIntervals = len(s.BearingErrs)
				}
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	return rep, nil
}

func (rep *evalReport) table(w io.Writer) {
	fmt.Fprintf(w, "model %s, %d clips, %d decision intervals, %d decisions published (contributions sum to the logit: %d violations)\n\n",
		rep.Model, rep.Clips, rep.Intervals, rep.Decisions, rep.SumViolations)
	fmt.Fprintf(w, "| kind | config | precision | recall | F1 | detected | latency median | bearing error median |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Rows {
		lat, be := "–", ""
		if r.LatencyMedianS != nil {
			lat = fmt.Sprintf("%.2f s", *r.LatencyMedianS)
		}
		if r.BearingMedianDeg != nil {
			be = fmt.Sprintf("%.1f° (%d intervals)", *r.BearingMedianDeg, r.BearingIntervals)
		}
		fmt.Fprintf(w, "| %s | %s | %.3f | %.3f | %.3f | %d/%d | %s | %s |\n", r.Kind, r.Config, r.Precision, r.Recall, r.F1, r.Detected, r.Segments, lat, be)
	}
	fmt.Fprintf(w, "\nspeech on (fused) where there is none:")
	for _, s := range slices.Sorted(mapsKeys(rep.NotSpeech)) {
		fmt.Fprintf(w, " %s scenes %.1f%% of intervals;", s, 100*rep.NotSpeech[s])
	}
	fmt.Fprintln(w)
}

func mapsKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
