package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks"
)

func cmdPlot(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("plot", "FILE.mcap -o timeline.svg|timeline.png [--config F] [--set k=v]...",
		"Draw one picture of a recording: a lane per stream with its samples, gaps and\n"+
			"sequence jumps (drops), the bundles the synchroniser formed (with missing\n"+
			"modalities), the recorded drop counts, and the decisions with their confidence.\n"+
			"The bundles and decisions come from replaying the recording.",
		[]string{"fusiond plot run.mcap -o timeline.svg", "fusiond plot run.mcap -o timeline.png"}, stdout)
	outPath := fs.String("o", "", "output `FILE` (.svg or .png)")
	cfgPath := fs.String("config", "", "config `FILE` (default: the config recorded in the file)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	ext := strings.ToLower(filepath.Ext(*outPath))
	if fs.NArg() != 1 || (ext != ".svg" && ext != ".png") {
		fmt.Fprintln(stderr, "fusiond plot: want one recording and -o FILE.svg or FILE.png (see 'fusiond plot --help')")
		return exitUsage
	}
	r, err := recording.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "fusiond plot: %v\n", err)
		return exitRuntime
	}
	cfg, err := replayConfig(r, *cfgPath, sets)
	r.Close()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond plot: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	tl := newTimeline(cfg)
	opts := replayOptions{path: fs.Arg(0)}
	err = replay(context.Background(), cfg, opts, []sinks.Sink{tl}, newProgress(io.Discard), log, tl)
	if err != nil {
		// A truncated recording still plots up to the cut.
		log.Warn("recording read up to an error", "err", err)
	}
	f, err := os.Create(*outPath)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond plot: %v\n", err)
		return exitRuntime
	}
	if ext == ".png" {
		err = tl.drawPNG(f)
	} else {
		err = tl.drawSVG(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "fusiond plot: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "wrote %s\n", *outPath)
	return exitOK
}

// replayObserver sees what a replay reads and makes.
type replayObserver interface {
	message(m recording.Message)
	sample(s av.Sample)
	bundle(b *av.Bundle)
}

// timeline is what a plot shows, gathered during a replay.
type timeline struct {
	streams   []*lane
	byName    map[av.StreamID]*lane
	bundles   []bundleMark
	decisions map[string][]point
	kinds     []string
	drops     []point // cumulative drops from the recorded status
	first     int64
	last      int64
}

type lane struct {
	name     av.StreamID
	kind     av.Modality
	captures []int64
	jumps    []int64 // capture times after a gap in the sequence numbers
	lastSeq  uint64
	seen     bool
}

type bundleMark struct {
	t       int64
	missing []av.Modality
}

type point struct {
	t int64
	v float64
}

func newTimeline(cfg *configs.Config) *timeline {
	tl := &timeline{byName: map[av.StreamID]*lane{}, decisions: map[string][]point{}}
	for _, c := range cfg.Cameras {
		tl.addLane(av.StreamID(c.Name), av.Video)
	}
	for _, m := range cfg.Microphones {
		tl.addLane(av.StreamID(m.Name), av.Audio)
	}
	return tl
}

func (tl *timeline) addLane(name av.StreamID, kind av.Modality) {
	l := &lane{name: name, kind: kind}
	tl.streams = append(tl.streams, l)
	tl.byName[name] = l
}

func (tl *timeline) see(t int64) {
	if tl.first == 0 || t < tl.first {
		tl.first = t
	}
	tl.last = max(tl.last, t)
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
	tl.drops = append(tl.drops, point{m.LogNS, float64(total)})
}

func (tl *timeline) sample(s av.Sample) {
	m := s.SampleMeta()
	l := tl.byName[m.Stream]
	if l == nil {
		return
	}
	if l.seen && m.Seq != l.lastSeq+1 {
		l.jumps = append(l.jumps, m.CaptureNS)
	}
	l.lastSeq, l.seen = m.Seq, true
	l.captures = append(l.captures, m.CaptureNS)
	tl.see(m.CaptureNS)
}

func (tl *timeline) bundle(b *av.Bundle) {
	tl.bundles = append(tl.bundles, bundleMark{b.TimeNS, slices.Clone(b.Missing)})
}

// WriteDecision implements sinks.Sink: the replayed decisions.
func (tl *timeline) WriteDecision(d *av.Decision, _ []byte) error {
	if _, ok := tl.decisions[d.Kind]; !ok {
		tl.kinds = append(tl.kinds, d.Kind)
	}
	tl.decisions[d.Kind] = append(tl.decisions[d.Kind], point{d.TimeNS, d.Confidence})
	return nil
}

var _ replayObserver = (*timeline)(nil)
