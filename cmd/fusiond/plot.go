package main

import (
	"context"
	"fmt"
	"io"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/internal/plot"
	"github.com/seed-4c364652/fusiond/sinks"
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
	var cams, mics []string
	for _, c := range cfg.Cameras {
		cams = append(cams, c.Name)
	}
	for _, m := range cfg.Microphones {
		mics = append(mics, m.Name)
	}
	tl := plot.NewTimelineBuilder(cams, mics)
	err = daemon.Replay(context.Background(), daemon.ReplayConfig{Path: fs.Arg(0), Config: cfg, Sinks: []sinks.Sink{tl}, Log: log,
		MessageTap: tl.Message, SampleTap: tl.Sample, BundleTap: tl.Bundle})
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
