package source

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

var update = flag.Bool("update", false, "rewrite the generated source reference in docs/CONFIG.md")

// TestKinds: per kind, a valid entry loads (its keys completed with the
// defaults), and each bad key or value is an error naming the file, line
// and key.
func TestKinds(t *testing.T) {
	type bad struct {
		yaml string   // the entry's lines after name and source
		want []string // substrings of the error
	}
	for _, tc := range []struct {
		list, kind string
		valid      string // the entry's kind keys
		check      map[string]string
		bad        []bad
	}{
		{"cameras", "synthetic", "    synthetic: {seed: 7, visible_period: 0s}\n", map[string]string{"synthetic.seed": "7", "synthetic.visible_for": "4s", "synthetic.noise_amplitude": "12"}, []bad{
			{"    synthetic:\n      seed: x\n", []string{"c.yaml:6:", "cameras.0.synthetic.seed", `"x" is not an integer`}},
			{"    synthetic:\n      seed: -1\n", []string{"cameras.0.synthetic.seed", "-1 is out of range ≥ 0"}},
			{"    synthetic:\n      noise_amplitude: 300\n", []string{"c.yaml:6:", "cameras.0.synthetic.noise_amplitude", "0..255", "(source synthetic)"}},
			{"    synthetic:\n      visible_for: 7s\n", []string{"cameras.0.synthetic.visible_for", "within visible_period 6s"}},
			{"    synthetic:\n      visible_period: soon\n", []string{"cameras.0.synthetic.visible_period", "not a duration"}},
			{"    synthetic:\n      speed_px_per_s: .nan\n", []string{"cameras.0.synthetic.speed_px_per_s", "not a finite number"}},
			{"    synthetic:\n      sed: 1\n", []string{"c.yaml:6:", "cameras.0.synthetic.sed", `did you mean "seed"`}},
			{"    synthetic: 3\n", []string{"c.yaml:5:", "cameras.0.synthetic", "want a mapping of keys (seed, shape_radius"}},
			{"    file: x.avi\n", []string{"c.yaml:5:", "cameras.0.file", "unknown key", "it is a key of source file"}},
			{"    fsp: 3\n", []string{"c.yaml:5:", "cameras.0.fsp", `did you mean "fps"`}},
		}},
		{"cameras", "device", "    device: /dev/video2\n    pixel_format: MJPG\n", map[string]string{"device": "/dev/video2", "latency": "0s"}, []bad{
			{"", []string{"c.yaml:4:", "cameras.0.device", "missing: the device"}},
			{"    device: cam\n", []string{"c.yaml:5:", "cameras.0.device", `"cam" is not a device index or /dev/videoN (source device)`}},
			{"    device: 0\n    pixel_format: MJPEG\n", []string{"c.yaml:6:", "cameras.0.pixel_format", "not a FourCC"}},
			{"    device: 0\n    latency: 11s\n", []string{"cameras.0.latency", "out of range 0s..10s"}},
			{"    device: 0\n    latency: [1]\n", []string{"cameras.0.latency", "want a single value"}},
			{"    device: 0\n    pace: true\n", []string{"cameras.0.pace", "it is a key of source file"}},
		}},
		{"cameras", "url", "    url: rtsp://cam/stream\n", map[string]string{"url": "rtsp://cam/stream", "pixel_format": ""}, []bad{
			{"    url: cam\n", []string{"c.yaml:5:", "cameras.0.url", `"cam" is not a URL`}},
			{"", []string{"cameras.0.url", "missing"}},
		}},
		{"cameras", "gstreamer", "    pipeline: videotestsrc ! appsink\n    latency: 5ms\n", map[string]string{"latency": "5ms"}, []bad{
			{"    pipeline: videotestsrc\n", []string{"c.yaml:5:", "cameras.0.pipeline", "ending in appsink"}},
			{"    pipeline: x ! appsink\n    pixel_format: MJPG\n", []string{"cameras.0.pixel_format", "it is a key of source device, url"}},
		}},
		{"cameras", "file", "    file: clip.mp4\n    loop: true\n", map[string]string{"file": "clip.mp4", "pace": "true", "loop": "true"}, []bad{
			{"", []string{"c.yaml:4:", "cameras.0.file", "missing: the video file (source file)"}},
			{"    file: ''\n", []string{"cameras.0.file", "empty"}},
			{"    file: a\n    pace: maybe\n", []string{"c.yaml:6:", "cameras.0.pace", "not true or false"}},
			{"    file: a\n    lop: true\n", []string{"cameras.0.lop", `did you mean "loop"`}},
		}},
		{"microphones", "synthetic", "    synthetic:\n      events: [{kind: tone, duration: 1s}]\n", map[string]string{"synthetic.seed": "2", "synthetic.channel_delay": "250us"}, []bad{
			{"    synthetic:\n      events: [{kind: beep, duration: 1s}]\n", []string{"c.yaml:6:", "microphones.0.synthetic.events", `entry 0: kind: "beep" is not one of tone, noise, speech`}},
			{"    synthetic:\n      events: [{kind: tone}]\n", []string{"microphones.0.synthetic.events", "entry 0: duration: missing"}},
			{"    synthetic:\n      events: [{kind: tone, duration: 1s, at: 10s}]\n", []string{"microphones.0.synthetic.events", "ends at 11s, after the period 10s"}},
			{"    synthetic:\n      events: [{kind: tone, duraton: 1s}]\n", []string{"microphones.0.synthetic.events", `did you mean "duration"`}},
			{"    synthetic:\n      events: {kind: tone}\n", []string{"microphones.0.synthetic.events", "want a list"}},
			{"    synthetic:\n      noise_dbfs: 3\n", []string{"microphones.0.synthetic.noise_dbfs", "out of range ≤ 0"}},
		}},
		{"microphones", "portaudio", "    sample_format: float32\n", map[string]string{"device": "default", "sample_format": "float32", "pace": "true"}, []bad{
			{"    sample_format: int24\n", []string{"c.yaml:5:", "microphones.0.sample_format", `"int24" is not one of int16, float32`}},
			{"    device: ' '\n", []string{"microphones.0.device", "a device is needed"}},
			{"    latency: -1s\n", []string{"microphones.0.latency", "out of range"}},
			{"    file: a.wav\n", []string{"microphones.0.file", "it is a key of source media, wav"}},
		}},
		{"microphones", "wav", "    file: a.wav\n    pace: false\n", map[string]string{"file": "a.wav", "pace": "false", "loop": "false"}, []bad{
			{"", []string{"c.yaml:4:", "microphones.0.file", "missing: the WAV file (source wav)"}},
			{"    file: a.wav\n    device: default\n", []string{"microphones.0.device", "it is a key of source portaudio"}},
		}},
		{"microphones", "media", "    file: a.mp4\n", map[string]string{"file": "a.mp4", "pace": "true"}, []bad{
			{"    file: a.mp4\n    loop: 2\n", []string{"microphones.0.loop", `"2" is not true or false`}},
		}},
	} {
		t.Run(tc.list+"/"+tc.kind, func(t *testing.T) {
			other := "microphones: []\n"
			if tc.list == "microphones" {
				other = "cameras: []\n"
			}
			head := other + tc.list + ":\n  - name: s\n    source: " + tc.kind + "\n"
			cfg, err := Parse("c.yaml", []byte(head+tc.valid), nil)
			if err != nil {
				t.Fatalf("valid entry: %v", err)
			}
			p := cfg.Cameras
			params := func() configs.Params {
				if tc.list == "cameras" {
					return p[0].Params
				}
				return cfg.Microphones[0].Params
			}()
			for k, want := range tc.check {
				if got := params.String(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			spec, _ := Lookup(modalityOf(tc.list), tc.kind)
			for _, k := range spec.Keys {
				if _, ok := params.Lookup(k.Name); !ok {
					t.Errorf("key %s not completed", k.Name)
				}
			}
			// The completed config checks again, as a recording's does.
			if err := Check(cfg); err != nil {
				t.Fatalf("completed config: %v", err)
			}
			for _, b := range tc.bad {
				_, err := Parse("c.yaml", []byte(head+b.yaml), nil)
				if err == nil {
					t.Errorf("%q: no error", b.yaml)
					continue
				}
				if !errors.Is(err, configs.ErrInvalid) {
					t.Errorf("%q: error does not wrap ErrInvalid: %v", b.yaml, err)
				}
				for _, w := range b.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%q: error %q does not contain %q", b.yaml, err, w)
					}
				}
			}
		})
	}
}

func modalityOf(list string) Modality {
	if list == "cameras" {
		return Camera
	}
	return Microphone
}

// TestSet: --set reaches a kind's keys, is located in errors, and a new
// source starts from its kind's defaults.
func TestSet(t *testing.T) {
	cfg, err := Parse("", nil, []string{"cameras.0.source=file", "cameras.0.file=a.avi", "cameras.0.pace=false", "microphones.0.synthetic.events=[]"})
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Cameras[0].Params; p.String("file") != "a.avi" || p.String("pace") != "false" || p.String("loop") != "false" {
		t.Fatalf("params %v", p)
	}
	if n, _ := cfg.Microphones[0].Params.Lookup("synthetic.events"); len(n.Content) != 0 {
		t.Fatalf("events not emptied")
	}
	for _, tc := range []struct {
		sets []string
		want []string
	}{
		{[]string{"cameras.0.source=file"}, []string{"--set cameras.0.source=file", "cameras.0.file", "missing"}},
		{[]string{"cameras.0.fsp=3"}, []string{"--set cameras.0.fsp=3", `did you mean "fps"`}},
		{[]string{"cameras.0.synthetic.seed=x"}, []string{"--set cameras.0.synthetic.seed=x", "not an integer"}},
		{[]string{"microphones.0.source=portaudio", "microphones.0.sample_format=s8"}, []string{"--set microphones.0.sample_format=s8"}},
	} {
		_, err := Parse("", nil, tc.sets)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %v does not contain %q", tc.sets, err, w)
			}
		}
	}
}

// TestUnknownKind lists the known kinds.
func TestUnknownKind(t *testing.T) {
	_, err := Parse("k.yaml", []byte("cameras:\n  - name: c\n    source: webcam\n"), nil)
	want := `k.yaml:3: cameras.0.source: "webcam" is not a known camera source (known: device, file, gstreamer, synthetic, url)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	_, err = Parse("k.yaml", []byte("microphones:\n  - name: m\n    source: alsa\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "(known: media, portaudio, synthetic, wav)") {
		t.Fatalf("got %v", err)
	}
	if _, err := OpenCamera(configs.Camera{Name: "c", Source: "webcam"}, Env{}); err == nil || !strings.Contains(err.Error(), "known: device") {
		t.Fatalf("open: %v", err)
	}
}

// TestSpecs: the registry holds each kind once, sorted; every key has a
// doc and a type, and every default is valid.
func TestSpecs(t *testing.T) {
	var names []string
	for _, s := range Specs() {
		names = append(names, string(s.Modality)+"/"+s.Kind)
		if s.Doc == "" || s.Open == nil {
			t.Errorf("%s/%s: no doc or no open", s.Modality, s.Kind)
		}
		seen := map[string]bool{}
		for _, k := range append(s.Keys, allFields(s.Keys)...) {
			if k.Doc == "" || k.Type == "" || seen[k.Name] && !strings.Contains(k.Name, "[]") {
				t.Errorf("%s/%s: key %q: no doc or type, or twice", s.Modality, s.Kind, k.Name)
			}
			seen[k.Name] = true
			if k.Required == (k.Default != "") {
				t.Errorf("%s/%s: key %q: want a default or required, not both", s.Modality, s.Kind, k.Name)
			}
		}
		if _, _, problems := Decode(s, nil, nil); len(problems) != countRequired(s.Keys) {
			t.Errorf("%s/%s: defaults: %v", s.Modality, s.Kind, problems)
		}
	}
	want := "camera/device camera/file camera/gstreamer camera/synthetic camera/url microphone/media microphone/portaudio microphone/synthetic microphone/wav"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("specs %s\nwant %s", got, want)
	}
}

func allFields(keys []Key) []Key {
	var out []Key
	for _, k := range keys {
		out = append(out, k.Fields...)
	}
	return out
}

func countRequired(keys []Key) int {
	n := 0
	for _, k := range keys {
		if k.Required {
			n++
		}
	}
	return n
}

// TestShippedConfigs: every config of the repository (configs/, the eval
// scenes) loads with its sources checked.
func TestShippedConfigs(t *testing.T) {
	var paths []string
	for _, glob := range []string{"../../configs/*.yaml", "../../testdata/eval/*/*.yaml"} {
		m, _ := filepath.Glob(glob)
		paths = append(paths, m...)
	}
	if len(paths) < 10 {
		t.Fatalf("only %d configs found", len(paths))
	}
	for _, p := range paths {
		if _, err := Load(p, nil); err != nil {
			t.Errorf("%v", err)
		}
	}
	// The built-in defaults are the demo's synthetic sources.
	cfg, err := Parse("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := cfg.Microphones[0].Params.Lookup("synthetic.events"); n == nil || len(n.Content) != 3 {
		t.Fatalf("default events %v", n)
	}
}

// TestOpen opens the synthetic kinds (the sources themselves) and a
// missing WAV file (a stand-in whose Run fails for good).
func TestOpen(t *testing.T) {
	cfg, err := Parse("", nil, []string{"cameras.0.synthetic.seed=9", "microphones.0.synthetic.period=0s"})
	if err != nil {
		t.Fatal(err)
	}
	clock := av.NewVirtualClock(0)
	env := Env{Clock: clock, Drops: av.NewDrops()}
	v, err := OpenCamera(cfg.Cameras[0], env)
	if err != nil {
		t.Fatal(err)
	}
	if c := v.(*synthetic.Video).Config(); c.Seed != 9 || c.VisibleFor != 4*time.Second || c.NoiseAmplitude != 12 || c.Width != 320 {
		t.Fatalf("video config %+v", c)
	}
	// Env.Memory: frames captured into a backend's host memory.
	mem := &avtest.HostMemory{}
	hv, err := OpenCamera(cfg.Cameras[0], Env{Clock: clock, Drops: av.NewDrops(), Memory: mem})
	if err != nil {
		t.Fatal(err)
	}
	if c := hv.(*synthetic.Video).Config(); c.Memory != mem {
		t.Fatalf("the synthetic camera's memory %v", c.Memory)
	}
	a, err := OpenMicrophone(cfg.Microphones[0], env)
	if err != nil {
		t.Fatal(err)
	}
	if c := a.(*synthetic.Audio).Config(); c.Seed != 2 || c.Period != 0 || len(c.Events) != 3 || c.Events[0].Kind != "speech" || c.ChunkFrames != 960 {
		t.Fatalf("audio config %+v", c)
	}
	cfg, err = Parse("", nil, []string{"microphones.0.source=wav", "microphones.0.file=" + filepath.Join(t.TempDir(), "none.wav")})
	if err != nil {
		t.Fatal(err)
	}
	w, err := OpenMicrophone(cfg.Microphones[0], env)
	if err != nil {
		t.Fatal(err)
	}
	q := av.NewQueue[av.Sample]("t", 4, av.Block, nil)
	if err := w.Run(t.Context(), q, 0); err == nil || !strings.Contains(err.Error(), "none.wav") {
		t.Fatalf("stand-in: %v", err)
	}
	if d := DropReasons(Microphone, "portaudio"); len(d) != 2 {
		t.Fatalf("portaudio drops %v", d)
	}
}

// TestReference: docs/CONFIG.md holds the reference the specs write.
func TestReference(t *testing.T) {
	const path = "../../docs/CONFIG.md"
	var b bytes.Buffer
	if err := Reference(&b); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(path)
	if err != nil && !(*update && errors.Is(err, fs.ErrNotExist)) {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), ReferenceBegin)
	_, after, ok2 := strings.Cut(rest, ReferenceEnd)
	if !ok1 || !ok2 {
		if !*update {
			t.Fatalf("%s lacks the markers %q and %q", path, ReferenceBegin, ReferenceEnd)
		}
		before, after = string(doc), "\n"
	}
	want := before + ReferenceBegin + "\n\n" + b.String() + ReferenceEnd + after
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(doc) != want {
		t.Fatalf("%s is stale: run go test ./ingest/source -run TestReference -update", path)
	}
}

// FuzzDecode: any YAML for a kind's keys decodes to values with every
// key, or to problems naming keys; never a panic.
func FuzzDecode(f *testing.F) {
	f.Add(0, "synthetic: {seed: 3, visible_for: 1s}\n")
	f.Add(5, "synthetic:\n  events: [{kind: tone, at: 1s, duration: 2s, freq_hz: 440}]\n")
	f.Add(1, "file: a.avi\npace: no\n")
	f.Add(2, "pipeline: x ! appsink\nlatency: 5ms\n")
	f.Add(6, "device: 3\nsample_format: float32\nlatency: &a 1s\nx: *a\n")
	specs := Specs()
	f.Fuzz(func(t *testing.T, which int, text string) {
		s := specs[uint(which)%uint(len(specs))]
		var p configs.Params
		if err := yamlUnmarshal([]byte(text), &p); err != nil {
			return
		}
		v, done, problems := Decode(s, p, commonKeys(s.Modality))
		if len(problems) > 0 {
			for _, pr := range problems {
				if pr.Key == "" || pr.Msg == "" {
					t.Fatalf("problem without key or message: %+v", pr)
				}
			}
			return
		}
		for _, k := range s.Keys {
			if _, ok := v[k.Name]; !ok {
				t.Fatalf("key %s missing from the values", k.Name)
			}
		}
		// What was completed decodes again to the same values.
		v2, _, problems := Decode(s, done, nil)
		if len(problems) > 0 || len(v2) != len(v) {
			t.Fatalf("completed params do not decode again: %v", problems)
		}
	})
}

func yamlUnmarshal(b []byte, p *configs.Params) error { return yaml.Unmarshal(b, p) }

// FuzzParse: a config whose sources check passes again once completed
// and written out (as a recording's config is replayed); an error is
// always a config error.
func FuzzParse(f *testing.F) {
	f.Add([]byte("cameras:\n  - name: c\n    source: file\n    file: a\n"), "cameras.0.pace=false")
	f.Add([]byte("microphones:\n  - name: m\n    source: synthetic\n    synthetic: {events: []}\n"), "microphones.0.synthetic.seed=3")
	f.Add([]byte("cameras: []\n"), "microphones.0.source=wav")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		var sets []string
		if set != "" {
			sets = []string{set}
		}
		cfg, err := Parse("fuzz.yaml", data, sets)
		if err != nil {
			if !errors.Is(err, configs.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse("again.yaml", out, nil)
		if err != nil {
			t.Fatalf("the completed config does not load again: %v\n%s", err, out)
		}
		out2, _ := yaml.Marshal(again)
		if !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
	})
}

// TestWarnings: a file that is not there is a warning naming the entry;
// one that is, none.
func TestWarnings(t *testing.T) {
	here := filepath.Join(t.TempDir(), "here.wav")
	if err := os.WriteFile(here, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("", nil, []string{"cameras.0.source=file", "cameras.0.file=/nonexistent/a.avi", "microphones.0.source=wav", "microphones.0.file=" + here})
	if err != nil {
		t.Fatal(err)
	}
	w := Warnings(cfg)
	if len(w) != 1 || !strings.HasPrefix(w[0], "cameras.0 (cam0): ") || !strings.Contains(w[0], "/nonexistent/a.avi") {
		t.Fatalf("warnings %q", w)
	}
}

// TestSameDevice: two cameras (or microphones) reading one device are an
// error naming the second's key; different devices, or two synthetic
// sources, are not.
func TestSameDevice(t *testing.T) {
	cfg, err := Parse("robot.yaml", []byte("cameras:\n  - name: a\n    source: file\n    file: x.avi\nmicrophones:\n  - name: m\n    source: portaudio\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cam, mic := cfg.Cameras[0], cfg.Microphones[0]
	cam2, mic2 := cam, mic
	cam2.Name, mic2.Name = "b", "n"
	cfg.Cameras = append(cfg.Cameras, cam2)
	cfg.Microphones = append(cfg.Microphones, mic2)
	err = Check(cfg)
	for _, want := range []string{`cameras.1.file: "x.avi" is already read by cameras.0`, `microphones.1.device: "default" is already read by microphones.0`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	if err := cfg.Cameras[1].Params.Set("file", "y.avi"); err != nil {
		t.Fatal(err)
	}
	cfg.Microphones = cfg.Microphones[:1]
	if err := Check(cfg); err != nil {
		t.Errorf("different files: %v", err)
	}
	def, err := Parse("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c2 := def.Cameras[0]
	c2.Name = "c2"
	def.Cameras = append(def.Cameras, c2)
	if err := Check(def); err != nil {
		t.Errorf("two synthetic cameras: %v", err)
	}
}
