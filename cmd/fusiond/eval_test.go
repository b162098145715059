package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/internal/evaluate"
)

// TestEvalScenes scores two synthetic scenes: it runs, every decision's
// contributions sum to its logit (else eval exits 1), and every
// configuration has its rows.
func TestEvalScenes(t *testing.T) {
	code, stdout, stderr := runFusiond(t, "eval", "../../testdata/eval/test/test-00-agree.yaml", "../../testdata/eval/test/test-01-disagree.yaml")
	if code != 0 || !strings.Contains(stdout, "| original | fused | speaker |") || !strings.Contains(stdout, "| original | audio | motion | – | – | – |") || !strings.Contains(stdout, "| 0 (3) |") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestEvalInputWithoutLabels(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../../testdata/eval/test/test-00-agree.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(dir, "c.yaml")
	os.WriteFile(clip, data, 0o644)
	code, _, stderr := runFusiond(t, "eval", clip)
	if code != 1 || !strings.Contains(stderr, "c.yaml has no labels: "+filepath.Join(dir, "c.txt")+" does not exist") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	os.WriteFile(filepath.Join(dir, "c.txt"), []byte("1\t3\tspeech\n2\t4\tspeech\n"), 0o644)
	code, _, stderr = runFusiond(t, "eval", clip)
	if code != 1 || !strings.Contains(stderr, "c.txt:2: speech 2–4 s overlaps line 1") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	os.WriteFile(filepath.Join(dir, "m.txt"), []byte("fusiond-fusion-head v2\nfeatures a_speech:audio\n"), 0o644)
	code, _, stderr = runFusiond(t, "eval", "--model", filepath.Join(dir, "m.txt"), "--labels", filepath.Join(dir, "none.txt"), clip)
	if code != 1 || !strings.Contains(stderr, "none.txt does not exist") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	os.WriteFile(filepath.Join(dir, "c.txt"), nil, 0o644)
	code, _, stderr = runFusiond(t, "eval", "--model", filepath.Join(dir, "m.txt"), clip)
	if code != 1 || !strings.Contains(stderr, "m.txt:2: model has 1 features") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// ffmpegClip makes a small media file with ffmpeg (the test skips
// without it) and writes its labels beside it.
func ffmpegClip(t *testing.T, dir, name, labels string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("no ffmpeg")
	}
	path := filepath.Join(dir, name)
	cmd := exec.Command("ffmpeg", append(append([]string{"-nostdin", "-hide_banner", "-loglevel", "error"}, args...), "-y", path)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	if err := os.WriteFile(strings.TrimSuffix(path, filepath.Ext(path))+".txt", []byte(labels), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func evalJSON(t *testing.T, args ...string) *evaluate.Report {
	t.Helper()
	code, stdout, stderr := runFusiond(t, append([]string{"eval", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var rep evaluate.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	return &rep
}

func row(t *testing.T, rep *evaluate.Report, variant, config, kind string) evaluate.Row {
	t.Helper()
	for _, r := range rep.Rows {
		if r.Variant == variant && r.Config == config && r.Kind == kind {
			return r
		}
	}
	t.Fatalf("no row %s/%s/%s", variant, config, kind)
	return evaluate.Row{}
}

// TestEvalMediaTone: a tone-only audio file, labelled as a sound, through
// the microphone (source: media): no speech is claimed, the sound's label
// is scored, what only a camera could tell is skipped, and the video-only
// configuration (nothing to play) claims nothing.
func TestEvalMediaTone(t *testing.T) {
	dir := t.TempDir()
	tone := ffmpegClip(t, dir, "tone.wav", "0.000000\t3.000000\tsound_event\n1.000000\t2.000000\tmotion\n",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=3", "-ac", "1")
	rep := evalJSON(t, tone)
	if rep.Schema != evaluate.ReportSchema || rep.Inputs != 1 || len(rep.Clips) != 3 {
		t.Fatalf("report %+v", rep)
	}
	for _, c := range []string{"audio", "fused"} {
		sp := row(t, rep, "original", c, "speech")
		if sp.ActiveFraction != 0 || sp.FPS != 0 || sp.DurationS != 3 {
			t.Errorf("%s: speech on a tone: %+v", c, sp)
		}
		se := row(t, rep, "original", c, "sound_event")
		if se.Labels != 1 || se.LabelsSkipped != 0 || se.F1 == nil {
			t.Errorf("%s: sound_event not scored: %+v", c, se)
		}
		mo := row(t, rep, "original", c, "motion")
		if mo.Labels != 0 || mo.LabelsSkipped != 1 || mo.F1 != nil {
			t.Errorf("%s: motion scored without a camera: %+v", c, mo)
		}
	}
	for _, c := range rep.Clips {
		if c.Config == "video" && (c.Audio || c.Video || c.Decisions != 0) {
			t.Errorf("video-only run of an audio file: %+v", c)
		}
		if c.Config == "audio" && (!c.Audio || c.Video) {
			t.Errorf("audio-only run: %+v", c)
		}
	}
}

// TestEvalMediaNoAudio: a video without an audio track played as a camera
// (source: file): the speech label is skipped and counted in every
// configuration, motion is scored where there is a camera.
func TestEvalMediaNoAudio(t *testing.T) {
	if testBuildTags == "nosensors" {
		t.Skip("no camera in a nosensors build")
	}
	dir := t.TempDir()
	clip := ffmpegClip(t, dir, "silent.mkv", "0.200000\t1.000000\tspeech\n0.000000\t2.000000\tmotion\n",
		"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:duration=2", "-c:v", "mjpeg", "-q:v", "5")
	other := filepath.Join(dir, "labels-elsewhere.txt")
	os.Rename(strings.TrimSuffix(clip, ".mkv")+".txt", other)
	rep := evalJSON(t, clip, "--labels", other)
	for _, c := range []string{"audio", "video", "fused"} {
		if r := row(t, rep, "original", c, "speech"); r.LabelsSkipped != 1 || r.Labels != 0 || r.F1 != nil {
			t.Errorf("%s: speech %+v", c, r)
		}
	}
	for _, c := range []string{"video", "fused"} {
		if r := row(t, rep, "original", c, "motion"); r.Labels != 1 || r.LabelsSkipped != 0 || r.TPS+r.FNS+r.UnknownLabelledS < 1.9 {
			t.Errorf("%s: motion %+v", c, r)
		}
	}
	if r := row(t, rep, "original", "audio", "motion"); r.LabelsSkipped != 1 {
		t.Errorf("audio: motion %+v", r)
	}
}

// TestEvalManifest reads a benchmark manifest and scores only its split.
func TestEvalManifest(t *testing.T) {
	dir := t.TempDir()
	ffmpegClip(t, dir, "a.wav", "", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=8000:duration=1")
	manifest := "split\tclip\tvariant\tmedia\tlabels\tcomposite\tsources\n" +
		"test\ta\ttone\ta.wav\ta.txt\tyes\tsine\n" +
		"train\tb\ttone\tmissing.wav\tmissing.txt\tno\t-\n"
	os.WriteFile(filepath.Join(dir, evaluate.ManifestName), []byte(manifest), 0o644)
	rep := evalJSON(t, "--real", dir, "--split", "test")
	if rep.Inputs != 1 || rep.Split != "test" || len(rep.Clips) != 3 || !rep.Clips[0].Composite || rep.Clips[0].Variant != "tone" {
		t.Fatalf("report %+v", rep)
	}
	if r := row(t, rep, "tone", "audio", "speech"); r.CompositeClips != 1 || r.DurationS != 1 {
		t.Errorf("row %+v", r)
	}
	code, _, stderr := runFusiond(t, "eval", "--real", dir, "--split", "validation")
	if code != 1 || !strings.Contains(stderr, `no clips in split "validation"`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestTrainScenes fits a head on two synthetic scenes through the
// command: the model file reads back and says what it was fitted on.
func TestTrainScenes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "head.txt")
	code, stdout, stderr := runFusiond(t, "train", "--out", out, "../../testdata/eval/train/train-00-agree.yaml", "../../testdata/eval/train/train-01-disagree.yaml")
	if code != 0 || !strings.Contains(stdout, "wrote "+out+": 2 inputs, ") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fuse.ParseModel(out, data); err != nil || !strings.Contains(string(data), "on 2 inputs") {
		t.Fatalf("%v\n%s", err, data)
	}
	if code, _, stderr := runFusiond(t, "train", "--out", out, filepath.Join(t.TempDir(), "none.yaml")); code != 1 || !strings.Contains(stderr, "fusiond train: ") {
		t.Fatalf("missing input: exit %d: %s", code, stderr)
	}
}
