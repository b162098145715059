package fusiond_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
)

// recordScene runs a daemon on src, or the scene when src is nil
// (virtual clock), recording it, and returns the recording and the live
// decisions (without latency).
func recordScene(t *testing.T, cfg *configs.Config, src fusiond.Source) (string, []string) {
	t.Helper()
	const startNS = int64(1_700_000_000e9)
	path := filepath.Join(t.TempDir(), "scene.mcap")
	if src == nil {
		scene, err := newScene(av.NewVirtualClock(startNS))
		if err != nil {
			t.Fatal(err)
		}
		src = scene
	}
	cfg.Record.FlushInterval = 100 * time.Millisecond // small chunks: the writer finishes promptly
	live := &collector{}
	d, err := fusiond.New(cfg, fusiond.WithClock(av.NewVirtualClock(startNS)), fusiond.WithSource("cam0", src),
		fusiond.WithSource("mic0", nil), fusiond.WithSink(live), fusiond.WithRecording(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return path, live.lines
}

// recordedConfig opens path and returns the config recorded in it.
func recordedConfig(t *testing.T, path string, sets ...string) (*configs.Config, error) {
	t.Helper()
	r, err := recording.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return fusiond.RecordedConfig(r, "", sets)
}

// TestReplayMatchesTheLiveRun: a replay of a recording makes the live
// run's decisions, the same twice; the taps see every message, sample
// and bundle, progress ends each pass once; From and To cut it, and a
// From past the end is ErrNothingReplayed, with Loop too.
func TestReplayMatchesTheLiveRun(t *testing.T) {
	path, live := recordScene(t, exampleConfig(t), nil)
	if len(live) < 4 {
		t.Fatalf("the live run made %d decisions", len(live))
	}
	cfg, err := recordedConfig(t, path)
	if err != nil {
		t.Fatal(err)
	}
	type pass struct {
		decisions                  []string
		messages, samples, bundles int
		done                       []fusiond.ReplayProgress
	}
	replay := func(rc fusiond.ReplayConfig) (pass, error) {
		var p pass
		c := &collector{}
		rc.Path, rc.Config, rc.Sinks = path, cfg, append(rc.Sinks, c)
		rc.MessageTap = func(recording.Message) { p.messages++ }
		rc.SampleTap = func(av.Sample) { p.samples++ }
		rc.BundleTap = func(*av.Bundle) { p.bundles++ }
		rc.Progress = func(pr fusiond.ReplayProgress) {
			if pr.Done {
				p.done = append(p.done, pr)
			}
		}
		err := fusiond.Replay(context.Background(), rc)
		p.decisions = c.lines
		return p, err
	}
	first, err := replay(fusiond.ReplayConfig{})
	if err != nil {
		t.Fatal(err)
	}
	second, _ := replay(fusiond.ReplayConfig{})
	if !slices.Equal(first.decisions, second.decisions) {
		t.Fatal("two replays differ")
	}
	if !slices.Equal(first.decisions, live) {
		t.Fatalf("replay and the live run differ:\nreplay:\n%s\nlive:\n%s", strings.Join(first.decisions, "\n"), strings.Join(live, "\n"))
	}
	if first.bundles != 60 || first.samples < 100 || first.messages <= first.samples ||
		len(first.done) != 1 || first.done[0].Samples != first.samples || first.done[0].Size <= 0 {
		t.Fatalf("taps and progress: %d bundles, %d samples, %d messages, done %+v", first.bundles, first.samples, first.messages, first.done)
	}

	half, err := replay(fusiond.ReplayConfig{FromNS: int64(time.Second)})
	if err != nil || half.samples == 0 || half.samples >= first.samples*6/10 || half.done[0].AtNS < int64(time.Second) {
		t.Fatalf("From 1s: %d of %d samples, done %+v: %v", half.samples, first.samples, half.done, err)
	}
	head, err := replay(fusiond.ReplayConfig{ToNS: int64(time.Second)})
	if err != nil || head.samples == 0 || head.samples+half.samples != first.samples {
		t.Fatalf("To 1s: %d samples, From 1s %d, of %d: %v", head.samples, half.samples, first.samples, err)
	}
	for _, loop := range []bool{false, true} {
		_, err := replay(fusiond.ReplayConfig{FromNS: int64(time.Hour), Loop: loop})
		if !errors.Is(err, fusiond.ErrNothingReplayed) || !strings.Contains(err.Error(), "past the end") {
			t.Fatalf("From past the end, loop %v: %v", loop, err)
		}
	}
}

// TestRecordedConfigKeepsNoNetworkSettings: the recorded config's network
// settings are the built-in ones with the overrides, never the file's; a
// config whose streams differ from the recording's is invalid.
func TestRecordedConfigKeepsNoNetworkSettings(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.NATS.URL, cfg.NATS.Token, cfg.NATS.Embedded.Listen, cfg.Metrics.Listen = "nats://10.9.9.9:4222", "tok3nS3cret", "0.0.0.0:4999", "0.0.0.0:9999"
	path, _ := recordScene(t, cfg, noSamples{})
	got, err := recordedConfig(t, path, "nats.embedded.listen=127.0.0.1:5555")
	if err != nil {
		t.Fatal(err)
	}
	if got.NATS.URL != "" || got.NATS.Token != "" || got.NATS.Embedded.Listen != "127.0.0.1:5555" || got.Metrics.Listen != "127.0.0.1:9464" {
		t.Fatalf("replay network settings: nats %+v metrics %+v", got.NATS, got.Metrics)
	}
	if got.Cameras[0].Width != 160 {
		t.Fatalf("not the recorded config: camera %+v", got.Cameras[0])
	}
	_, err = recordedConfig(t, path, "cameras.0.name=front")
	if !errors.Is(err, configs.ErrInvalid) || !strings.Contains(err.Error(), "cam0 (video)") || !strings.Contains(err.Error(), "front (video)") {
		t.Fatalf("mismatched streams: %v", err)
	}
}

// noSamples is a Source that ends at once.
type noSamples struct{}

func (noSamples) Run(context.Context, *av.Queue[av.Sample], int64) error { return nil }

func TestDiffDecision(t *testing.T) {
	const a = `{"kind":"activity","confidence":0.5,"latency_ns":100}`
	for _, c := range []struct{ want, got, diff, err string }{
		{"", "", "", ""},
		{a, a, "", ""},
		{a, `{"latency_ns":7,"confidence":0.5,"kind":"activity"}`, "", ""},
		{a, `{"kind":"speech","confidence":0.5}`, "  kind: golden \"activity\", replay \"speech\"\n", ""},
		{a, `{"kind":"activity"}`, "  confidence: golden 0.5, replay null\n", ""},
		{`{"b":1}`, `{"a":2,"b":1}`, "  a: golden null, replay 2\n", ""},
		{"", a, "  only in replay: " + a + "\n", ""},
		{a, "", "  only in golden: " + a + "\n", ""},
		{"{", a, "", "not a decision"},
		{a, "[1]", "", "not a decision"},
	} {
		d, err := fusiond.DiffDecision(c.want, c.got)
		if d != c.diff || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("DiffDecision(%q, %q) = %q, %v; want %q, %q", c.want, c.got, d, err, c.diff, c.err)
		}
	}
}

func TestCheckGolden(t *testing.T) {
	dir := t.TempDir()
	golden := filepath.Join(dir, "g.jsonl")
	os.WriteFile(golden, []byte("{\"k\":1}\n{\"k\":2}\n"), 0o644)
	for _, c := range []struct {
		name string
		got  []string
		want []string // substrings of the diff; none: it matches
	}{
		{"same", []string{`{"k":1,"latency_ns":5}`, `{"k":2}`}, nil},
		{"one differs", []string{`{"k":1}`, `{"k":3}`}, []string{"decision 2:\n  k: golden 2, replay 3\n", "1 of 2 decisions differ", "golden has 2, replay produced 2"}},
		{"one short", []string{`{"k":1}`}, []string{"decision 2:\n  only in golden", "golden has 2, replay produced 1"}},
	} {
		d, err := fusiond.CheckGolden(golden, c.got)
		if err != nil || (d == "") != (c.want == nil) {
			t.Errorf("%s: %q, %v", c.name, d, err)
		}
		for _, w := range c.want {
			if !strings.Contains(d, w) {
				t.Errorf("%s: %q lacks %q", c.name, d, w)
			}
		}
	}
	if _, err := fusiond.CheckGolden(filepath.Join(dir, "none.jsonl"), nil); err == nil || !strings.Contains(err.Error(), "golden file") {
		t.Errorf("missing golden: %v", err)
	}
	os.WriteFile(golden, []byte("not json\n"), 0o644)
	if _, err := fusiond.CheckGolden(golden, []string{`{"k":1}`}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad golden: %v", err)
	}
}
