package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLintWarnsDeprecatedKeys: the old global camera and microphone keys
// still lint (exit 0) with one warning naming both and their lines.
func TestLintWarnsDeprecatedKeys(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "old.yaml")
	os.WriteFile(cfg, []byte("fuse:\n  features:\n    camera_hfov_deg: 70\n    mic_positions: [{x: -0.05, y: 0}, {x: 0.05, y: 0}]\n"), 0o644)
	var out, errb bytes.Buffer
	if code := fusiond([]string{"lint", cfg}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(errb.String(), "warning: deprecated keys"); n != 1 {
		t.Fatalf("%d deprecation warnings, want 1:\n%s", n, errb.String())
	}
	for _, want := range []string{"fuse.features.camera_hfov_deg (" + cfg + ":3)", "fuse.features.mic_positions (" + cfg + ":4)"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("warning lacks %q:\n%s", want, errb.String())
		}
	}
	out.Reset()
	errb.Reset()
	if code := fusiond([]string{"lint", "../../configs/default.yaml"}, &out, &errb); code != exitOK || strings.Contains(errb.String(), "deprecated") {
		t.Fatalf("defaults: exit %d: %s", code, errb.String())
	}
}
