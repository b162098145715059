package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
)

// runCLI runs the command line; its output goes to buffers safe for the
// command's goroutines (a replay's progress and its logs write at once).
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut avtest.LogBuffer
	code = fusiond(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

var summary = regexp.MustCompile(`^fusiond=\S+ policy=(\w+) messages=(\d+) sets=(\d+) seconds=[0-9.]+ rate=\d+`)

func TestBenchTraceAndSync(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "basic.trace")
	if code, _, errOut := runCLI("bench", "trace", "--scenario", "rates3", "--messages", "3000", "--seed", "4", "--out", trace); code != 0 {
		t.Fatalf("bench trace: %d %s", code, errOut)
	}
	for _, tc := range []struct {
		policy string
		extra  []string
	}{
		{"approximate", nil},
		{"approximate", []string{"--queue", "3", "--age-penalty", "0.5", "--max-interval", "15ms"}},
		{"approximate", []string{"--max-wait", "200ms"}},
		{"exact", nil},
		{"window", []string{"--before", "50ms", "--after", "10ms"}},
	} {
		t.Run(tc.policy+strings.Join(tc.extra, ""), func(t *testing.T) {
			sets := filepath.Join(dir, "out.sets")
			args := append([]string{"bench", "sync", "--trace", trace, "--policy", tc.policy, "--sets", sets}, tc.extra...)
			code, out, errOut := runCLI(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			m := summary.FindStringSubmatch(out)
			if m == nil || m[1] != tc.policy || m[2] != "3000" {
				t.Fatalf("summary %q", out)
			}
			data, err := os.ReadFile(sets)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := strconv.Atoi(m[3]); n != bytes.Count(data, []byte("\n")) {
				t.Fatalf("summary says %s sets, file has %d lines", m[3], bytes.Count(data, []byte("\n")))
			}
		})
	}
}

func TestBenchSyncErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.trace")
	os.WriteFile(bad, []byte("# fusiond-trace v1\n0 10\n1 x\n"), 0o644)
	one := filepath.Join(dir, "one.trace")
	os.WriteFile(one, []byte("0 10\n0 20\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "sync"}, "--trace is required"},
		{[]string{"bench", "sync", "--trace", filepath.Join(dir, "none")}, "no such file"},
		{[]string{"bench", "sync", "--trace", bad}, "line 3"},
		{[]string{"bench", "sync", "--trace", one}, "1 streams"},
		{[]string{"bench", "sync", "--trace", one, "--policy", "magic"}, "unknown policy"},
		{[]string{"bench", "trace", "--scenario", "nope"}, "unknown scenario"},
		{[]string{"bench", "frobnicate"}, "unknown subcommand"},
	} {
		code, _, errOut := runCLI(tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
	if code, out, _ := runCLI("bench", "--help"); code != 0 || !strings.Contains(out, "sync") {
		t.Errorf("bench --help: %d %q", code, out)
	}
	if code, out, _ := runCLI("bench", "trace", "--list"); code != 0 || !strings.Contains(out, "stop-resume") {
		t.Errorf("bench trace --list: %d %q", code, out)
	}
}

func TestBenchDrift(t *testing.T) {
	code, out, errOut := runCLI("bench", "drift", "--hours", "0.02")
	if code != 0 || !strings.Contains(out, "p99_ms=") || !strings.Contains(out, "resets=0") {
		t.Fatalf("exit %d: %q %q", code, out, errOut)
	}
}

// TestSyncConfig checks the sync section's validation: clear errors for an
// impossible window or an unknown policy.
func TestSyncConfig(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want string // "" for valid
	}{
		{nil, ""},
		{[]string{"sync.audio_after=50ms", "sync.audio_window=0s"}, ""},
		{[]string{"sync.estimate_drift=true", "sync.audio_offset=-8ms", "sync.video_offset=3ms"}, ""},
		{[]string{"sync.policy=approximate"}, ""},
		{[]string{"sync.policy=exact"}, ""},
		{[]string{"sync.policy=fastest"}, "is not window"},
		{[]string{"sync.audio_window=0s"}, "is empty"},
		{[]string{"sync.audio_after=300ms"}, "shorter than sync.audio_after"},
		{[]string{"sync.audio_offset=11s"}, "sync.audio_offset"},
		{[]string{"sync.audio_after=-1ms"}, "sync.audio_after"},
	} {
		_, err := configs.Parse("", nil, tc.sets)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.sets, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: err %v, want %q", tc.sets, err, tc.want)
		}
	}
}

// TestBenchVADErrors: a bad list is a usage error (2), a clip that cannot
// be read a runtime one (1).
func TestBenchVADErrors(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "list.tsv")
	os.WriteFile(list, []byte("a.wav\n"), 0o644)
	if code, _, errOut := runCLI("bench", "vad", "--list", list); code != exitUsage || !strings.Contains(errOut, "list.tsv:1: want WAV<TAB>LABELS") {
		t.Errorf("bad list: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI("bench", "vad", "--list", filepath.Join(dir, "none.tsv")); code != exitUsage || !strings.Contains(errOut, "no such file") {
		t.Errorf("no list: exit %d: %s", code, errOut)
	}
	os.WriteFile(list, []byte(filepath.Join(dir, "a.wav")+"\t"+filepath.Join(dir, "a.txt")+"\n"), 0o644)
	if code, _, errOut := runCLI("bench", "vad", "--list", list); code != exitRuntime || !strings.Contains(errOut, "a.wav: no such file") {
		t.Errorf("no clip: exit %d: %s", code, errOut)
	}
}
