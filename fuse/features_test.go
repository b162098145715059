package fuse

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// update rewrites golden files and generated docs instead of comparing.
var update = flag.Bool("update", false, "rewrite golden files under testdata/ and docs/FEATURES.md")

const featuresDoc = "../docs/FEATURES.md"

func TestFeatureDocs(t *testing.T) {
	want := FeatureMarkdown()
	if *update {
		if err := os.WriteFile(featuresDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(featuresDoc)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date with fuse.FeatureTable: go test ./fuse -run TestFeatureDocs -update", featuresDoc)
	}
	seen := map[string]bool{}
	for _, f := range FeatureTable {
		if seen[f.Name] || f.Unit == "" || f.Range == "" || f.Window == "" || f.Doc == "" {
			t.Errorf("feature %q: duplicate or undocumented", f.Name)
		}
		seen[f.Name] = true
	}
}

// Every evidence key AudioValues writes is in the table.
func TestAudioEvidenceDocumented(t *testing.T) {
	v := AudioValues{present: 1<<numAudioFeatures - 1}
	ev := map[string]float64{}
	v.Evidence(ev)
	names := map[string]bool{}
	for _, f := range FeatureTable {
		names[f.Name] = true
	}
	for k := range ev {
		if !names[k] {
			t.Errorf("evidence %q is not in FeatureTable", k)
		}
	}
}

// goldenAudio renders the demo microphone's schedule (speech, a tone,
// noise; a 250 µs inter-channel delay) through AudioFeatures and records
// every sixth bundle's evidence, rounded to 4 significant digits.
func TestGoldenAudioFeatures(t *testing.T) {
	a := newTestAudio(t, AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray})
	src := synthAudio(t, synthetic.AudioConfig{RateHz: 48000, Channels: 2, Seed: 2, NoiseDBFS: -60, ChannelDelay: 250 * time.Microsecond,
		Events: []synthetic.AudioEvent{
			{Kind: "speech", At: time.Second, Duration: 2500 * time.Millisecond, FreqHz: 140, LevelDBFS: -14},
			{Kind: "tone", At: 4500 * time.Millisecond, Duration: time.Second, FreqHz: 880, LevelDBFS: -18},
			{Kind: "noise", At: 7 * time.Second, Duration: 400 * time.Millisecond, LevelDBFS: -10},
		}})
	var b strings.Builder
	feed(a, 48000, 2, 8*time.Second, src.Fill, func(k int, v *AudioValues) {
		if k%6 != 0 {
			return
		}
		ev := map[string]float64{}
		v.Evidence(ev)
		for name, x := range ev {
			ev[name] = roundSig(x, 4)
		}
		line, err := json.Marshal(struct {
			Bundle   int                `json:"bundle"`
			TimeMS   int64              `json:"time_ms"`
			Evidence map[string]float64 `json:"evidence"`
		}{k, v.TimeNS / 1e6, ev})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	})
	golden(t, "../testdata/features/audio_demo.jsonl", b.String())
}

func roundSig(x float64, digits int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := range min(len(wl), len(gl)) {
			if wl[i] != gl[i] {
				t.Fatalf("%s differs at line %d:\nwant %s\ngot  %s\n(rerun with -update if the change is intended)", path, i+1, wl[i], gl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d (rerun with -update if intended)", path, len(gl), len(wl))
	}
}
