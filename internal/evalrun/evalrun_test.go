package evalrun

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
	"github.com/seed-4c364652/fusiond/internal/evaluate"
)

const scenes = "../../" + ScenesDir

// TestScenesGolden: the committed synthetic scenes are what makeScene
// draws from their seeds (scripts/make-eval-clips.sh --regen rewrites
// them): the config and the labels derived from it.
func TestScenesGolden(t *testing.T) {
	for _, sp := range []struct {
		split string
		n     int
		seed  uint64
	}{{"train", 48, 11}, {"test", 24, 29}} {
		for i := range sp.n {
			s := makeScene(sp.split, i, sp.seed)
			base := filepath.Join(scenes, sp.split, s.name)
			for ext, got := range map[string]string{".yaml": s.yaml(), ".txt": s.labels()} {
				want, err := os.ReadFile(base + ext)
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Errorf("%s%s differs from the scene drawn:\n%s", base, ext, got)
				}
			}
		}
	}
}

func TestMixRecipeRoundTrip(t *testing.T) {
	m := &mixRecipe{Out: ".cache/eval/x.wav", Duration: 12, DelayFrames: -7, NoiseDBFS: -60, Seed: 29024,
		Items: []mixItem{{Source: "bell", At: 0.5, MaxS: 3.4, PeakDBFS: -6}, {Source: "chords-a", At: 6.5, MaxS: 2.5, PeakDBFS: -10}}}
	path := filepath.Join(t.TempDir(), "x.mix")
	os.WriteFile(path, []byte(m.String()), 0o644)
	got, err := parseMix(path)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("%+v %v", got, err)
	}
	os.WriteFile(path, []byte("out a.wav\nsound bell at x max 1 peak_dbfs -6\n"), 0o644)
	if _, err := parseMix(path); err == nil || !strings.Contains(err.Error(), `x.mix:2: malformed "sound" line`) {
		t.Errorf("bad line: %v", err)
	}
}

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	manifest := "split\tclip\tvariant\tmedia\tlabels\tcomposite\tsources\n" +
		"test\ta\ttone\ta.wav\ta.txt\tyes\tsine\n" +
		"train\tb\ttone\tb.wav\tb.txt\tno\t-\n"
	os.WriteFile(filepath.Join(dir, evaluate.ManifestName), []byte(manifest), 0o644)
	ins, err := Inputs(nil, "", dir, "test", "")
	if err != nil || len(ins) != 1 || ins[0].clip != "a" || ins[0].variant != "tone" || !ins[0].composite ||
		ins[0].path != filepath.Join(dir, "a.wav") || ins[0].labels != filepath.Join(dir, "a.txt") {
		t.Fatalf("%+v %v", ins, err)
	}
	if _, err := Inputs(nil, "", dir, "validation", ""); err == nil || !strings.Contains(err.Error(), `no clips in split "validation"`) {
		t.Errorf("empty split: %v", err)
	}
	ins, err = Inputs([]string{"x/talk.mkv", "y/robot.mcap"}, "", "", "", "test")
	if err != nil || len(ins) != 2 || ins[0].labels != "x/talk.txt" || ins[1].clip != "robot" {
		t.Errorf("%+v %v", ins, err)
	}
	ins, _ = Inputs([]string{"talk.mkv"}, "l.txt", "", "", "test")
	if ins[0].labels != "l.txt" {
		t.Errorf("--labels: %+v", ins)
	}
	// The default scenes are relative to the repository root.
	if _, err := Inputs(nil, "", "", "", "test"); err == nil || !strings.Contains(err.Error(), "no clips under testdata/eval/test") {
		t.Errorf("no scenes here: %v", err)
	}
}

func TestViolations(t *testing.T) {
	ok, bad := &av.Decision{}, &av.Decision{}
	ok.Logit, ok.Contributions = 1.5, map[string]float64{"audio": 1, "video": 0.5}
	bad.Logit, bad.Contributions = 1.5, map[string]float64{"audio": 1}
	rs := []*evaluate.Result{{Run: &evaluate.Run{Decisions: []*av.Decision{ok, bad}}}, {Run: &evaluate.Run{Decisions: []*av.Decision{bad}}}}
	if n := Violations(rs); n != 2 {
		t.Errorf("%d violations, want 2", n)
	}
}

// fakeStages records what reaches the stages, in order, and reports a
// decision step at every frame with the modalities it lacks.
type fakeStages struct {
	pushed *[]av.Meta
	onStep func(map[string]float64, []string, int64)
	video  bool
}

func (f fakeStages) Push(s av.Sample) {
	m := *s.SampleMeta()
	*f.pushed = append(*f.pushed, m)
	if _, ok := s.(*av.Frame); ok && f.onStep != nil {
		f.onStep(map[string]float64{"motion": 1}, nil, m.ArrivalNS)
	}
	s.Release()
}
func (fakeStages) Flush() {}
func (fakeStages) Close() {}

// fakeEnv builds synthetic sources as the daemon does and fake stages.
func fakeEnv(pushed *[]av.Meta) *Env {
	return &Env{
		NewStages: func(cfg *configs.Config, publish func(*av.Decision), adjust func(*fuse.ActivityConfig)) (Stages, error) {
			var ac fuse.ActivityConfig
			if adjust != nil {
				adjust(&ac)
			}
			return fakeStages{pushed: pushed, onStep: ac.OnStep}, nil
		},
		NewCamera: func(cam configs.Camera, clock av.Clock, _ *av.Drops, _ *slog.Logger) (Source, error) {
			return sources.OpenCamera(cam, sources.Env{Clock: clock})
		},
		NewMic: func(m configs.Microphone, clock av.Clock, _ *av.Drops, _ *slog.Logger) (Source, error) {
			return sources.OpenMicrophone(m, sources.Env{Clock: clock})
		},
		RecordedConfig: func(*recording.Reader, []string) (*configs.Config, error) {
			return nil, fmt.Errorf("no recordings here")
		},
	}
}

// TestRunScene: a scene's samples reach the stages in arrival order, 12 s
// of 15 fps video and 20 ms audio chunks, fused; audio-only drops the
// camera.
func TestRunScene(t *testing.T) {
	in := inputFor(filepath.Join(scenes, "test", "test-00-agree.yaml"), "")
	for _, tc := range []struct {
		config         string
		frames, chunks int
	}{{"fused", 180, 600}, {"audio", 0, 600}, {"video", 180, 0}} {
		var pushed []av.Meta
		r, err := fakeEnv(&pushed).run(in, tc.config, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		frames, chunks := 0, 0
		for i, m := range pushed {
			if i > 0 && m.ArrivalNS < pushed[i-1].ArrivalNS {
				t.Fatalf("%s: sample %d arrives at %d, before %d", tc.config, i, m.ArrivalNS, pushed[i-1].ArrivalNS)
			}
			if m.Stream == "cam0" {
				frames++
			} else {
				chunks++
			}
		}
		if frames != tc.frames || chunks != tc.chunks || r.video != (frames > 0) || r.audio != (chunks > 0) ||
			r.originNS != evalStartNS || r.endNS != evalStartNS+12e9 {
			t.Errorf("%s: %d frames, %d chunks, run %+v", tc.config, frames, chunks, r)
		}
	}
}

// TestCollectSteps: a step at every frame but the first (it spans
// nothing), each with the labels over its span.
func TestCollectSteps(t *testing.T) {
	in := inputFor(filepath.Join(scenes, "test", "test-00-agree.yaml"), "")
	var pushed []av.Meta
	steps, err := fakeEnv(&pushed).CollectSteps([]Input{in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 179 {
		t.Fatalf("%d steps, want 179", len(steps))
	}
	ls, err := evaluate.ReadLabels(in.labels)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		if st.Clip != "test-00-agree" || st.Evidence["motion"] != 1 || st.T1-st.T0 <= 0 || st.T1-st.T0 > 0.07 {
			t.Fatalf("step %+v", st)
		}
		for _, k := range evaluate.Kinds {
			if st.Skip[k] || st.Labelled[k] != ls.Covered(k, st.T0, st.T1) {
				t.Fatalf("step %+v: %s", st, k)
			}
		}
	}
}
