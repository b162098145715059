package fuse

import (
	"flag"
	"os"
	"testing"
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
