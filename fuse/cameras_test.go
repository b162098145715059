package fuse

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// TestMoreCameras: with cameras beyond the first, the first camera's
// fusion makes exactly the decisions it makes alone; each other camera's
// camera kinds come with its name, in the daemon's one sequence: a moving
// square in cam1 (yaw 90°) is motion at a robot bearing 90° right of its
// camera bearing, and cam2, which sends no frame, is unknown naming itself
// in missing_streams.
func TestMoreCameras(t *testing.T) {
	cfg := testConfig()
	cfg.Decide = &DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60, Camera: "cam0", HeartbeatNS: 1e9}
	cfg.Streams = map[av.Modality][]string{av.Video: {"cam0"}, av.Audio: {"mic0"}}
	bundles := func(more bool) []*av.Bundle {
		var out []*av.Bundle
		for i := range 30 {
			b := bundle(int64(i)*33, grayFrame(0, 0), sine(0.5, 480))
			if more {
				b.MoreFrames = []*av.Frame{grayFrame((i%5)*8, 16), nil}
			}
			out = append(out, b)
		}
		return out
	}
	alone := decide(t, cfg, bundles(false)...)
	cfg.MoreCameras = []CameraConfig{{Name: "cam1", YawDeg: 90, HFOVDeg: 60}, {Name: "cam2", HFOVDeg: 60}}
	all := decide(t, cfg, bundles(true)...)

	var first []*av.Decision
	byCam := map[string][]*av.Decision{}
	for i, d := range all {
		if d.Seq != uint64(i+1) {
			t.Fatalf("decision %d has seq %d", i, d.Seq)
		}
		if d.Camera == "cam1" || d.Camera == "cam2" {
			if !CameraKind(d.Kind) {
				t.Errorf("%s names camera %s", d.Kind, d.Camera)
			}
			byCam[d.Camera] = append(byCam[d.Camera], d)
			continue
		}
		first = append(first, d)
	}
	if len(first) != len(alone) {
		t.Fatalf("the first camera's fusion made %d decisions, %d alone", len(first), len(alone))
	}
	for i := range first {
		a, b := alone[i].Decision, first[i].Decision
		a.Seq, b.Seq = 0, 0
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("decision %d differs from the first camera's alone:\n got %s\nwant %s", i, jb, ja)
		}
	}
	moved := false
	for _, d := range byCam["cam1"] {
		if d.Kind == KindMotion && d.State == "active" && d.BearingDeg != nil && d.CameraBearingDeg != nil {
			moved = true
			if got := *d.BearingDeg - *d.CameraBearingDeg; got != 90 {
				t.Errorf("cam1 motion: robot bearing %v, camera bearing %v: want 90° apart", *d.BearingDeg, *d.CameraBearingDeg)
			}
		}
	}
	if !moved {
		t.Errorf("no active motion with a bearing in cam1: %v", kindsOf(byCam["cam1"]))
	}
	if len(byCam["cam2"]) == 0 {
		t.Fatal("no decision names cam2")
	}
	for _, d := range byCam["cam2"] {
		if d.State != "unknown" || !slices.Equal(d.MissingStreams, []string{"cam2"}) {
			t.Errorf("cam2 %s: state %s, missing_streams %v; want unknown, [cam2]", d.Kind, d.State, d.MissingStreams)
		}
	}
}

func kindsOf(ds []*av.Decision) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Kind+":"+string(d.State))
	}
	return out
}

// TestCameraSeeingTheSameDecidesTheSame: a second camera that sees what
// the first sees, from the same pose, makes the first's camera kinds, but
// for its name: the audio features it reads from the first camera's
// fusion are the ones it would compute.
func TestCameraSeeingTheSameDecidesTheSame(t *testing.T) {
	cfg := testConfig()
	cfg.Decide = &DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60, Camera: "cam0", HeartbeatNS: 2e8}
	cfg.AudioFeatures = &AudioConfig{RateHz: 48000, Channels: 1}
	cfg.MoreCameras = []CameraConfig{{Name: "cam1", HFOVDeg: 60}}
	var bundles []*av.Bundle
	for i := range 40 {
		var audio []float32
		if i%10 < 7 { // sound, then three bundles without audio
			audio = sine(0.05*float64(i%10+1), 480)
		}
		b := bundle(int64(i)*33, grayFrame((i%6)*8, 8), audio)
		b.MoreFrames = []*av.Frame{grayFrame((i%6)*8, 8)}
		bundles = append(bundles, b)
	}
	var first, second []string
	for _, d := range decide(t, cfg, bundles...) {
		if !CameraKind(d.Kind) {
			continue
		}
		x := d.Decision
		cam := x.Camera
		x.Seq, x.Camera = 0, ""
		j, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		switch cam {
		case "cam0":
			first = append(first, string(j))
		case "cam1":
			second = append(second, string(j))
		default:
			t.Fatalf("%s names camera %q", d.Kind, cam)
		}
	}
	if len(first) == 0 || !slices.Equal(first, second) {
		t.Fatalf("the cameras decide differently:\ncam0 %v\ncam1 %v", first, second)
	}
}
