package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

func TestPercentilesOf(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100..1, unsorted
	}
	for _, tc := range []struct {
		name string
		ms   []float64
		want Percentiles
	}{
		{"empty", nil, Percentiles{}},
		{"one", []float64{7}, Percentiles{N: 1, P50: 7, P90: 7, P99: 7, P999: 7, Max: 7}},
		{"1..100", hundred, Percentiles{N: 100, P50: 50, P90: 90, P99: 99, P999: 100, Max: 100}},
		{"two", []float64{3, 1}, Percentiles{N: 2, P50: 1, P90: 3, P99: 3, P999: 3, Max: 3}},
	} {
		if got := percentilesOf(tc.ms); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if hundred[0] != 100 {
		t.Error("percentilesOf sorted its argument")
	}
}

func TestCPUWindow(t *testing.T) {
	samples := []cpuSample{{atNS: 0, cpuNS: 0}, {atNS: 10, cpuNS: 5}, {atNS: 20, cpuNS: 15}, {atNS: 30, cpuNS: 16}}
	for _, tc := range []struct {
		from, to int64
		c0, c1   int64
		ok       bool
	}{
		{10, 30, 5, 16, true},
		{12, 25, 5, 15, true},  // the last sample at or before each
		{-5, 100, 0, 16, true}, // before the first: the first
		{20, 20, 0, 0, false},  // empty window
		{30, 10, 0, 0, false},  // reversed
	} {
		c0, c1, ok := cpuWindow(samples, tc.from, tc.to)
		if c0 != tc.c0 || c1 != tc.c1 || ok != tc.ok {
			t.Errorf("cpuWindow(%d, %d) = %d, %d, %v; want %d, %d, %v", tc.from, tc.to, c0, c1, ok, tc.c0, tc.c1, tc.ok)
		}
	}
	if _, _, ok := cpuWindow(samples[:1], 0, 10); ok {
		t.Error("one sample gave a window")
	}
}

// TestSpans: a decision's processing latency runs from the arrival of the
// bundle after its own (the one that closed its interval) to publication;
// a tick's to the last decision that bundle closed.
func TestSpans(t *testing.T) {
	const ms = 1e6
	stamps := func(capture, arrival, sync, fuse, publish int64) av.Stamps {
		var s av.Stamps
		s[av.StageCapture], s[av.StageArrival], s[av.StageSync], s[av.StageFuse], s[av.StagePublish] = capture, arrival, sync, fuse, publish
		return s
	}
	c := &e2eCollector{
		bundles: []av.Stamps{stamps(100*ms, 101*ms, 102*ms, 0, 0), stamps(133*ms, 134*ms, 135*ms, 0, 0)},
		// The first interval's decision, published after the second
		// bundle arrived; the second's has no closing bundle yet.
		// A second camera's decision of the first interval, published
		// after the first: the tick ends with it.
		decisions: []av.Stamps{stamps(100*ms, 101*ms, 102*ms, 136*ms, 137*ms), stamps(133*ms, 134*ms, 135*ms, 140*ms, 141*ms),
			stamps(100*ms, 101*ms, 102*ms, 137*ms, 138*ms)},
	}
	out := map[string][]float64{}
	c.spans(out)
	want := map[string][]float64{
		"processing":                {3, 4},
		"tick":                      {4},
		"bundle arrival→sync":       {1, 1},
		"bundle capture→sync":       {2, 2},
		"capture→sync":              {2, 2, 2},
		"sync→fuse":                 {34, 5, 35},
		"fuse→publish":              {1, 1, 1},
		"capture→publish":           {37, 8, 38},
		"arrival→publish (stamped)": {36, 7, 37},
	}
	for k, w := range want {
		if got := out[k]; !slices.Equal(got, w) {
			t.Errorf("%s: %v, want %v", k, got, w)
		}
	}
	if len(out) != len(want) {
		t.Errorf("spans %v", out)
	}
}

func TestMediaSpan(t *testing.T) {
	var a, b av.Stamps
	a[av.StageCapture], b[av.StageCapture] = 2e9, 1e9
	cfg := &configs.Config{Cameras: []configs.Camera{{FPS: 4}}}
	if got := mediaSpan(&e2eCollector{bundles: []av.Stamps{a, b}}, cfg); got != 1.25 {
		t.Errorf("mediaSpan = %g, want 1.25 (1 s of captures + one frame period)", got)
	}
	if got := mediaSpan(&e2eCollector{}, cfg); got != 0 {
		t.Errorf("no bundles: %g", got)
	}
}

func TestFFmpegRate(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want float64
	}{
		{"frame=  100 fps=0.0 q=-0.0\nframe=  300 fps=150 q=-0.0 Lsize=N/A\nbench: utime=1.0s stime=0.1s rtime=1.500s\n", 200},
		{"frame=  300\n", 0},                // no rtime
		{"bench: rtime=0.000s frame= 3", 0}, // zero time
		{"", 0},
	} {
		if got := ffmpegRate(tc.out); got != tc.want {
			t.Errorf("ffmpegRate(%q) = %g, want %g", tc.out, got, tc.want)
		}
	}
}

// TestE2EReportJSON: a report written as JSON reads back the same and
// prints the same tables, with the targets met or not per camera count.
func TestE2EReportJSON(t *testing.T) {
	rep := &E2EReport{Machine: "m", Date: "d", Command: "c",
		Runs: []E2ERun{
			{Mode: E2EPaced, Cameras: 1, MediaS: 1, WallS: 1, XRealTime: 1, Bundles: 30, Frames: 30, Decisions: 29, CPUCores: 0.15, PeakRSSMB: 100, Load1: 1.5,
				Latency: map[string]Percentiles{"tick": {N: 29, P50: 0.5, P99: 2, Max: 2}}, TickMS: []float64{0.5, 2}},
			{Mode: E2EMax, Cameras: 1, MediaS: 2, WallS: 0.5, XRealTime: 4, Bundles: 60, Frames: 60, Decisions: 59, FramesPS: 120,
				Drops: []av.DropCount{{Stream: "cam0", Reason: av.DropShutdown, Count: 3}}, SourceWhat: "renderer", SourceFPS: 240},
			{Mode: E2EPaced, Cameras: 4, MediaS: 1, WallS: 1, XRealTime: 1, Bundles: 30, Frames: 120, Decisions: 116, CPUCores: 0.9, PeakRSSMB: 400,
				Latency: map[string]Percentiles{"tick": {N: 29, P50: 5, P99: 12, Max: 13}}, TickMS: []float64{5, 13}},
			{Mode: E2EMax, Cameras: 4, MediaS: 2, WallS: 1, XRealTime: 2, Bundles: 60, Frames: 240, Decisions: 236, FramesPS: 240, SourceWhat: "renderer", SourceFPS: 480},
		},
		Limits: E2ELimits{NATSPerS: 1e6, PayloadBytes: 700}}
	path := filepath.Join(t.TempDir(), "e2e.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadE2EReport(path)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	rep.Print(&a)
	back.Print(&b)
	if a.String() != b.String() {
		t.Errorf("printed differently after JSON:\n%s\n%s", a.String(), b.String())
	}
	for _, want := range []string{
		"| 1 | 2.00 | 15.0 | 15.0 | 100 | met | 120 | 240 | 0.50 | 4.00 | 1.5 |",
		"| 4 | 12.00 | 90.0 | 22.5 | 400 | not met: tick p99, CPU, RSS | 240 | 480 | 0.50 | 2.00 | 0.0 |",
		"| paced | 1 |", "| max | 1 | 2.0 | 0.50 | 4.0 | 120 | 60 | 59 |", "| 0 |\n",
		"| renderer | 240 frames/s | 120 frames/s (max speed, 1 camera(s)) | 0.50 |", "| tick | 29 | 0.500 |"} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("no %q in\n%s", want, a.String())
		}
	}
	dir := t.TempDir()
	if err := rep.Plots(dir); err != nil {
		t.Errorf("plots: %v", err)
	}
	for _, f := range []string{"e2e-latency-cdf.svg", "e2e-scaling.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestRobotConfig: bench e2e's robot has the cameras asked for, their
// yaws spread around it, one 4-channel array with a bearing, and a
// decision each frame; a user's config is taken as it is, not with
// --cameras.
func TestRobotConfig(t *testing.T) {
	for _, tc := range []struct {
		cameras string
		want    [][]float64 // yaws per config
		err     bool
	}{
		{"", [][]float64{{0}}, false},
		{"1,2,4", [][]float64{{0}, {0, 180}, {0, 90, 180, -90}}, false},
		{"3", [][]float64{{0, 120, -120}}, false},
		{"0", nil, true},
		{"1,x", nil, true},
		{"17", nil, true},
	} {
		cfgs, err := E2EConfigs("", tc.cameras, []string{"pipeline.queue_capacity=8"})
		if (err != nil) != tc.err {
			t.Errorf("%q: %v", tc.cameras, err)
			continue
		}
		if len(cfgs) != len(tc.want) {
			t.Errorf("%q: %d configs", tc.cameras, len(cfgs))
			continue
		}
		for i, cfg := range cfgs {
			var yaws []float64
			for j, c := range cfg.Cameras {
				yaws = append(yaws, c.Pose.YawDeg)
				if c.Name != fmt.Sprintf("cam%d", j) || c.Width != 640 || c.Height != 480 || c.FPS != 30 || c.Source != "synthetic" {
					t.Errorf("%q: camera %+v", tc.cameras, c)
				}
			}
			if !slices.Equal(yaws, tc.want[i]) {
				t.Errorf("%q: yaws %v, want %v", tc.cameras, yaws, tc.want[i])
			}
			m := cfg.Microphones
			if len(m) != 1 || m[0].Channels != 4 || m[0].RateHz != 48000 || len(m[0].Geometry) != 4 || cfg.Sync.Policy != "approximate" ||
				!cfg.Fuse.Features.Audio || !cfg.Fuse.Features.Video || cfg.Fuse.DecisionInterval != time.Second/30 || cfg.Pipeline.QueueCapacity != 8 {
				t.Errorf("%q: %+v", tc.cameras, cfg)
			}
		}
	}
	if _, err := E2EConfigs("robot.yaml", "2", nil); err == nil {
		t.Error("--config with --cameras")
	}
}

// Only files end by themselves: a config with a device, a stream or a
// synthetic source has its maximum-speed run cut after --media.
func TestEndsAlone(t *testing.T) {
	cfg := func(cams []string, mics ...string) *configs.Config {
		c := &configs.Config{}
		for _, s := range cams {
			c.Cameras = append(c.Cameras, configs.Camera{Source: s})
		}
		for _, s := range mics {
			c.Microphones = append(c.Microphones, configs.Microphone{Source: s})
		}
		return c
	}
	for _, c := range []struct {
		cfg  *configs.Config
		want bool
	}{
		{cfg([]string{"file"}, "media"), true},
		{cfg([]string{"file", "file"}, "wav", "media"), true},
		{cfg([]string{"file"}, "portaudio"), false},
		{cfg([]string{"gstreamer"}, "media"), false},
		{cfg([]string{"file", "synthetic"}, "wav"), false},
		{cfg([]string{"device"}), false},
	} {
		if got := endsAlone(c.cfg); got != c.want {
			t.Errorf("%+v: %v, want %v", c.cfg, got, c.want)
		}
	}
}
