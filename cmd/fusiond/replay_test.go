package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	daemon "github.com/seed-4c364652/fusiond"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/internal/testenv"
)

func runFusiond(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(args...)
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimRight(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestRecordReplayIsBitExact records a live run, replays it twice, and
// checks: both replays are byte-identical, and they reproduce the live
// decisions (every field but latency_ns); --check passes on them and fails
// readably on a changed golden file; a truncated copy replays up to the cut;
// plot draws the timeline.
func TestRecordReplayIsBitExact(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	rec, live := filepath.Join(dir, "run.mcap"), filepath.Join(dir, "live.jsonl")
	// Chunks close every 100 ms, so a cut at 60% keeps most of them.
	cfg := testenv.Config(t, "record.flush_interval=100ms")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &avtest.LogBuffer{}
	go func() {
		done <- runDaemon(ctx, cfg, av.NewRealClock(), daemonFiles{decisions: live, record: rec}, slog.New(slog.NewTextHandler(logs, nil)))
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if data, _ := os.ReadFile(live); bytes.Count(data, []byte("\n")) >= 15 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decisions from the live run:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("live run: %v\n%s", err, logs)
	}
	if strings.Contains(logs.String(), "recording dropped") {
		t.Fatalf("the recorder dropped messages:\n%s", logs)
	}

	r1, r2 := filepath.Join(dir, "r1.jsonl"), filepath.Join(dir, "r2.jsonl")
	for _, out := range []string{r1, r2} {
		if code, _, stderr := runFusiond(t, "replay", rec, "--decisions", out); code != 0 {
			t.Fatalf("replay exit %d: %s", code, stderr)
		}
	}
	b1, _ := os.ReadFile(r1)
	b2, _ := os.ReadFile(r2)
	if !bytes.Equal(b1, b2) || len(b1) == 0 {
		t.Fatalf("two replays differ (%d and %d bytes)", len(b1), len(b2))
	}
	liveLines, replayLines := readLines(t, live), readLines(t, r1)
	if len(liveLines) != len(replayLines) {
		t.Fatalf("live published %d decisions, replay made %d", len(liveLines), len(replayLines))
	}
	for i := range liveLines {
		if d, err := daemon.DiffDecision(liveLines[i], replayLines[i]); err != nil || d != "" {
			t.Fatalf("decision %d: replay differs from live: %v\n%s", i+1, err, d)
		}
	}

	// --check: passes on the live decisions, fails readably on a change.
	if code, stdout, stderr := runFusiond(t, "replay", rec, "--check", live); code != 0 || !strings.Contains(stdout, "replay matches") {
		t.Fatalf("--check on the live decisions: exit %d\n%s%s", code, stdout, stderr)
	}
	changed := filepath.Join(dir, "changed.jsonl")
	tampered := append([]string{}, liveLines...)
	var third struct{ Kind string }
	json.Unmarshal([]byte(tampered[2]), &third)
	tampered[2] = strings.Replace(tampered[2], `"kind":"`+third.Kind+`"`, `"kind":"tampered"`, 1)
	os.WriteFile(changed, []byte(strings.Join(tampered, "\n")+"\n"), 0o644)
	code, stdout, _ := runFusiond(t, "replay", rec, "--check", changed)
	if code != 1 || !strings.Contains(stdout, "decision 3:") || !strings.Contains(stdout, `kind: golden "tampered", replay "`+third.Kind+`"`) {
		t.Fatalf("--check on a changed golden: exit %d\n%s", code, stdout)
	}

	// A truncated copy replays up to the cut, and says where it stopped.
	data, _ := os.ReadFile(rec)
	cut, r3 := filepath.Join(dir, "cut.mcap"), filepath.Join(dir, "r3.jsonl")
	os.WriteFile(cut, data[:len(data)*6/10], 0o644)
	code, _, stderr := runFusiond(t, "replay", cut, "--decisions", r3)
	if code != 1 || !strings.Contains(stderr, "byte offset") {
		t.Fatalf("truncated replay: exit %d: %s", code, stderr)
	}
	partial := readLines(t, r3)
	if len(partial) < 2 || len(partial) >= len(replayLines) {
		t.Fatalf("truncated replay made %d of %d decisions", len(partial), len(replayLines))
	}
	// The decisions made before the cut are the full replay's; only those
	// of the last second before it may differ: at the cut the synchroniser
	// flushes the bundles it holds without the samples that followed, and
	// the decisions they feed close early.
	timeNS := func(line string) int64 {
		var d struct {
			TimeNS int64 `json:"time_ns"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		return d.TimeNS
	}
	endNS := timeNS(partial[len(partial)-1])
	for i := range partial {
		if partial[i] != replayLines[i] && endNS-timeNS(partial[i]) > int64(time.Second) {
			t.Fatalf("truncated replay's decision %d of %d differs, %v before the cut:\n%s\n%s", i+1, len(partial),
				time.Duration(endNS-timeNS(partial[i])), partial[i], replayLines[i])
		}
	}

	// The timeline picture.
	for _, name := range []string{"timeline.svg", "timeline.png"} {
		out := filepath.Join(dir, name)
		if code, _, stderr := runFusiond(t, "plot", rec, "-o", out); code != 0 {
			t.Fatalf("plot: %s", stderr)
		}
		st, err := os.Stat(out)
		if err != nil || st.Size() < 1000 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "timeline.svg"))
	for _, want := range []string{"cam0 (video)", "mic0 (audio)", "bundles", "activity", "confidence", "<path"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("timeline.svg has no %q", want)
		}
	}
}

func TestRecordCommandAndBadRecordings(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec.mcap")
	code, _, stderr := runFusiond(t, "record", "--out", rec, "--for", "1s",
		"--set", "cameras.0.width=64", "--set", "cameras.0.height=48", "--set", "nats.embedded.listen=")
	if code != 0 {
		t.Fatalf("record: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "d.jsonl")
	if code, _, stderr := runFusiond(t, "replay", rec, "--decisions", out); code != 0 {
		t.Fatalf("replay of a record: exit %d: %s", code, stderr)
	}
	if len(readLines(t, out)) == 0 {
		t.Fatal("no decisions from the recording")
	}
	// A config whose streams differ from the recording's: a clear error.
	code, _, stderr = runFusiond(t, "replay", rec, "--set", "cameras.0.name=front")
	if code != 2 || !strings.Contains(stderr, "cam0 (video)") || !strings.Contains(stderr, "front (video)") {
		t.Fatalf("mismatched streams: exit %d: %s", code, stderr)
	}
	notMCAP := filepath.Join(dir, "x.mcap")
	os.WriteFile(notMCAP, []byte("not a recording at all"), 0o644)
	if code, _, stderr := runFusiond(t, "replay", notMCAP); code != 1 || !strings.Contains(stderr, "not an MCAP file") {
		t.Fatalf("not MCAP: exit %d: %s", code, stderr)
	}
	if code, _, _ := runFusiond(t, "record", "--for", "1s"); code != 2 {
		t.Fatalf("record without --out: exit %d", code)
	}
}
