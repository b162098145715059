package configs

import (
	"slices"
	"strings"
	"testing"
)

// TestRobotFrameBadInput: each bad pose or geometry is an error naming
// the key, located in the file.
func TestRobotFrameBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, yml, want string
	}{
		{"yaw out of range", "cameras:\n  - name: c\n    pose: {yaw_deg: 190}\n", "robot.yaml:3: cameras.0.pose.yaw_deg: 190 is out of range -180..180"},
		{"pitch out of range", "cameras:\n  - name: c\n    pose: {pitch_deg: -91}\n", "robot.yaml:3: cameras.0.pose.pitch_deg: -91 is out of range"},
		{"hfov zero", "cameras:\n  - name: c\n    pose:\n      hfov_deg: 0\n", "robot.yaml:4: cameras.0.pose.hfov_deg: 0 is out of range (0, 180)"},
		{"hfov 180", "cameras:\n  - name: c\n    pose: {hfov_deg: 180}\n", "cameras.0.pose.hfov_deg: 180 is out of range"},
		{"camera too far", "cameras:\n  - name: c\n    pose: {z: 11}\n", "cameras.0.pose.z: 11 m is not within 10 m"},
		{"geometry short", "microphones:\n  - name: m\n    channels: 4\n    geometry: [{x: 0}, {x: 0.1}]\n", "robot.yaml:4: microphones.0.geometry: 2 positions for 4 channels"},
		{"geometry long", "microphones:\n  - name: m\n    channels: 1\n    geometry: [{x: 0}, {x: 0.1}]\n", "microphones.0.geometry: 2 positions for 1 channels"},
		{"geometry coincides", "microphones:\n  - name: m\n    geometry: [{x: 0.1}, {x: 0.1}]\n", "microphones.0.geometry: position 1 {0.1 0 0} coincides with the first"},
		{"geometry far", "microphones:\n  - name: m\n    geometry: [{x: 0}, {y: 12}]\n", "microphones.0.geometry: position 1 {0 12 0} is not within 10 m"},
		{"same name", "cameras:\n  - name: a\nmicrophones:\n  - name: a\n", `microphones.0.name: stream name "a" is already used by cameras.0.name`},
		{"deprecated hfov out of range", "fuse:\n  features:\n    camera_hfov_deg: 200\n", "robot.yaml:3: fuse.features.camera_hfov_deg: 200 is out of range"},
		{"deprecated positions misfit", "fuse:\n  features:\n    mic_positions: [{x: 0}, {x: 0.1}, {x: 0.2}]\n", "robot.yaml:3: fuse.features.mic_positions: 3 positions for 2 channels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("robot.yaml", []byte(tc.yml), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

// TestRobotFrameDefaults: the default pose and geometry, an entry that
// keeps the default pose, and a mono microphone that has no geometry.
func TestRobotFrameDefaults(t *testing.T) {
	cfg, err := Parse("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Cameras[0].Pose; p != (Pose{HFOVDeg: 60}) {
		t.Errorf("default pose %+v", p)
	}
	if g := cfg.Microphones[0].Geometry; !slices.Equal(g, []MicPosition{{X: -0.05}, {X: 0.05}}) {
		t.Errorf("default geometry %+v", g)
	}
	if d := cfg.Deprecation(); d != "" {
		t.Errorf("the defaults are deprecated: %s", d)
	}
	yml := "cameras:\n  - name: c\n    pose: {yaw_deg: 90}\nmicrophones:\n  - name: m\n    channels: 1\n"
	cfg, err = Parse("robot.yaml", []byte(yml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Cameras[0].Pose; p != (Pose{YawDeg: 90, HFOVDeg: 60}) {
		t.Errorf("pose with only yaw given: %+v", p)
	}
	if g := cfg.Microphones[0].Geometry; g != nil {
		t.Errorf("a mono microphone took the stereo geometry %+v", g)
	}
	if _, err := Parse("", nil, []string{"microphones.0.channels=1"}); err != nil {
		t.Errorf("a mono microphone by --set: %v", err)
	}
	if _, err := Parse("", nil, []string{"microphones.0.geometry=[]"}); err != nil {
		t.Errorf("no geometry: %v", err)
	}
}

// TestDeprecatedKeysMap: the old global keys still read, mapped onto the
// new ones, with one warning naming both where they are; the new keys win
// where both are given.
func TestDeprecatedKeysMap(t *testing.T) {
	yml := `fuse:
  features:
    camera_hfov_deg: 90
    mic_positions: [{x: -0.1, y: 0}, {x: 0.1, y: 0}]
`
	cfg, err := Parse("old.yaml", []byte(yml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Cameras[0].Pose.HFOVDeg; h != 90 {
		t.Errorf("hfov %v, want the deprecated key's 90", h)
	}
	if g := cfg.Microphones[0].Geometry; !slices.Equal(g, []MicPosition{{X: -0.1}, {X: 0.1}}) {
		t.Errorf("geometry %+v, want the deprecated key's", g)
	}
	d := cfg.Deprecation()
	for _, want := range []string{"fuse.features.camera_hfov_deg (old.yaml:3)", "fuse.features.mic_positions (old.yaml:4)", "pose.hfov_deg", "microphones.0.geometry"} {
		if !strings.Contains(d, want) {
			t.Errorf("deprecation %q lacks %q", d, want)
		}
	}
	if strings.Count(d, "\n") != 0 {
		t.Errorf("deprecation is more than one line: %q", d)
	}

	yml += `cameras:
  - name: c
    pose: {hfov_deg: 70}
microphones:
  - name: m
    geometry: [{x: -0.2}, {x: 0.2}]
`
	cfg, err = Parse("both.yaml", []byte(yml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Cameras[0].Pose.HFOVDeg; h != 70 {
		t.Errorf("hfov %v, want the new key's 70", h)
	}
	if g := cfg.Microphones[0].Geometry; !slices.Equal(g, []MicPosition{{X: -0.2}, {X: 0.2}}) {
		t.Errorf("geometry %+v, want the new key's", g)
	}
	if cfg.Deprecation() == "" {
		t.Error("no deprecation warning for keys that were set")
	}

	cfg, err = Parse("", nil, []string{"fuse.features.camera_hfov_deg=75"})
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Cameras[0].Pose.HFOVDeg; h != 75 || !strings.Contains(cfg.Deprecation(), "--set fuse.features.camera_hfov_deg=75") {
		t.Errorf("--set: hfov %v, warning %q", h, cfg.Deprecation())
	}
}
