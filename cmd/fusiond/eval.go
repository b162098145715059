package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"slices"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
	"github.com/seed-4c364652/fusiond/internal/evaluate"
)

// evalDir holds the synthetic eval scenes: <split>/<name>.yaml (a fusiond
// config of synthetic sources) beside <name>.txt (its labels).
const evalDir = "testdata/eval"

// evalStartNS is the pipeline time an eval input starts at: a multiple of
// any decision interval, so intervals start on the input's seconds.
const evalStartNS = 1_700_000_000 * 1_000_000_000

func cmdEval(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval", "[--json] [--model M] [--set k=v]... [--real DIR --split S | [--labels L] INPUTS...]",
		"Run labelled inputs through the daemon's own stages (as replay does) three times, with microphones\n"+
			"only (audio), cameras only (video) and both (fused), and score the published decisions against the\n"+
			"labels: per variant, configuration and kind precision, recall and F1 over time (10 ms steps;\n"+
			"decisions in state unknown are no claim, counted apart), labels skipped where the input lacks\n"+
			"the modality that senses them, onset and end latency (p50/p95), and the fraction of time each\n"+
			"kind is active and unknown. docs/DECISIONS.md describes the protocol and the --json shape.\n\n"+
			"INPUTS are media files (video with or without sound, or audio; played as camera source: file and\n"+
			"microphone source: media), MCAP recordings (fusiond record) or synthetic scenes ("+evalDir+"/*/*.yaml),\n"+
			"each with an Audacity label track beside it (NAME.txt) or given with --labels (one input).\n"+
			"--real DIR scores the clips of DIR/manifest.tsv in --split. Default: the synthetic test scenes.",
		[]string{
			"fusiond eval --real .cache/realbench --split test --json",
			"fusiond eval talk.mkv --labels talk-labels.txt",
			"fusiond eval --export-wav robot1.wav robot1.mcap   # label robot1.wav in Audacity, export robot1.txt",
			"fusiond eval robot1.mcap",
			"fusiond eval --make-clips testdata/eval",
		}, stdout)
	asJSON := fs.Bool("json", false, "print JSON (schema "+evaluate.ReportSchema+")")
	model := fs.String("model", "", "fusion head: shipped, handset or a model `FILE` (default: the config's)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key of every input's config, `path.to.key=value` (repeatable)")
	real := fs.String("real", "", "score the clips of `DIR`/manifest.tsv")
	split := fs.String("split", "test", "with --real: the `SPLIT` to score (train, validation, test)")
	labels := fs.String("labels", "", "the label `FILE` of the one input given")
	makeDir := fs.String("make-clips", "", "write the synthetic train and test scenes under this directory and exit")
	exportTo := fs.String("export-wav", "", "write the audio of the one MCAP recording given to `FILE.wav` (to label in Audacity) and exit")
	mix := fs.Bool("mix", false, "mix the real-audio scenes' WAVs (.cache/eval) from their recipes under "+evalDir+" and exit")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "fusiond eval: %v\n", err)
		return 1
	}
	if *makeDir != "" {
		paths, err := makeClips(*makeDir)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "wrote %d clips under %s\n", len(paths), *makeDir)
		return 0
	}
	if *exportTo != "" {
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "fusiond eval: --export-wav takes one recording (see 'fusiond eval --help')")
			return exitUsage
		}
		if err := exportWAV(fs.Arg(0), *exportTo); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", *exportTo)
		return 0
	}
	if *mix {
		n, err := mixAll(evalDir)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "mixed %d clips into %s\n", n, mixOutDir)
		return 0
	}
	if *labels != "" && fs.NArg() != 1 || *real != "" && fs.NArg() > 0 {
		fmt.Fprintln(stderr, "fusiond eval: --labels goes with one input, --real with none (see 'fusiond eval --help')")
		return exitUsage
	}
	if *model != "" {
		sets = append(sets, "fuse.decisions.model="+*model)
	}
	inputs, err := evalInputs(fs.Args(), *labels, *real, *split, "test")
	if err != nil {
		return fail(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var results []*evaluate.Result
	for _, in := range inputs {
		rs, err := scoreInput(in, sets, log)
		if err != nil {
			return fail(err)
		}
		results = append(results, rs...)
	}
	rep := evaluate.NewReport(results)
	rep.Model = *model
	if *real != "" {
		rep.Source, rep.Split = filepath.Join(*real, evaluate.ManifestName), *split
	}
	violations := sumViolations(results)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1
		}
	} else {
		rep.Table(stdout)
	}
	if violations > 0 {
		fmt.Fprintf(stderr, "fusiond eval: %d decisions whose contributions do not sum to the logit\n", violations)
		return 1
	}
	return 0
}

// sumViolations counts the published decisions whose contributions do not
// sum to their logit.
func sumViolations(results []*evaluate.Result) int {
	n := 0
	for _, res := range results {
		for _, d := range res.Run.Decisions {
			var sum float64
			for _, c := range d.Contributions {
				sum += c
			}
			if math.Abs(sum-d.Logit) > 1e-9 {
				n++
			}
		}
	}
	return n
}

// evalInputs are the inputs named (with labels for the one), those of a
// benchmark manifest's split, or the synthetic scenes of defaultSplit.
func evalInputs(args []string, labels, realDir, split, defaultSplit string) ([]evalInput, error) {
	if realDir != "" {
		manifest := filepath.Join(realDir, evaluate.ManifestName)
		es, err := evaluate.ReadManifest(manifest)
		if err != nil {
			return nil, err
		}
		var ins []evalInput
		for _, e := range es {
			if e.Split == split {
				ins = append(ins, evalInput{path: e.Media, labels: e.Labels, clip: e.Clip, variant: e.Variant, composite: e.Composite})
			}
		}
		if len(ins) == 0 {
			return nil, fmt.Errorf("%s: no clips in split %q", manifest, split)
		}
		return ins, nil
	}
	if len(args) == 0 {
		paths, err := scenePaths(defaultSplit)
		if err != nil {
			return nil, err
		}
		args = paths
	}
	var ins []evalInput
	for _, a := range args {
		ins = append(ins, inputFor(a, labels))
	}
	return ins, nil
}

// clipPaths returns the scenes given, or every scene of split.
func clipPaths(args []string, split string) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	return scenePaths(split)
}

// scenePaths returns the synthetic scenes of split.
func scenePaths(split string) ([]string, error) {
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

// runScene runs a synthetic scene's sources, sample by sample in arrival
// order, for sceneSeconds. Label time 0 is the scene's start.
func runScene(in evalInput, config string, sets []string, log *slog.Logger, keepSteps bool) (*inputRun, error) {
	cfg, err := configs.Load(in.path, sets)
	if err != nil {
		return nil, err
	}
	if err := keepModalities(cfg, config); err != nil {
		return nil, err
	}
	endNS := int64(sceneSeconds * 1e9)
	r := &inputRun{cfg: cfg, originNS: evalStartNS, endNS: evalStartNS + endNS, keepSteps: keepSteps}
	if len(cfg.Cameras)+len(cfg.Microphones) == 0 {
		return r, nil
	}
	clock := av.NewVirtualClock(0)
	drops := av.NewDrops()
	var video *synthetic.Video
	var audio audioFiller
	var fpool *av.FramePool
	var apool *av.AudioPool
	var chunk int
	if len(cfg.Cameras) > 0 {
		cam := cfg.Cameras[0]
		if cam.Source != "synthetic" {
			return nil, fmt.Errorf("%s: camera %s: scenes run synthetic sources only", in.path, cam.Name)
		}
		src, err := newCameraSource(cam, clock, drops, log)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.path, err)
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
				return nil, fmt.Errorf("%s: %w", in.path, err)
			}
			audio = synthAudio{src.(*synthetic.Audio)}
		case "wav":
			w, err := readWAV(mic.File)
			if err != nil {
				return nil, fmt.Errorf("%s: %w (scripts/make-eval-clips.sh mixes it from Debian's media)", in.path, err)
			}
			if w.rate != mic.RateHz || w.channels != mic.Channels {
				return nil, fmt.Errorf("%s: %s is %d Hz × %d channels, the clip says %d × %d", in.path, mic.File, w.rate, w.channels, mic.RateHz, mic.Channels)
			}
			audio = wavAudio{w, av.StreamID(mic.Name)}
		default:
			return nil, fmt.Errorf("%s: microphone %s: scenes run synthetic and wav sources only", in.path, mic.Name)
		}
		chunk = int(av.NSToFrames(int64(mic.Chunk), mic.RateHz))
		apool = av.NewAudioPool(mic.RateHz, mic.Channels, chunk, 64)
	}
	var seq, k uint64
	next := func() (av.Sample, error) {
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
			return nil, io.EOF
		}
		if fNS <= aNS {
			f := fpool.Get()
			video.Render(seq, f)
			f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = video.Config().Stream, seq, evalStartNS+fNS, evalStartNS+fNS
			seq++
			return f, nil
		}
		c := apool.Get()
		first := int64(k) * int64(chunk)
		audio.Fill(first, c.Data)
		c.Stream, c.Seq, c.FirstFrame = audio.stream(), k, first
		c.CaptureNS = evalStartNS + av.FramesToNS(first, audio.rate())
		c.ArrivalNS = evalStartNS + aNS
		k++
		return c, nil
	}
	if err := r.runSamples(log, next); err != nil {
		return nil, err
	}
	return r, nil
}

// audioFiller is a scene's microphone: samples by frame index.
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

func appendMissing(m []string, mod string) []string {
	if !slices.Contains(m, mod) {
		m = append(m, mod)
	}
	slices.Sort(m)
	return m
}
