package fuse

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// movingFrames are frames of a bright square moving right, every 33 ms,
// with the microphone removed (no audio).
func movingFrames(n int) []*av.Bundle {
	var bs []*av.Bundle
	for i := range n {
		bs = append(bs, bundle(int64(i)*33, grayFrame(4+i%3*8, 24), nil))
	}
	return bs
}

// TestDecisionsNameStreamsAndCamera: with the microphone removed, every
// decision lists it in missing_streams beside missing; the kinds decided
// on what the camera sees name the camera and carry the bearing in the
// robot frame and in the camera's (a camera yawed 90°); the heard kinds
// name no camera.
func TestDecisionsNameStreamsAndCamera(t *testing.T) {
	cfg := testConfig()
	cfg.Streams = map[av.Modality][]string{av.Video: {"cam0"}, av.Audio: {"mic0"}}
	cfg.CameraYawDeg = 90
	cfg.Decide = &DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60, Camera: "cam0", CameraYawDeg: 90}
	ds := decide(t, cfg, movingFrames(30)...)
	kinds := map[string]int{}
	for _, d := range ds {
		kinds[d.Kind]++
		if !slices.Equal(d.Missing, []string{"audio"}) || !slices.Equal(d.MissingStreams, []string{"mic0"}) {
			t.Errorf("%s: missing %v, missing_streams %v; want [audio] and [mic0]", d.Kind, d.Missing, d.MissingStreams)
		}
		if want := CameraKind(d.Kind); (d.Camera == "cam0") != want {
			t.Errorf("%s: camera %q", d.Kind, d.Camera)
		}
		if d.BearingDeg != nil && d.Camera != "" {
			if d.CameraBearingDeg == nil || math.Abs(*d.BearingDeg-*d.CameraBearingDeg-90) > 1e-9 {
				t.Errorf("%s: robot bearing %v, camera bearing %v: want 90° apart", d.Kind, *d.BearingDeg, d.CameraBearingDeg)
			}
			if *d.BearingDeg < 60 || *d.BearingDeg > 120 {
				t.Errorf("%s: robot bearing %v outside the camera's view (60..120)", d.Kind, *d.BearingDeg)
			}
			if d.Evidence["bearing_deg"] != *d.BearingDeg {
				t.Errorf("%s: evidence bearing %v, top-level %v", d.Kind, d.Evidence["bearing_deg"], *d.BearingDeg)
			}
		}
		if d.CameraBearingDeg != nil && d.Camera == "" {
			t.Errorf("%s: a camera bearing without a camera", d.Kind)
		}
	}
	if kinds[KindActivity] == 0 || kinds[KindMotion] == 0 {
		t.Fatalf("decisions by kind %v: want activity and motion", kinds)
	}
	var withBearing bool
	for _, d := range ds {
		withBearing = withBearing || d.Kind == KindMotion && d.BearingDeg != nil
	}
	if !withBearing {
		t.Error("no motion decision with a bearing")
	}
	b, _ := json.Marshal(ds[len(ds)-1])
	t.Logf("%s", b)
}

// TestYawZeroKeepsBearings: a camera yawed 0° (the default pose) gives
// the bearings of today, bit for bit, and both frames agree.
func TestYawZeroKeepsBearings(t *testing.T) {
	cfg := testConfig()
	cfg.Decide = &DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60, Camera: "cam0"}
	n := 0
	for _, d := range decide(t, cfg, movingFrames(30)...) {
		if d.BearingDeg == nil {
			continue
		}
		n++
		if math.Float64bits(*d.BearingDeg) != math.Float64bits(*d.CameraBearingDeg) {
			t.Errorf("%s: robot %v, camera %v", d.Kind, *d.BearingDeg, *d.CameraBearingDeg)
		}
		if d.MissingStreams != nil {
			t.Errorf("%s: missing_streams %v without streams configured", d.Kind, d.MissingStreams)
		}
		if got := fmt.Sprint(d.Missing); got != "[audio]" {
			t.Errorf("%s: missing %s", d.Kind, got)
		}
	}
	if n == 0 {
		t.Error("no decision with a bearing")
	}
}

// TestAgreementInTheRobotFrame: a face seen by a camera yawed 180° and a
// sound behind the robot agree across ±180°, as two bearings 20° apart.
func TestAgreementInTheRobotFrame(t *testing.T) {
	face := RobotBearing(10, 180) // -170
	across, ok1 := BearingAgreement(170, 5, face, 5)
	plain, ok2 := BearingAgreement(10, 5, -10, 5)
	if !ok1 || !ok2 || math.Abs(across-plain) > 1e-12 || !(across > 0.01) {
		t.Errorf("across ±180°: %v, 20° apart: %v", across, plain)
	}
}
