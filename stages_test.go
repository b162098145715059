package fusiond_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// collector keeps every decision, encoded without its latency.
type collector struct{ lines []string }

func (c *collector) WriteDecision(d *av.Decision, _ []byte) error {
	c.add(d)
	return nil
}

func (c *collector) add(d *av.Decision) {
	x := d.Decision
	x.LatencyNS = nil
	b, err := decision.Append(nil, &x)
	if err != nil {
		panic(err)
	}
	c.lines = append(c.lines, string(b))
}

func exampleConfig(t *testing.T) *configs.Config {
	return quietConfig(t, "", nil,
		"cameras.0.width=160", "cameras.0.height=120", "microphones.0.rate_hz=16000", "microphones.0.channels=1")
}

// quietConfig parses the config yml (file names it; nil: the built-in
// one) with sets, for a daemon in a test: capture queues that block, the
// CPU backend, NATS in-process only without JetStream or control plane,
// no metrics endpoint, state and signing key in a temporary directory.
func quietConfig(t *testing.T, file string, yml []byte, sets ...string) *configs.Config {
	t.Helper()
	dir := t.TempDir()
	cfg, err := configs.Parse(file, yml, append([]string{
		"pipeline.overflow=block", "fuse.backend=cpu",
		"nats.embedded.listen=", "nats.jetstream.enabled=false", "nats.control=false", "metrics.listen=",
		"state_dir=" + dir, "nats.signing.key_file=" + filepath.Join(dir, "robot.nk"),
	}, sets...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestStagesMatchDaemon: the same samples give the same decisions (all
// fields but latency_ns) through Stages as through a running Daemon, and
// through Stages twice: what replay's bit-exactness rests on.
func TestStagesMatchDaemon(t *testing.T) {
	const startNS = int64(1_700_000_000e9)
	cfg := exampleConfig(t)

	live := &collector{}
	src, err := newScene(av.NewVirtualClock(startNS))
	if err != nil {
		t.Fatal(err)
	}
	var bundles int
	d, err := fusiond.New(cfg, fusiond.WithClock(av.NewVirtualClock(startNS)),
		fusiond.WithSource("cam0", src), fusiond.WithSource("mic0", nil),
		fusiond.WithSink(live), fusiond.WithBundleTap(func(*av.Bundle) { bundles++ }))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(live.lines) < 4 || bundles != 60 {
		t.Fatalf("the daemon made %d decisions from %d bundles, want ≥ 4 from 60", len(live.lines), bundles)
	}
	for _, dc := range d.Drops() {
		if dc.Count > 0 {
			t.Errorf("daemon dropped %+v", dc)
		}
	}

	replay := func() []string {
		c := &collector{}
		st, err := fusiond.NewStages(cfg, fusiond.StagesConfig{Decision: c.add})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		pushScene(t, st, startNS)
		if drops := st.Drops(); slices.ContainsFunc(drops, func(d av.DropCount) bool { return d.Count > 0 }) {
			t.Errorf("stages dropped %+v", drops)
		}
		return c.lines
	}
	first, second := replay(), replay()
	if !slices.Equal(first, second) {
		t.Fatal("two passes through Stages differ")
	}
	if !slices.Equal(first, live.lines) {
		t.Fatalf("Stages and the daemon differ:\nstages:\n%s\ndaemon:\n%s", strings.Join(first, "\n"), strings.Join(live.lines, "\n"))
	}
}

func TestNewStagesNeedsADecisionCallback(t *testing.T) {
	if _, err := fusiond.NewStages(exampleConfig(t), fusiond.StagesConfig{}); err == nil {
		t.Fatal("NewStages without a Decision callback did not fail")
	}
}

// pushScene pushes the test scene from startNS through st and flushes it.
func pushScene(t *testing.T, st *fusiond.Stages, startNS int64) {
	t.Helper()
	src, err := newScene(av.NewVirtualClock(startNS))
	if err != nil {
		t.Fatal(err)
	}
	q := av.NewQueue[av.Sample]("scene", 16, av.Block, nil)
	go func() {
		defer q.Close()
		src.Run(context.Background(), q, startNS)
	}()
	for s := range q.C() {
		st.Push(s)
	}
	st.Flush()
}

// failingBackend is a backend that fails every tick's feature work.
type failingBackend struct{ fuse.Backend }

func (failingBackend) Compute(*fuse.TickWork) error { return errors.New("device lost") }

// TestBackendErrorCountedAndLoggedOnce: a backend that fails the feature
// work of every bundle costs each one a drop (stream bundles, reason
// backend_error) and one line in the log; the decisions go on.
func TestBackendErrorCountedAndLoggedOnce(t *testing.T) {
	const startNS = int64(1_700_000_000e9)
	var logs bytes.Buffer
	c := &collector{}
	st, err := fusiond.NewStages(exampleConfig(t), fusiond.StagesConfig{Decision: c.add,
		Activity: func(ac *fuse.ActivityConfig) { ac.Backend = failingBackend{ac.Backend} },
		Log:      slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pushScene(t, st, startNS)
	bundles := 0
	for _, d := range st.Drops() {
		if d.Stream == "bundles" && d.Reason == av.DropBackendError {
			bundles = int(d.Count)
		}
	}
	if bundles != 60 {
		t.Errorf("%d bundles counted as backend_error drops, want 60", bundles)
	}
	if n := strings.Count(logs.String(), "backend failed"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	if len(c.lines) == 0 {
		t.Error("no decisions")
	}
}
