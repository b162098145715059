package fusiond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks"
)

// ReplayConfig says what Replay replays and where its output goes.
type ReplayConfig struct {
	// Path is the recording (MCAP), as written by a daemon WithRecording.
	Path string
	// Config builds the stages; RecordedConfig gives the recording's own.
	Config *configs.Config
	// Speed is the pace in times real time; 0 replays as fast as possible.
	Speed float64
	// FromNS skips the samples that arrived less than FromNS after the
	// recording's first; ToNS, when above 0, stops at the first that
	// arrived ToNS after it.
	FromNS, ToNS int64
	// Loop starts again at the end, until ctx ends.
	Loop bool
	// Sinks get every decision, encoded, in order.
	Sinks []sinks.Sink
	// MessageTap, SampleTap and BundleTap, when set, see every message
	// read, every sample replayed (before the stages take it) and every
	// bundle (before fusion); they must not keep what they see. Each is
	// called in order from one goroutine, but the stages run as a
	// pipeline (replaypipe.go): MessageTap, SampleTap and Progress run in
	// the reader's, BundleTap in sync's, the sinks in fusion's, each
	// concurrently with the others.
	MessageTap func(recording.Message)
	SampleTap  func(av.Sample)
	BundleTap  func(*av.Bundle)
	// FaceTap, when set, sees the faces the visual features track in each
	// frame (the live view's annotations); it changes no decision.
	FaceTap FaceTap
	// Progress, when set, is called after every sample replayed and once
	// at the end of each pass (Done).
	Progress func(ReplayProgress)
	// Log gets the stages' logs and the warnings (nil: discarded).
	Log *slog.Logger
}

// ReplayProgress says how far a pass of Replay is.
type ReplayProgress struct {
	Offset, Size int64 // bytes of the recording read, and its size (0: unknown)
	Samples      int   // samples replayed in this pass
	AtNS         int64 // the last replayed sample's arrival, after the recording's first
	WallNS       int64 // real time since the pass began
	Done         bool  // the pass has ended
}

// ErrNothingReplayed is returned when a pass replays no sample although
// FromNS or Loop asked for some.
var ErrNothingReplayed = errors.New("nothing to replay")

// Replay feeds a recording through the same stages as a live run
// (NewStages): every sample, in the order the live synchroniser consumed
// it, with the virtual clock at the sample's recorded arrival time. The
// stages run as a pipeline across cores (runPipeline), each in order, so
// the output is that of Stages driven in one goroutine. The decisions are those of the live run that
// recorded it (all fields but latency_ns), and byte-identical on every
// replay. It returns when the recording (or ToNS) ends, or ctx does; an
// unreadable rest of the file ends it with an error after what came
// before was replayed.
func Replay(ctx context.Context, rc ReplayConfig) error {
	if rc.Log == nil {
		rc.Log = slog.New(slog.DiscardHandler)
	}
	for {
		if err := replayPass(ctx, rc); err != nil {
			return err
		}
		if !rc.Loop || ctx.Err() != nil {
			return nil
		}
	}
}

// replayPass replays the recording once.
func replayPass(ctx context.Context, rc ReplayConfig) error {
	r, err := recording.Open(rc.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	size := int64(0)
	if st, err := os.Stat(rc.Path); err == nil {
		size = st.Size()
	}
	log := rc.Log
	var sinkErr error
	var failed atomic.Bool // sinkErr is set: the reader stops
	decide := func(d *av.Decision) {
		payload, err := sinks.EncodeDecision(d)
		if err != nil {
			sinkErr = err
			failed.Store(true)
			return
		}
		for _, s := range rc.Sinks {
			if err := s.WriteDecision(d, payload); err != nil && sinkErr == nil {
				sinkErr = err
				failed.Store(true)
			}
		}
	}
	drops := av.NewDrops()
	st, err := newStagesApart(rc.Config, drops, log)
	if err != nil {
		return err
	}
	for _, v := range st.apart { // the faces of the frames measured apart
		if v != nil {
			v.features = tapFaces(v.features, rc.FaceTap)
		}
	}
	defer func() {
		st.fuse.Close()
		st.backend.Close()
	}()

	progress := rc.Progress
	if progress == nil {
		progress = func(ReplayProgress) {}
	}
	real := av.NewRealClock()
	startReal := real.Now()
	// The reader: read and decode, in a goroutine of its own, ahead of the
	// stages (runPipeline). What it sets below is read once the pipeline
	// has drained, after it closed samples.
	var readErr error
	var samples int
	var lastRel, spanNS int64
	in := make(chan av.Sample, pipeDepth)
	go func() {
		defer close(in)
		var firstNS int64
		started := false
		warned := map[string]bool{}
		for ctx.Err() == nil && !failed.Load() {
			m, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = err
				break
			}
			if rc.MessageTap != nil {
				rc.MessageTap(m)
			}
			s, err := r.Sample(m)
			if err != nil {
				readErr = fmt.Errorf("%s: message %d of %s: %w", rc.Path, m.Seq, m.Topic, err)
				break
			}
			if s == nil {
				if m.Stream == "" && !knownTopic(m.Topic) && m.Schema != recording.SchemaImageAnnotations && !warned[m.Topic] {
					warned[m.Topic] = true
					log.Warn("skipping a channel replay does not use", "topic", m.Topic, "schema", m.Schema)
				}
				continue
			}
			arrival := s.SampleMeta().ArrivalNS
			if !started {
				firstNS, started = arrival, true
			}
			rel := arrival - firstNS
			spanNS = max(spanNS, rel)
			if rel < rc.FromNS {
				s.Release()
				continue
			}
			if rc.ToNS > 0 && rel >= rc.ToNS {
				s.Release()
				break
			}
			if rc.Speed > 0 {
				if err := real.WaitUntil(ctx, startReal+int64(float64(rel-rc.FromNS)/rc.Speed)); err != nil {
					s.Release()
					break
				}
			}
			if rc.SampleTap != nil {
				rc.SampleTap(s)
			}
			in <- s
			samples++
			lastRel = rel
			progress(ReplayProgress{Offset: r.Offset(), Size: size, Samples: samples, AtNS: rel, WallNS: real.Now() - startReal})
		}
	}()
	runPipeline(st, in, rc.BundleTap, decide)
	progress(ReplayProgress{Offset: r.Offset(), Size: size, Samples: samples, AtNS: lastRel, WallNS: real.Now() - startReal, Done: true})
	if sinkErr != nil {
		return sinkErr
	}
	if readErr != nil {
		return fmt.Errorf("replayed %d samples before the error: %w", samples, readErr)
	}
	if samples == 0 && ctx.Err() == nil {
		switch {
		case rc.FromNS > 0:
			return fmt.Errorf("%w: --from %v is past the end of %s (its samples span %v)", ErrNothingReplayed, time.Duration(rc.FromNS), rc.Path, time.Duration(spanNS))
		case rc.Loop:
			return fmt.Errorf("%w: %s holds no samples to loop over", ErrNothingReplayed, rc.Path)
		}
	}
	for _, d := range drops.Snapshot() {
		log.Warn("samples dropped in replay", "stream", d.Stream, "reason", d.Reason, "count", d.Count)
	}
	return nil
}

// knownTopic reports whether topic is a channel of the recorder's that
// holds no samples (beside the cameras' annotations, outputs that replay
// skips like the decisions).
func knownTopic(topic string) bool {
	return topic == recording.TopicDecisions || topic == recording.TopicStatus || topic == recording.TopicAudioIndex
}

// RecordedConfig is the config to replay r with: the one recorded in it,
// or the file at path when path is not "", with the overrides sets
// (path.to.key=value), checked against the recording's streams. The
// recorded config's nats, metrics and foxglove sections are replaced by the
// built-in ones with the overrides: a crafted file must not open
// listeners or dial servers. A mismatch wraps configs.ErrInvalid.
func RecordedConfig(r *recording.Reader, path string, sets []string) (*configs.Config, error) {
	var cfg *configs.Config
	var err error
	switch recorded := r.Metadata()["config"]; {
	case path != "":
		cfg, err = configs.Load(path, sets)
	case recorded != "":
		cfg, err = configs.Parse("config recorded in the file", []byte(recorded), sets)
		if err == nil {
			var here *configs.Config
			if here, err = configs.Parse("", nil, sets); err == nil {
				cfg.NATS, cfg.Metrics, cfg.Foxglove = here.NATS, here.Metrics, here.Foxglove
			}
		}
	default:
		cfg, err = configs.Parse("", nil, sets)
	}
	if err != nil {
		return nil, err
	}
	var want, have []string
	for _, c := range cfg.Cameras {
		want = append(want, c.Name+" (video)")
	}
	for _, m := range cfg.Microphones {
		want = append(want, m.Name+" (audio)")
	}
	for _, s := range r.Streams() {
		have = append(have, string(s.ID)+" ("+string(s.Kind)+")")
	}
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(want, have) {
		return nil, fmt.Errorf("%w: the recording's streams [%s] do not match the config's [%s]",
			configs.ErrInvalid, strings.Join(have, ", "), strings.Join(want, ", "))
	}
	return cfg, nil
}

// CheckGolden compares encoded decisions, one per line, with a golden
// JSONL file, ignoring latency_ns, and returns a readable diff of the
// first ten that differ ("" when all match).
func CheckGolden(path string, got []string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("golden file: %w", err)
	}
	want := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(data) == 0 {
		want = nil
	}
	diff, differ, err := DiffDecisions(want, got)
	if err != nil {
		return "", fmt.Errorf("%s %w", path, err)
	}
	if differ == 0 {
		return "", nil
	}
	return diff + fmt.Sprintf("%d of %d decisions differ from %s (golden has %d, replay produced %d)\n", differ, max(len(want), len(got)), path, len(want), len(got)), nil
}

// DiffDecisions compares two lists of encoded decisions line by line
// (DiffDecision: all but latency_ns) and returns a readable diff of the
// first ten that differ and how many differ.
func DiffDecisions(want, got []string) (diff string, differ int, err error) {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		d, err := DiffDecision(w, g)
		if err != nil {
			return "", 0, fmt.Errorf("line %d: %w", i+1, err)
		}
		if d == "" {
			continue
		}
		if differ < 10 {
			fmt.Fprintf(&b, "decision %d:\n%s", i+1, d)
		}
		differ++
	}
	return b.String(), differ, nil
}

// DiffDecision compares two encoded decisions field by field, ignoring
// latency_ns (the one field that depends on the machine's speed), and says
// how they differ, a line per field ("" when they do not). Either may be
// "" (missing).
func DiffDecision(want, got string) (string, error) {
	switch {
	case want == "" && got == "":
		return "", nil
	case want == "":
		return fmt.Sprintf("  only in replay: %s\n", got), nil
	case got == "":
		return fmt.Sprintf("  only in golden: %s\n", want), nil
	}
	var w, g map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return "", fmt.Errorf("not a decision: %w", err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return "", fmt.Errorf("not a decision: %w", err)
	}
	delete(w, "latency_ns")
	delete(g, "latency_ns")
	keys := make([]string, 0, len(w)+len(g))
	for k := range w {
		keys = append(keys, k)
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		if !reflect.DeepEqual(w[k], g[k]) {
			wj, _ := json.Marshal(w[k])
			gj, _ := json.Marshal(g[k])
			fmt.Fprintf(&b, "  %s: golden %s, replay %s\n", k, wj, gj)
		}
	}
	return b.String(), nil
}
