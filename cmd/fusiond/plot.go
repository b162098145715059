package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/internal/plot"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

func cmdPlot(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("plot", "FILE.mcap -o timeline.svg|timeline.png|timeline.pdf [--config F] [--set k=v]...",
		"Draw one picture of a recording: a lane per stream with its samples, gaps and\n"+
			"sequence jumps (drops), the bundles the synchroniser formed (with missing\n"+
			"modalities), the recorded drop counts, and each decision kind's confidence with\n"+
			"the spans it was active or unknown shaded. The bundles and decisions come from\n"+
			"replaying the recording. The format follows the output file's extension.",
		[]string{"fusiond plot run.mcap -o timeline.svg", "fusiond plot run.mcap -o timeline.png", "fusiond plot run.mcap -o timeline.pdf"}, stdout)
	outPath := fs.String("o", "", "output `FILE` (.svg, .png or .pdf)")
	cfgPath := fs.String("config", "", "config `FILE` (default: the config recorded in the file)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if _, err := plot.FormatOf(*outPath); fs.NArg() != 1 || err != nil {
		fmt.Fprintln(stderr, "fusiond plot: want one recording and -o FILE.svg, FILE.png or FILE.pdf (see 'fusiond plot --help')")
		return exitUsage
	}
	r, err := recording.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "fusiond plot: %v\n", err)
		return exitRuntime
	}
	cfg, err := daemon.RecordedConfig(r, *cfgPath, sets)
	r.Close()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond plot: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	tl := newTimeline(cfg)
	err = daemon.Replay(context.Background(), daemon.ReplayConfig{Path: fs.Arg(0), Config: cfg, Sinks: []sinks.Sink{tl}, Log: log,
		MessageTap: tl.message, SampleTap: tl.sample, BundleTap: tl.bundle})
	if err != nil {
		// A truncated recording still plots up to the cut.
		log.Warn("recording read up to an error", "err", err)
	}
	if err := plot.WriteFile(*outPath, &tl.Timeline); err != nil {
		fmt.Fprintf(stderr, "fusiond plot: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "wrote %s\n", *outPath)
	return exitOK
}

// timeline gathers what a plot shows during a replay.
type timeline struct {
	plot.Timeline
	lanes map[av.StreamID]*lane
	kinds map[string]int // index in Kinds
}

// lane is a stream's place in Streams and its last sequence number.
type lane struct {
	i       int
	lastSeq uint64
	seen    bool
}

func newTimeline(cfg *configs.Config) *timeline {
	tl := &timeline{lanes: map[av.StreamID]*lane{}, kinds: map[string]int{}}
	add := func(name string, kind av.Modality) {
		tl.lanes[av.StreamID(name)] = &lane{i: len(tl.Streams)}
		tl.Streams = append(tl.Streams, plot.Stream{Name: fmt.Sprintf("%s (%s)", name, kind)})
	}
	for _, c := range cfg.Cameras {
		add(c.Name, av.Video)
	}
	for _, m := range cfg.Microphones {
		add(m.Name, av.Audio)
	}
	return tl
}

func (tl *timeline) message(m recording.Message) {
	if m.Topic != recording.TopicStatus {
		return
	}
	var st struct {
		Drops []av.DropCount `json:"drops"`
	}
	if json.Unmarshal(m.Data, &st) != nil {
		return
	}
	var total uint64
	for _, d := range st.Drops {
		total += d.Count
	}
	tl.Drops = append(tl.Drops, plot.DropCount{TimeNS: m.LogNS, Total: total})
}

func (tl *timeline) sample(s av.Sample) {
	m := s.SampleMeta()
	l := tl.lanes[m.Stream]
	if l == nil {
		return
	}
	st := &tl.Streams[l.i]
	if l.seen && m.Seq != l.lastSeq+1 {
		st.JumpsNS = append(st.JumpsNS, m.CaptureNS)
	}
	l.lastSeq, l.seen = m.Seq, true
	st.CapturesNS = append(st.CapturesNS, m.CaptureNS)
}

func (tl *timeline) bundle(b *av.Bundle) {
	tl.Bundles = append(tl.Bundles, plot.Bundle{TimeNS: b.TimeNS,
		MissingAudio: slices.Contains(b.Missing, av.Audio), MissingVideo: slices.Contains(b.Missing, av.Video)})
}

// WriteDecision implements sinks.Sink: the replayed decisions.
func (tl *timeline) WriteDecision(d *av.Decision, _ []byte) error {
	i, ok := tl.kinds[d.Kind]
	if !ok {
		i = len(tl.Kinds)
		tl.kinds[d.Kind] = i
		tl.Kinds = append(tl.Kinds, plot.Kind{Name: d.Kind})
	}
	tl.Kinds[i].Decisions = append(tl.Kinds[i].Decisions, plot.Decision{TimeNS: d.TimeNS, Confidence: d.Confidence,
		Active: d.State == decision.StateActive, Unknown: d.State == decision.StateUnknown})
	return nil
}
