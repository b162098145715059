//go:build !nosensors

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
)

// fakeSoundCard points ALSA at testdata/alsa/asound.conf, whose default
// capture device reads raw (a raw s16le file).
func fakeSoundCard(t *testing.T, raw string) {
	t.Helper()
	conf, err := filepath.Abs("../../testdata/alsa/asound.conf")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALSA_CONFIG_PATH", conf)
	t.Setenv("FUSIOND_ALSA_IN", raw)
	t.Setenv("FUSIOND_ALSA_IN2", raw)
}

// toneRaw writes seconds of a 16 kHz mono s16le tone at -12 dBFS.
func toneRaw(t *testing.T, seconds float64) string {
	t.Helper()
	n := int(seconds * 16000)
	b := make([]byte, 2*n)
	for i := range n {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(8000*math.Sin(2*math.Pi*440*float64(i)/16000))))
	}
	p := filepath.Join(t.TempDir(), "tone.raw")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDevicesListsALSAFileDevice(t *testing.T) {
	fakeSoundCard(t, toneRaw(t, 0.1))
	var out, errb bytes.Buffer
	if code := fusiond([]string{"devices", "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var l daemon.Devices
	if err := json.Unmarshal(out.Bytes(), &l); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	found, def := false, false
	for _, d := range l.AudioInputs {
		found = found || (d.Name == "filecap" && d.HostAPI == "ALSA" && d.MaxInputChannels > 0)
		def = def || (d.Default && d.Name == "default")
	}
	if !found || !def {
		t.Fatalf("devices --json lists %+v: want the ALSA file device filecap and a default", l.AudioInputs)
	}
	out.Reset()
	if code := fusiond([]string{"devices"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), `"filecap"`) || !strings.Contains(out.String(), "[default]") {
		t.Fatalf("devices (text), exit %d:\n%s", code, out.String())
	}
}

func TestLintWarnsAbsentDevices(t *testing.T) {
	fakeSoundCard(t, toneRaw(t, 0.1))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "absent.yaml")
	os.WriteFile(cfg, []byte(`cameras:
  - name: cam0
    source: device
    device: /dev/video42
microphones:
  - name: mic0
    source: portaudio
    device: "USB headset"
`), 0o644)
	var out, errb bytes.Buffer
	if code := fusiond([]string{"lint", cfg}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d (want 0: absent devices are warnings): %s", code, errb.String())
	}
	for _, want := range []string{`no camera "/dev/video42"`, `no input device "USB headset"`, `"filecap"`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("lint warnings do not say %q:\n%s", want, errb.String())
		}
	}
}

// readDecisions reads a JSONL decisions file.
func readDecisions(t *testing.T, path string) []av.Decision {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ds []av.Decision
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d av.Decision
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

// runFor runs the daemon on cfg for d and returns its decisions, logs and
// error.
// activityOnly keeps the activity decisions: one per interval, whose
// missing modalities say what the interval had. (The frame-rate kinds are
// unknown, and say so, until their sense's first sample arrives.)
func activityOnly(ds []av.Decision) []av.Decision {
	var out []av.Decision
	for _, d := range ds {
		if d.Kind == fuse.KindActivity {
			out = append(out, d)
		}
	}
	return out
}

func runFor(t *testing.T, cfg *configs.Config, d time.Duration) ([]av.Decision, string, error) {
	t.Helper()
	jsonl := filepath.Join(t.TempDir(), "decisions.jsonl")
	logs := &avtest.LogBuffer{}
	dm, err := daemon.New(cfg, daemon.WithClock(av.NewRealClock()), daemon.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		daemon.WithDecisionsFile(jsonl))
	if err != nil {
		return nil, logs.String(), err
	}
	// The sources run for d from the moment the daemon is ready: starting
	// NATS and JetStream takes a while on a loaded machine, and that time
	// is not the sources'.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- dm.Run(ctx) }()
	select {
	case <-dm.Ready():
		select {
		case <-time.After(d):
			cancel()
			err = <-done
		case err = <-done:
		}
	case err = <-done:
	}
	return readDecisions(t, jsonl), logs.String(), err
}

// TestRunGStreamerCameraALSAMicrophone is the real capture path end to end:
// a GStreamer camera through gocv and the ALSA file device through
// PortAudio, fused into decisions that use both.
func TestRunGStreamerCameraALSAMicrophone(t *testing.T) {
	defer goleak.VerifyNone(t)
	fakeSoundCard(t, toneRaw(t, 5))
	cfg, err := configs.Load("../../configs/fake-devices.yaml", []string{"fuse.decision_interval=250ms", "state_dir=" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ds, logs, err := runFor(t, cfg, 3*time.Second)
	if err != nil {
		t.Fatalf("daemon: %v\n%s", err, logs)
	}
	ds = activityOnly(ds)
	if len(ds) < 6 {
		t.Fatalf("%d activity decisions in 3 s, want at least 6\n%s", len(ds), logs)
	}
	// The first decisions may straddle the devices' start (each opens in
	// its own time) and the last their stop; the rest must use both
	// modalities.
	for _, d := range ds[2 : len(ds)-1] {
		if len(d.Missing) != 0 || d.Degraded {
			t.Fatalf("decision %d: missing %v degraded %v; want both modalities\n%s", d.Seq, d.Missing, d.Degraded, logs)
		}
		if _, ok := d.Contributions["video"]; !ok {
			t.Fatalf("decision %d has no video contribution: %v", d.Seq, d.Contributions)
		}
	}
	for _, want := range []string{"microphone open", "camera open", "host_api=ALSA", `granted="320x240@30`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// TestRunBrokenSourcesKeepGoing: a missing video file, a failing GStreamer
// pipeline and an unknown microphone are each a clear error, and the
// other stream's decisions still come.
func TestRunBrokenSourcesKeepGoing(t *testing.T) {
	defer goleak.VerifyNone(t)
	fakeSoundCard(t, toneRaw(t, 5))
	missing := filepath.Join(t.TempDir(), "missing.avi")
	for _, tc := range []struct {
		name    string
		sets    []string
		logWant string
		missing av.Modality
	}{
		{"missing file", []string{"cameras.0.source=file", "cameras.0.file=" + missing}, "missing.avi", av.Video},
		{"bad pipeline", []string{"cameras.0.pipeline=nosuchelement ! appsink"}, "nosuchelement", av.Video},
		{"unknown mic", []string{"microphones.0.device=no-such-mic"}, `available: 0 \"nul\"`, av.Audio},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := configs.Load("../../configs/fake-devices.yaml", append([]string{"fuse.decision_interval=250ms", "sync.max_wait=100ms", "state_dir=" + t.TempDir()}, tc.sets...))
			if err != nil {
				t.Fatal(err)
			}
			ds, logs, _ := runFor(t, cfg, 2*time.Second)
			if !strings.Contains(logs, tc.logWant) {
				t.Errorf("logs do not name the problem (%s):\n%s", tc.logWant, logs)
			}
			if len(ds) < 3 {
				t.Fatalf("%d decisions, want the other stream to go on\n%s", len(ds), logs)
			}
			last := ds[len(ds)-2]
			if len(last.Missing) != 1 || last.Missing[0] != string(tc.missing) || !last.Degraded {
				t.Fatalf("decision %d: missing %v, want [%s] and degraded", last.Seq, last.Missing, tc.missing)
			}
		})
	}
}

// TestRunCameraVanishes: a camera that stops delivering mid-run (a
// GStreamer pipeline that ends) is logged, counted, reported missing in
// the decisions, and reopened with backoff; the microphone goes on.
func TestRunCameraVanishes(t *testing.T) {
	defer goleak.VerifyNone(t)
	fakeSoundCard(t, toneRaw(t, 5))
	cfg, err := configs.Load("../../configs/fake-devices.yaml", []string{
		"fuse.decision_interval=250ms", "sync.max_wait=100ms", "state_dir=" + t.TempDir(),
		// 15 frames (0.5 s) per opening, then the stream ends.
		"cameras.0.pipeline=videotestsrc is-live=true num-buffers=15 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! video/x-raw,format=BGR ! appsink",
	})
	if err != nil {
		t.Fatal(err)
	}
	ds, logs, err := runFor(t, cfg, 3500*time.Millisecond)
	if err != nil {
		t.Fatalf("daemon: %v\n%s", err, logs)
	}
	if n := strings.Count(logs, "camera open"); n < 2 {
		t.Fatalf("camera opened %d times, want it reopened after it vanished\n%s", n, logs)
	}
	if !strings.Contains(logs, "device unavailable") || !strings.Contains(logs, "stopped delivering frames") {
		t.Fatalf("the vanished camera was not logged\n%s", logs)
	}
	var videoMissing, both int
	for _, d := range ds {
		switch {
		case len(d.Missing) == 1 && d.Missing[0] == string(av.Video):
			videoMissing++
		case len(d.Missing) == 0:
			both++
		default:
			if len(d.Missing) > 0 && d.Missing[0] == string(av.Audio) {
				t.Fatalf("decision %d lost audio: %v", d.Seq, d.Missing)
			}
		}
	}
	if videoMissing == 0 || both == 0 {
		t.Fatalf("%d decisions with video missing, %d with both; want some of each (%d in all)", videoMissing, both, len(ds))
	}
}

// TestRunClipConfigs runs each shipped per-clip config on its media (from
// scripts/fetch-media.sh; make test fetches them) and checks which
// modalities its decisions use.
func TestRunClipConfigs(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		config  string
		missing []string // in every decision but the first two and the last
	}{
		{"clip-flash-tone.yaml", nil},
		{"clip-megamind.yaml", nil},
		{"clip-vtest.yaml", []string{string(av.Audio)}},
		{"clip-speech.yaml", []string{string(av.Video)}},
	} {
		t.Run(tc.config, func(t *testing.T) {
			cfg, err := configs.Load("../../configs/"+tc.config, []string{"fuse.decision_interval=250ms", "state_dir=" + t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			// The configs name their media relative to the repository root.
			for _, c := range cfg.Cameras {
				if _, err := os.Stat("../../" + c.Params.String("file")); err != nil {
					t.Skipf("%s: run scripts/fetch-media.sh", c.Params.String("file"))
				}
			}
			for _, m := range cfg.Microphones {
				if _, err := os.Stat("../../" + m.Params.String("file")); err != nil {
					t.Skipf("%s: run scripts/fetch-media.sh", m.Params.String("file"))
				}
			}
			for i := range cfg.Cameras {
				cfg.Cameras[i].Params.Set("file", "../../"+cfg.Cameras[i].Params.String("file"))
			}
			for i := range cfg.Microphones {
				cfg.Microphones[i].Params.Set("file", "../../"+cfg.Microphones[i].Params.String("file"))
			}
			ds, logs, err := runFor(t, cfg, 2*time.Second)
			if err != nil {
				t.Fatalf("daemon: %v\n%s", err, logs)
			}
			ds = activityOnly(ds)
			if len(ds) < 4 {
				t.Fatalf("%d activity decisions in 2 s, want at least 4\n%s", len(ds), logs)
			}
			// The first decisions may straddle the sources' start (the
			// flash-tone clip's audio begins 200 ms into it), the last
			// their stop.
			for _, d := range ds[2 : len(ds)-1] {
				if strings.Join(d.Missing, ",") != strings.Join(tc.missing, ",") {
					t.Fatalf("decision %d: missing %v, want %v\n%s", d.Seq, d.Missing, tc.missing, logs)
				}
			}
		})
	}
}

// TestRunWholeRobot: configs/whole-robot.yaml — a GStreamer camera, a
// video file and a synthetic camera, the fake ALSA card and the video's
// sound track — in one daemon: the visual kinds come per camera, named,
// each bearing in the robot frame and its camera's; the heard kinds once,
// with no camera.
func TestRunWholeRobot(t *testing.T) {
	defer goleak.VerifyNone(t)
	fakeSoundCard(t, toneRaw(t, 6))
	cfg, err := configs.Load("../../configs/whole-robot.yaml", []string{"state_dir=" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cfg.Cameras {
		if f := c.Params.String("file"); f != "" {
			if _, err := os.Stat("../../" + f); err != nil {
				t.Skipf("%s: run scripts/fetch-media.sh", f)
			}
			cfg.Cameras[i].Params.Set("file", "../../"+f)
		}
	}
	for i, m := range cfg.Microphones {
		if f := m.Params.String("file"); f != "" {
			cfg.Microphones[i].Params.Set("file", "../../"+f)
		}
	}
	ds, logs, err := runFor(t, cfg, 4*time.Second)
	if err != nil {
		t.Fatalf("daemon: %v\n%s", err, logs)
	}
	visual := map[string]map[string]int{} // kind → camera → decisions
	heard := map[string]int{}
	for _, d := range ds {
		switch d.Kind {
		case "motion", "presence":
			if visual[d.Kind] == nil {
				visual[d.Kind] = map[string]int{}
			}
			visual[d.Kind][d.Camera]++
		case "speech", "sound_event":
			if d.Camera != "" {
				t.Fatalf("heard kind %s names camera %q", d.Kind, d.Camera)
			}
			heard[d.Kind]++
		}
	}
	for _, kind := range []string{"motion", "presence"} {
		for _, cam := range []string{"head", "body", "rear"} {
			if visual[kind][cam] == 0 {
				t.Errorf("no %s decision for camera %s: %v\n%s", kind, cam, visual, logs)
			}
		}
	}
	if heard["speech"]+heard["sound_event"] == 0 {
		t.Errorf("no heard decisions: %v", heard)
	}
}

// TestRunSpeakerNamesItsCamera: three cameras, one of them showing a face
// that speaks (a real-media composite: a real voice, the photograph's
// mouth opened with it; make realbench), the others synthetic scenes with
// no face: speaker goes active in the talking face's camera only.
func TestRunSpeakerNamesItsCamera(t *testing.T) {
	defer goleak.VerifyNone(t)
	clip, err := filepath.Abs("../../.cache/realbench/train/av-0870.original.mkv") // speech from 1.2 s to 7.9 s
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(clip); err != nil {
		t.Skipf("%v: make realbench builds the composites", err)
	}
	cfg, err := configs.Parse("", []byte(`
robot: sp
sync: {policy: approximate}
cameras:
  - {name: left, source: synthetic, width: 320, height: 240, fps: 30, pose: {yaw_deg: -60}}
  - {name: front, source: file, file: `+clip+`, width: 640, height: 480, fps: 25, pace: true}
  - {name: rear, source: synthetic, width: 320, height: 240, fps: 30, pose: {yaw_deg: 180, hfov_deg: 90}}
microphones:
  - {name: mic, source: media, file: `+clip+`, rate_hz: 48000, channels: 2, chunk: 20ms, pace: true}
nats: {embedded: {listen: ""}}
`), []string{"state_dir=" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ds, logs, err := runFor(t, cfg, 8*time.Second)
	if err != nil {
		t.Fatalf("daemon: %v\n%s", err, logs)
	}
	active := map[string]int{}
	for _, d := range ds {
		if d.Kind == "speaker" && d.State == "active" {
			active[d.Camera]++
		}
	}
	if active["front"] == 0 || active["left"]+active["rear"] > 0 {
		t.Fatalf("speaker active by camera %v; want front only\n%s", active, logs)
	}
}
