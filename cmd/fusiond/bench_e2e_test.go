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

// TestBenchE2E runs a short bench e2e on small frames and checks the table,
// the limits beside it, the JSON and the plots.
func TestBenchE2E(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := cmdBench([]string{"e2e", "--for", "1s", "--media", "2s", "--cameras", "2",
		"--set", "cameras.0.width=64", "--set", "cameras.0.height=48", "--set", "microphones.0.rate_hz=16000",
		"--json", filepath.Join(dir, "e2e.json"), "--svg", dir}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	text := out.String()
	for _, want := range []string{"| paced | 2 |", "| max | 2 |", "| processing |", "| fuse→publish |",
		"synthetic renderer alone", "NATS core publish", "× real time", "peak RSS MB", "allocs/bundle"} {
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
	if len(rep.Runs) != 2 || rep.Runs[1].Bundles < 2*55 || rep.Limits.NATSPerS <= 0 || rep.Limits.SourceFPS <= 0 {
		t.Errorf("report %+v", rep)
	}
	if rep.Runs[1].XRealTime <= 0 || rep.Runs[0].Latency["processing"].N == 0 {
		t.Errorf("runs %+v", rep.Runs)
	}
	if svg, err := os.ReadFile(filepath.Join(dir, "e2e-latency-cdf.svg")); err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("latency plot: %v", err)
	}
	// --from prints the same tables again without running.
	var again bytes.Buffer
	if code := cmdBench([]string{"e2e", "--from", filepath.Join(dir, "e2e.json")}, &again, &errOut); code != exitOK || again.String() != text {
		t.Errorf("--from: exit %d\n%s", code, again.String())
	}
}
