package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// shortRecording records the demo sources for a second and returns the
// file.
func shortRecording(t *testing.T) string {
	t.Helper()
	rec := filepath.Join(t.TempDir(), "rec.mcap")
	code, _, stderr := runFusiond(t, "record", "--out", rec, "--for", "1s",
		"--set", "cameras.0.width=64", "--set", "cameras.0.height=48", "--set", "nats.embedded.listen=")
	if code != 0 {
		t.Fatalf("record: exit %d: %s", code, stderr)
	}
	return rec
}

// runWithin runs the command line in-process and fails if it has not
// returned within d (the goroutine is then left behind: the test failed).
func runWithin(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code := fusiond(args, &stdout, &stderr)
		done <- result{code, stdout.String(), stderr.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(d):
		t.Fatalf("fusiond %s did not return within %v", strings.Join(args, " "), d)
		return 0, "", ""
	}
}

// TestReplayBadRanges: --from past the end is an error (exit 1), also with
// --loop, which must not spin over an empty pass; a file cut 1 to 8 bytes
// short replays what it holds, names the offset and exits 1.
func TestReplayBadRanges(t *testing.T) {
	rec := shortRecording(t)
	for _, args := range [][]string{
		{"replay", rec, "--from", "1h"},
		{"replay", rec, "--from", "1h", "--loop"},
	} {
		code, _, stderr := runWithin(t, 20*time.Second, args...)
		if code != exitRuntime || !strings.Contains(stderr, "past the end") {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}

	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(t.TempDir(), "whole.jsonl")
	if code, _, stderr := runFusiond(t, "replay", rec, "--decisions", whole); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	want := readLines(t, whole)
	for _, short := range []int{1, 4, 8} {
		cut := filepath.Join(t.TempDir(), "cut.mcap")
		os.WriteFile(cut, data[:len(data)-short], 0o644)
		out := filepath.Join(t.TempDir(), "cut.jsonl")
		code, _, stderr := runFusiond(t, "replay", cut, "--decisions", out)
		if code != exitRuntime || !strings.Contains(stderr, fmt.Sprintf("byte offset %d", len(data)-8)) {
			t.Fatalf("cut %d bytes short: exit %d: %s", short, code, stderr)
		}
		if got := readLines(t, out); len(got) != len(want) {
			t.Fatalf("cut %d bytes short: %d of %d decisions", short, len(got), len(want))
		}
	}
}

// TestPlotExtremeTimestamps: a timeline whose times span the whole int64
// range, decisions far outside the samples' span, draws in bounded time.
func TestPlotExtremeTimestamps(t *testing.T) {
	cfg, err := configs.Parse("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tl := newTimeline(cfg)
	for i, ts := range []int64{math.MinInt64 + 1, -1, 1, math.MaxInt64} {
		tl.sample(&av.Frame{Meta: av.Meta{Stream: tl.streams[0].name, Seq: uint64(i), CaptureNS: ts}})
	}
	tl.WriteDecision(&av.Decision{Decision: decision.Decision{Kind: "activity", TimeNS: math.MaxInt64, Confidence: 0.5}}, nil)
	tl.WriteDecision(&av.Decision{Decision: decision.Decision{Kind: "activity", TimeNS: math.MinInt64, Confidence: 1}}, nil)
	tl.WriteDecision(&av.Decision{Decision: decision.Decision{Kind: "activity", TimeNS: 0, Confidence: 0}}, nil)
	tl.drops = []point{{math.MinInt64, 0}, {math.MaxInt64, 5}}

	// Also a narrow span (1 ns) with points a second away: x is then 1e9
	// times the width.
	narrow := newTimeline(cfg)
	narrow.sample(&av.Frame{Meta: av.Meta{Stream: narrow.streams[0].name, Seq: 0, CaptureNS: 1e9}})
	narrow.sample(&av.Frame{Meta: av.Meta{Stream: narrow.streams[0].name, Seq: 1, CaptureNS: 1e9 + 1}})
	narrow.WriteDecision(&av.Decision{Decision: decision.Decision{Kind: "activity", TimeNS: 0, Confidence: 0}}, nil)
	narrow.WriteDecision(&av.Decision{Decision: decision.Decision{Kind: "activity", TimeNS: 1e9, Confidence: 1}}, nil)
	narrow.WriteDecision(&av.Decision{Decision: decision.Decision{Kind: "activity", TimeNS: 3e18, Confidence: 1}}, nil)

	for _, tl := range []*timeline{tl, narrow} {
		done := make(chan error, 2)
		go func() {
			var png, svg bytes.Buffer
			done <- tl.drawPNG(&png)
			done <- tl.drawSVG(&svg)
		}()
		for range 2 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("drawing a timeline with extreme timestamps does not end")
			}
		}
	}
}

func TestClipSegment(t *testing.T) {
	for _, c := range []struct {
		in   [4]float64
		want [4]float64
		ok   bool
	}{
		{[4]float64{1, 1, 5, 5}, [4]float64{1, 1, 5, 5}, true},
		{[4]float64{-10, 5, 20, 5}, [4]float64{0, 5, 10, 5}, true},
		{[4]float64{5, -10, 5, 30}, [4]float64{5, 0, 5, 10}, true},
		{[4]float64{-5, -5, -1, 20}, [4]float64{}, false},
		{[4]float64{math.NaN(), 1, 2, 2}, [4]float64{}, false},
		{[4]float64{math.Inf(1), 1, 2, 2}, [4]float64{}, false},
	} {
		x0, y0, x1, y1, ok := clipSegment(c.in[0], c.in[1], c.in[2], c.in[3], 0, 0, 10, 10)
		if ok != c.ok || (ok && [4]float64{x0, y0, x1, y1} != c.want) {
			t.Errorf("clip %v: %v %v %v %v %v, want %v %v", c.in, x0, y0, x1, y1, ok, c.want, c.ok)
		}
	}
}
