package main

import (
	"bytes"
	"encoding/xml"
	"image"
	_ "image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/internal/plot"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// checkPicture fails unless path decodes as the format its extension names.
func checkPicture(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch filepath.Ext(path) {
	case ".png":
		if _, kind, err := image.Decode(bytes.NewReader(data)); err != nil || kind != "png" {
			t.Fatalf("%s: %v", path, err)
		}
	case ".svg":
		d := xml.NewDecoder(bytes.NewReader(data))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		if !bytes.Contains(data, []byte("<svg")) {
			t.Fatalf("%s: no <svg>", path)
		}
	case ".pdf":
		if !bytes.HasPrefix(data, []byte("%PDF-")) {
			t.Fatalf("%s: no %%PDF header", path)
		}
	}
	return data
}

// TestPlotCLI plots a short recording in each format; a bad output name
// is a usage error.
func TestPlotCLI(t *testing.T) {
	rec := shortRecording(t)
	dir := t.TempDir()
	for _, name := range []string{"timeline.svg", "timeline.png", "timeline.pdf"} {
		out := filepath.Join(dir, name)
		code, stdout, stderr := runFusiond(t, "plot", rec, "-o", out)
		if code != exitOK || !strings.Contains(stdout, "wrote "+out) {
			t.Fatalf("plot -o %s: exit %d\n%s%s", name, code, stdout, stderr)
		}
		data := checkPicture(t, out)
		if name == "timeline.svg" {
			for _, want := range []string{"cam0 (video)", "mic0 (audio)", "bundles", "confidence", "time from the first event (s)"} {
				if !bytes.Contains(data, []byte(want)) {
					t.Errorf("timeline.svg has no %q", want)
				}
			}
		}
	}
	for _, args := range [][]string{{"plot", rec, "-o", filepath.Join(dir, "t.gif")}, {"plot", rec}, {"plot", "-o", filepath.Join(dir, "t.svg")}} {
		if code, _, stderr := runFusiond(t, args...); code != exitUsage || !strings.Contains(stderr, "want one recording") {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
}

// TestPlotExtremeTimestamps: what the replay feeds the timeline, with
// times at the int64 extremes, all equal, NaN confidences, or nothing at
// all, draws promptly or fails with a clear error.
func TestPlotExtremeTimestamps(t *testing.T) {
	cfg, err := configs.Parse("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cam := av.StreamID(cfg.Cameras[0].Name)
	feed := func(times []int64, conf float64) *plot.TimelineBuilder {
		tl := plot.NewTimelineBuilder([]string{cfg.Cameras[0].Name}, nil)
		for i, ts := range times {
			tl.Sample(&av.Frame{Meta: av.Meta{Stream: cam, Seq: uint64(2 * i), CaptureNS: ts}}) // every one a jump
			tl.Bundle(&av.Bundle{TimeNS: ts, Missing: []av.Modality{av.Audio}})
			tl.WriteDecision(&av.Decision{Decision: decision.Decision{Kind: "activity", TimeNS: ts, Confidence: conf, State: decision.StateActive}}, nil)
			tl.Message(recording.Message{Topic: recording.TopicStatus, LogNS: ts, Data: []byte(`{"drops":[{"count":3}]}`)})
		}
		return tl
	}
	for _, c := range []struct {
		name    string
		tl      *plot.TimelineBuilder
		wantErr string
	}{
		{"int64 extremes", feed([]int64{math.MinInt64, math.MinInt64 + 1, -1, 1, math.MaxInt64}, 0.5), ""},
		{"all equal", feed([]int64{42, 42, 42}, 1), ""},
		{"NaN confidences", feed([]int64{0, 1e9, 2e9}, math.NaN()), ""},
		{"empty", feed(nil, 0), "nothing to plot"},
	} {
		if got := c.tl.Streams[0].JumpsNS; len(got) != max(len(c.tl.Streams[0].CapturesNS)-1, 0) {
			t.Errorf("%s: %d jumps", c.name, len(got))
		}
		for _, ext := range []string{".svg", ".png", ".pdf"} {
			out := filepath.Join(t.TempDir(), "t"+ext)
			done := make(chan error, 1)
			go func() { done <- plot.WriteFile(out, &c.tl.Timeline) }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second): // a hang guard, not a speed test
				t.Fatalf("%s%s: drawing does not end", c.name, ext)
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("%s%s: err %v, want %q", c.name, ext, err, c.wantErr)
				}
				if _, serr := os.Stat(out); serr == nil {
					t.Errorf("%s%s: a file was left behind", c.name, ext)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s%s: %v", c.name, ext, err)
			}
			checkPicture(t, out)
		}
	}
}
