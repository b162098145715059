package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalSmall scores two held-out clips: it runs, every decision's
// contributions sum to its logit, and fused speaker beats audio alone.
func TestEvalSmall(t *testing.T) {
	code, stdout, stderr := runFusiond(t, "eval", "../../testdata/eval/test/test-00-agree.yaml", "../../testdata/eval/test/test-01-disagree.yaml")
	if code != 0 || !strings.Contains(stdout, "0 violations") || !strings.Contains(stdout, "| speaker | fused |") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestEvalClipWithoutLabels(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../../testdata/eval/test/test-00-agree.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(dir, "c.yaml")
	os.WriteFile(clip, data, 0o644)
	code, _, stderr := runFusiond(t, "eval", clip)
	if code != 1 || !strings.Contains(stderr, "c.yaml: eval clip has no labels: "+filepath.Join(dir, "c.labels")) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	os.WriteFile(filepath.Join(dir, "c.labels"), []byte("duration 12\nspeech 1 3 -\nspeech 2 4 -\n"), 0o644)
	code, _, stderr = runFusiond(t, "eval", clip)
	if code != 1 || !strings.Contains(stderr, "c.labels:3: speech 2–4 s overlaps line 2") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	os.WriteFile(filepath.Join(dir, "m.txt"), []byte("fusiond-fusion-head v2\nfeatures a_speech:audio\n"), 0o644)
	code, _, stderr = runFusiond(t, "eval", "--model", filepath.Join(dir, "m.txt"), clip)
	if code != 1 || !strings.Contains(stderr, "m.txt:2: model has 1 features") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
