package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/internal/bench"
	"go.uber.org/goleak"
)

// TestBenchE2E runs a short bench e2e of one and two cameras in one
// daemon and checks the tables, the limits beside them, the JSON and the
// plots (no timing: the figures are whatever this machine gives).
func TestBenchE2E(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := cmdBench([]string{"e2e", "--for", "1s", "--media", "1s", "--cameras", "1,2",
		"--json", filepath.Join(dir, "e2e.json"), "--svg", dir}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	text := out.String()
	for _, want := range []string{"| paced | 1 |", "| max | 1 |", "| paced | 2 |", "| max | 2 |", "| tick |", "| processing |", "| fuse→publish |",
		"tick p99 ms", "CPU per camera", "targets", "load (1 min)", "synthetic renderer alone (2 × 640×480 BGR + 4 ch 48000 Hz)", "NATS core publish", "× real time", "peak RSS MB", "allocs/tick"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	var rep bench.E2EReport
	data, err := os.ReadFile(filepath.Join(dir, "e2e.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 4 || rep.Limits.NATSPerS <= 0 {
		t.Fatalf("report %+v", rep)
	}
	for i, x := range rep.Runs {
		cams := 1 + i/2
		if x.Cameras != cams || x.Bundles == 0 || x.Decisions == 0 || x.CPUCores <= 0 || x.PeakRSSMB <= 0 || x.XRealTime <= 0 {
			t.Errorf("run %d: %+v", i, x)
		}
		if x.Mode == bench.E2EPaced && (x.Latency["tick"].N == 0 || len(x.TickMS) == 0) {
			t.Errorf("paced run %d: no tick latencies", i)
		}
		// Every tick of the maximum-speed run (lossless): a frame per
		// camera, 30 of them over the second of media.
		if x.Mode == bench.E2EMax && (x.SourceFPS <= 0 || x.Frames < uint64(cams*25) || x.Frames > x.Bundles*uint64(cams)) {
			t.Errorf("max run %d: %d frames in %d ticks, source alone %g frames/s", i, x.Frames, x.Bundles, x.SourceFPS)
		}
	}
	for _, f := range []string{"e2e-latency-cdf.svg", "e2e-scaling.svg"} {
		if svg, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("%s: %v", f, err)
		}
	}
	// --from prints the same tables again without running.
	var again bytes.Buffer
	if code := cmdBench([]string{"e2e", "--from", filepath.Join(dir, "e2e.json")}, &again, &errOut); code != exitOK || again.String() != text {
		t.Errorf("--from: exit %d\n%s", code, again.String())
	}
	// --config with --cameras is a usage error.
	if code := cmdBench([]string{"e2e", "--config", "x.yaml", "--cameras", "2"}, &again, &errOut); code != exitUsage {
		t.Errorf("--config with --cameras: exit %d", code)
	}
}
