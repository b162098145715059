package configs

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValid(t *testing.T) {
	cfg, err := Parse("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Robot != "demo" || len(cfg.Cameras) != 1 || len(cfg.Microphones) != 1 {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
	if cfg.Microphones[0].Chunk != 20*time.Millisecond || cfg.NATS.Embedded.Listen != "127.0.0.1:4222" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
}

func TestShippedConfigsLoad(t *testing.T) {
	err := fs.WalkDir(Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(Files, path)
		if err != nil {
			return err
		}
		if _, err := Parse(path, data, nil); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFileOverridesAndListEntries(t *testing.T) {
	yml := `robot: r2
cameras:
  - name: front
    fps: 15
  - name: back
    width: 640
    height: 480
    fps: 10
microphones: []
`
	_, err := Parse("two.yaml", []byte(yml), nil)
	if err == nil || !strings.Contains(err.Error(), "sync.policy") {
		t.Fatalf("two cameras under the window policy: want a sync.policy error, got %v", err)
	}
	if _, err := Parse("two.yaml", []byte(yml+"sync:\n  policy: approximate\n"), nil); err != nil {
		t.Fatalf("two cameras under the approximate policy: %v", err)
	}
	_, err = Parse("two.yaml", []byte(yml+"sync:\n  policy: approximate\n"), []string{"fuse.offload=true"})
	if err == nil || !strings.Contains(err.Error(), "fuse.offload: takes one camera") {
		t.Fatalf("two cameras offloaded: want a fuse.offload error, got %v", err)
	}
	yml = `robot: r2
cameras:
  - name: front
    fps: 15
`
	cfg, err := Parse("one.yaml", []byte(yml), nil)
	if err != nil {
		t.Fatal(err)
	}
	cam := cfg.Cameras[0]
	// Unset keys of a list entry come from the default entry; its kind's
	// keys are ingest/source's.
	if cam.Name != "front" || cam.FPS != 15 || cam.Width != 320 || cam.Source != "synthetic" || len(cam.Params) != 0 {
		t.Fatalf("entry not merged over the default entry: %+v", cam)
	}
	if len(cfg.Microphones) != 1 {
		t.Fatalf("microphones should keep the default list")
	}
}

func TestSet(t *testing.T) {
	cfg, err := Parse("", nil, []string{
		"robot=r7",
		"nats.embedded.listen=127.0.0.1:5000",
		"cameras.0.fps=12.5",
		"microphones.0.synthetic.events=[]",
		"sync.max_wait=50ms",
		"nats.embedded.store_dir=",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Robot != "r7" || cfg.NATS.Embedded.Listen != "127.0.0.1:5000" || cfg.Cameras[0].FPS != 12.5 ||
		cfg.Microphones[0].Params.String("synthetic.events") != "" || cfg.Sync.MaxWait != 50*time.Millisecond {
		t.Fatalf("sets not applied: %+v", cfg)
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		sets []string
		want []string // substrings of the error
	}{
		{"unknown top key", "robot: x\nrobott: y\n", nil, []string{"bad.yaml:2:", "robott", `did you mean "robot"`}},
		{"unknown nested key", "nats:\n  embedded:\n    listne: x\n", nil, []string{"bad.yaml:3:", "nats.embedded.listne", `"listen"`}},
		{"wrong type", "pipeline:\n  queue_capacity: lots\n", nil, []string{"bad.yaml:2:", "pipeline.queue_capacity", "cannot unmarshal"}},
		{"bad duration", "sync:\n  max_wait: soon\n", nil, []string{"bad.yaml:2:", "sync.max_wait"}},
		{"list where map", "nats: [1, 2]\n", nil, []string{"bad.yaml:1:", "nats", "want a mapping"}},
		{"syntax", "robot: [\n", nil, []string{"bad.yaml:"}},
		{"top not a map", "- a\n- b\n", nil, []string{"bad.yaml:1:", "top level"}},
		{"invalid value", "robot: x\nfuse:\n  decision_interval: 0s\n", nil, []string{"bad.yaml:3:", "fuse.decision_interval"}},
		{"invalid robot", "robot: 'a.b'\n", nil, []string{"bad.yaml:1:", "robot"}},
		{"invalid value in entry", "microphones:\n  - name: m\n    channels: 12\n", nil, []string{"bad.yaml:3:", "microphones.0.channels", "1..8"}},
		{"duplicate stream", "cameras:\n  - name: x\nmicrophones:\n  - name: x\n", nil, []string{"bad.yaml:4:", "already used"}},
		{"duplicate key", "robot: a\nrobot: b\n", nil, []string{"bad.yaml:", "already defined"}},
		{"set unknown", "", []string{"nats.urll=x"}, []string{"--set nats.urll=x", `did you mean "url"`}},
		{"set no equals", "", []string{"robot"}, []string{"--set robot", "path.to.key=value"}},
		{"set bad type", "", []string{"cameras.0.fps=fast"}, []string{"--set cameras.0.fps=fast", "cannot unmarshal"}},
		{"set bad index", "", []string{"cameras.3.fps=1"}, []string{"--set cameras.3.fps=1", "1 entries"}},
		{"set invalid value", "", []string{"nats.embedded.listen=nowhere"}, []string{"--set nats.embedded.listen=nowhere", "host:port"}},
		{"set into scalar", "", []string{"robot.name=x"}, []string{"--set robot.name=x", "single value"}},
		{"face cascade unknown", "fuse:\n  features:\n    face_cascades:\n      - lbp_frontal\n      - haar_profil\n", nil, []string{"bad.yaml:5:", "fuse.features.face_cascades.1", "haar_profile"}},
		{"face cascades empty", "fuse:\n  features:\n    face_cascades: []\n", nil, []string{"bad.yaml:3:", "fuse.features.face_cascades"}},
		{"face min px", "fuse:\n  features:\n    face_min_px: 12\n", nil, []string{"bad.yaml:3:", "fuse.features.face_min_px", "24..1000"}},
		{"default line for invalid default-derived value", "", []string{"sync.audio_window=0s"}, []string{"--set sync.audio_window=0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml), tt.sets)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Count(err.Error(), "\n") > 2 {
				t.Errorf("error is more than a few lines: %q", err)
			}
		})
	}
}

// TestParams: the keys of an entry's source kind are carried, located, for
// ingest/source to check; --set makes them, and a new source drops the
// old kind's.
func TestParams(t *testing.T) {
	yml := "cameras:\n  - name: c\n    source: file\n    fsp: 3\n    synthetic:\n      seed: 4\n"
	cfg, err := Parse("p.yaml", []byte(yml), []string{"cameras.0.synthetic.speed=2", "microphones.0.file=a.wav"})
	if err != nil {
		t.Fatal(err)
	}
	cam := cfg.Cameras[0]
	if cam.Params.String("fsp") != "3" || cam.Params.String("synthetic.seed") != "4" || cam.Params.String("synthetic.speed") != "2" {
		t.Fatalf("params %v", cam.Params)
	}
	for path, want := range map[string]string{
		"cameras.0.fsp": "p.yaml:4", "cameras.0.synthetic.seed": "p.yaml:6", "cameras.0.synthetic.speed": "--set cameras.0.synthetic.speed=2",
		"cameras.0.nothing": "p.yaml:2", "microphones.0.file": "--set microphones.0.file=a.wav",
	} {
		if got := cfg.Where(path); got != want {
			t.Errorf("Where(%s) = %q, want %q", path, got, want)
		}
	}
	cfg, err = Parse("p.yaml", []byte(yml), []string{"cameras.0.source=device", "cameras.0.device=0"})
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Cameras[0].Params; len(p) != 1 || p.String("device") != "0" {
		t.Fatalf("a new source kept the old kind's keys: %v", p)
	}
	var p Params
	if err := p.Set("a.b.c", 5*time.Second); err != nil || p.String("a.b.c") != "5s" || !p.Update("a.b.c", 1) || p.String("a.b.c") != "1" || p.Update("x", 1) {
		t.Fatalf("set/update: %v %v", err, p)
	}
	c := p.Clone()
	c.Update("a.b.c", 2)
	if p.String("a.b.c") != "1" || c.String("a.b.c") != "2" {
		t.Fatalf("a clone shares its nodes: %v %v", p, c)
	}
	if b, err := json.Marshal(p); err != nil || string(b) != `{"a":{"b":{"c":1}}}` {
		t.Fatalf("json %s %v", b, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Fatalf("want a not-exist error, got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("robot: x\n"), "robot=y")
	f.Add([]byte("cameras:\n  - name: c\n    fps: 3\n"), "cameras.0.width=64")
	f.Add([]byte("nats: {url: nats://x}\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		var sets []string
		if set != "" {
			sets = []string{set}
		}
		cfg, err := Parse("fuzz.yaml", data, sets)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if errs := cfg.validate(); len(errs) > 0 {
			t.Fatalf("accepted an invalid config: %v", errs)
		}
	})
}
