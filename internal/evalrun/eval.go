package evalrun

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
	"github.com/seed-4c364652/fusiond/internal/evaluate"
	"github.com/seed-4c364652/fusiond/internal/wavfile"
)

// ScenesDir holds the synthetic eval scenes: <split>/<name>.yaml (a
// fusiond config of synthetic sources) beside <name>.txt (its labels).
const ScenesDir = "testdata/eval"

// evalStartNS is the pipeline time an eval input starts at: a multiple of
// any decision interval, so intervals start on the input's seconds.
const evalStartNS = 1_700_000_000 * 1_000_000_000

// Eval runs every input under every configuration (evaluate.Configs) with
// the overrides sets and scores the runs.
func (e *Env) Eval(inputs []Input, sets []string) ([]*evaluate.Result, error) {
	var results []*evaluate.Result
	for _, in := range inputs {
		rs, err := e.Score(in, sets)
		if err != nil {
			return nil, err
		}
		results = append(results, rs...)
	}
	return results, nil
}

// Violations counts the published decisions whose contributions do not
// sum to their logit.
func Violations(results []*evaluate.Result) int {
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

// Inputs are the inputs named (with labels for the one), those of a
// benchmark manifest's split, or the synthetic scenes of defaultSplit.
func Inputs(args []string, labels, realDir, split, defaultSplit string) ([]Input, error) {
	if realDir != "" {
		manifest := filepath.Join(realDir, evaluate.ManifestName)
		es, err := evaluate.ReadManifest(manifest)
		if err != nil {
			return nil, err
		}
		var ins []Input
		for _, e := range es {
			if e.Split == split {
				ins = append(ins, Input{path: e.Media, labels: e.Labels, clip: e.Clip, variant: e.Variant, composite: e.Composite})
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
	var ins []Input
	for _, a := range args {
		ins = append(ins, inputFor(a, labels))
	}
	return ins, nil
}

// scenePaths returns the synthetic scenes of split.
func scenePaths(split string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(ScenesDir, split, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no clips under %s (scripts/make-eval-clips.sh writes them)", filepath.Join(ScenesDir, split))
	}
	slices.Sort(paths)
	return paths, nil
}

// runScene runs a synthetic scene's sources, sample by sample in arrival
// order, for sceneSeconds. Label time 0 is the scene's start.
func (e *Env) runScene(in Input, config string, sets []string, keepSteps bool) (*inputRun, error) {
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
		src, err := e.NewCamera(cam, clock, drops, discard)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.path, err)
		}
		v, ok := src.(*synthetic.Video)
		if !ok {
			return nil, fmt.Errorf("%s: camera %s: the source built is %T, not synthetic", in.path, cam.Name, src)
		}
		video = v
		fpool = av.NewFramePool(cam.Width, cam.Height, av.BGR24, 64)
	}
	if len(cfg.Microphones) > 0 {
		mic := cfg.Microphones[0]
		switch mic.Source {
		case "synthetic":
			src, err := e.NewMic(mic, clock, drops, discard)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", in.path, err)
			}
			a, ok := src.(*synthetic.Audio)
			if !ok {
				return nil, fmt.Errorf("%s: microphone %s: the source built is %T, not synthetic", in.path, mic.Name, src)
			}
			audio = synthAudio{a}
		case "wav":
			w, err := wavfile.Read(mic.Params.String("file"))
			if err != nil {
				return nil, fmt.Errorf("%s: %w (scripts/make-eval-clips.sh mixes it from Debian's media)", in.path, err)
			}
			if w.RateHz != mic.RateHz || w.Channels != mic.Channels {
				return nil, fmt.Errorf("%s: %s is %d Hz × %d channels, the clip says %d × %d", in.path, mic.Params.String("file"), w.RateHz, w.Channels, mic.RateHz, mic.Channels)
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
	if err := e.runSamples(r, next); err != nil {
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
	w  *wavfile.WAV
	id av.StreamID
}

func (a wavAudio) rate() int           { return a.w.RateHz }
func (a wavAudio) stream() av.StreamID { return a.id }
func (a wavAudio) Fill(first int64, data []float32) {
	off := int(first) * a.w.Channels
	for i := range data {
		if j := off + i; j < len(a.w.Data) {
			data[i] = a.w.Data[j]
		} else {
			data[i] = 0
		}
	}
}
