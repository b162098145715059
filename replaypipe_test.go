package fusiond_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks"
)

// payloads keeps every decision as encoded, latency_ns included.
type payloads struct{ lines []string }

func (p *payloads) WriteDecision(_ *av.Decision, payload []byte) error {
	p.lines = append(p.lines, string(payload))
	return nil
}

// replayMatchesLive replays the recording at path twice with cfg and
// fails unless the two replays are byte-identical and make the live run's
// decisions (DiffDecision: all but latency_ns).
func replayMatchesLive(t *testing.T, path string, cfg *configs.Config, live []string) {
	t.Helper()
	var passes [2]*payloads
	for i := range passes {
		passes[i] = &payloads{}
		if err := fusiond.Replay(context.Background(), fusiond.ReplayConfig{Path: path, Config: cfg, Sinks: []sinks.Sink{passes[i]}}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(passes[0].lines, passes[1].lines) {
		t.Fatal("two replays differ")
	}
	got := passes[0].lines
	diff, differ, err := fusiond.DiffDecisions(live, got)
	if err != nil {
		t.Fatal(err)
	}
	if differ > 0 {
		t.Fatalf("the replay differs from the live run in %d of %d live, %d replayed decisions:\n%s", differ, len(live), len(got), diff)
	}
}

// TestReplayPipelineMatchesStages: Replay, whose stages run as a pipeline
// across goroutines, makes byte for byte the decisions of Stages driven in
// one goroutine over the same samples, latency_ns included (the stamps
// travel with the bundles), with the visual features on and off.
func TestReplayPipelineMatchesStages(t *testing.T) {
	for _, video := range []string{"true", "false"} {
		t.Run("video="+video, func(t *testing.T) {
			cfg := exampleConfig(t)
			path, _ := recordScene(t, cfg, nil)
			rcfg, err := recordedConfig(t, path, "fuse.features.video="+video)
			if err != nil {
				t.Fatal(err)
			}

			piped := &payloads{}
			var tapped int
			if err := fusiond.Replay(context.Background(), fusiond.ReplayConfig{Path: path, Config: rcfg,
				Sinks: []sinks.Sink{piped}, BundleTap: func(*av.Bundle) { tapped++ }}); err != nil {
				t.Fatal(err)
			}

			one := &payloads{}
			var bundles int
			st, err := fusiond.NewStages(rcfg, fusiond.StagesConfig{Bundle: func(*av.Bundle) { bundles++ }, Decision: func(d *av.Decision) {
				p, err := sinks.EncodeDecision(d)
				if err != nil {
					t.Fatal(err)
				}
				one.lines = append(one.lines, string(p))
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			r, err := recording.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for {
				m, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				s, err := r.Sample(m)
				if err != nil {
					t.Fatal(err)
				}
				if s != nil {
					st.Push(s)
				}
			}
			st.Flush()

			if len(one.lines) < 4 || bundles == 0 || tapped != bundles {
				t.Fatalf("%d decisions from %d bundles in one goroutine, the pipeline's tap saw %d bundles", len(one.lines), bundles, tapped)
			}
			if !slices.Equal(piped.lines, one.lines) {
				t.Fatalf("the pipeline and Stages differ:\npipeline:\n%s\nstages:\n%s", strings.Join(piped.lines, "\n"), strings.Join(one.lines, "\n"))
			}
			if video == "true" && visionBuilt && !strings.Contains(strings.Join(one.lines, ""), `"video_foreground"`) {
				t.Fatal("no visual features in the decisions")
			}
			if !strings.Contains(one.lines[0], `"latency_ns"`) {
				t.Fatalf("decision without latency_ns: %s", one.lines[0])
			}
		})
	}
}

// failingSink refuses every decision after the first n.
type failingSink struct {
	n, seen int
}

var errRefused = errors.New("refused")

func (f *failingSink) WriteDecision(*av.Decision, []byte) error {
	f.seen++
	if f.seen > f.n {
		return errRefused
	}
	return nil
}

// TestReplayPipelineStopsOnSinkError: a sink's error ends the replay with
// that error, the pipeline's goroutines gone; as do a cancelled context
// (no error).
func TestReplayPipelineStopsOnSinkError(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfg := exampleConfig(t)
	path, live := recordScene(t, cfg, nil)
	rcfg, err := recordedConfig(t, path)
	if err != nil {
		t.Fatal(err)
	}
	sink := &failingSink{n: 1}
	if err := fusiond.Replay(context.Background(), fusiond.ReplayConfig{Path: path, Config: rcfg, Sinks: []sinks.Sink{sink}}); !errors.Is(err, errRefused) {
		t.Fatalf("err %v, want %v", err, errRefused)
	}
	if sink.seen < 2 {
		t.Fatalf("the sink saw %d decisions, want ≥ 2", sink.seen)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := &payloads{}
	if err := fusiond.Replay(ctx, fusiond.ReplayConfig{Path: path, Config: rcfg, Sinks: []sinks.Sink{got}}); err != nil {
		t.Fatal(err)
	}
	if len(got.lines) >= len(live) {
		t.Fatalf("a cancelled replay made %d decisions, the whole run %d", len(got.lines), len(live))
	}
}
