package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/seed-4c364652/fusiond/internal/evalrun"
	"github.com/seed-4c364652/fusiond/internal/evaluate"
)

func cmdEval(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval", "[--json] [--model M] [--set k=v]... [--real DIR --split S | [--labels L] INPUTS...]",
		"Run labelled inputs through the daemon's own stages (as replay does) three times, with microphones\n"+
			"only (audio), cameras only (video) and both (fused), and score the published decisions against the\n"+
			"labels: per variant, configuration and kind precision, recall and F1 over time (10 ms steps;\n"+
			"decisions in state unknown are no claim, counted apart), labels skipped where the input lacks\n"+
			"the modality that senses them, onset and end latency (p50/p95), and the fraction of time each\n"+
			"kind is active and unknown. docs/DECISIONS.md describes the protocol and the --json shape.\n\n"+
			"INPUTS are media files (video with or without sound, or audio; played as camera source: file and\n"+
			"microphone source: media), MCAP recordings (fusiond record) or synthetic scenes ("+evalrun.ScenesDir+"/*/*.yaml),\n"+
			"each with an Audacity label track beside it (NAME.txt) or given with --labels (one input).\n"+
			"--real DIR scores the clips of DIR/manifest.tsv in --split. Default: the synthetic test scenes.",
		[]string{
			"fusiond eval --real .cache/realbench --split test --json",
			"fusiond eval talk.mkv --labels talk-labels.txt",
			"fusiond eval --export-wav robot1.wav robot1.mcap   # label robot1.wav in Audacity, export robot1.txt",
			"fusiond eval robot1.mcap",
			"fusiond eval --make-clips testdata/eval",
		}, stdout)
	asJSON := fs.Bool("json", false, "print JSON (schema "+evaluate.ReportSchema+")")
	model := fs.String("model", "", "fusion head: shipped, handset or a model `FILE` (default: the config's)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key of every input's config, `path.to.key=value` (repeatable)")
	real := fs.String("real", "", "score the clips of `DIR`/manifest.tsv")
	split := fs.String("split", "test", "with --real: the `SPLIT` to score (train, validation, test)")
	labels := fs.String("labels", "", "the label `FILE` of the one input given")
	makeDir := fs.String("make-clips", "", "write the synthetic train and test scenes under this directory and exit")
	exportTo := fs.String("export-wav", "", "write the audio of the one MCAP recording given to `FILE.wav` (to label in Audacity) and exit")
	mix := fs.Bool("mix", false, "mix the real-audio scenes' WAVs (.cache/eval) from their recipes under "+evalrun.ScenesDir+" and exit")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "fusiond eval: %v\n", err)
		return 1
	}
	if *makeDir != "" {
		paths, err := evalrun.MakeClips(*makeDir)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "wrote %d clips under %s\n", len(paths), *makeDir)
		return 0
	}
	if *exportTo != "" {
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "fusiond eval: --export-wav takes one recording (see 'fusiond eval --help')")
			return exitUsage
		}
		if err := evalrun.ExportWAV(fs.Arg(0), *exportTo); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", *exportTo)
		return 0
	}
	if *mix {
		n, err := evalrun.MixAll(evalrun.ScenesDir)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "mixed %d clips into %s\n", n, evalrun.MixDir)
		return 0
	}
	if *labels != "" && fs.NArg() != 1 || *real != "" && fs.NArg() > 0 {
		fmt.Fprintln(stderr, "fusiond eval: --labels goes with one input, --real with none (see 'fusiond eval --help')")
		return exitUsage
	}
	if *model != "" {
		sets = append(sets, "fuse.decisions.model="+*model)
	}
	inputs, err := evalrun.Inputs(fs.Args(), *labels, *real, *split, "test")
	if err != nil {
		return fail(err)
	}
	results, err := evalEnv().Eval(inputs, sets)
	if err != nil {
		return fail(err)
	}
	rep := evaluate.NewReport(results)
	rep.Model = *model
	if *real != "" {
		rep.Source, rep.Split = filepath.Join(*real, evaluate.ManifestName), *split
	}
	violations := evalrun.Violations(results)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1
		}
	} else {
		rep.Table(stdout)
	}
	if violations > 0 {
		fmt.Fprintf(stderr, "fusiond eval: %d decisions whose contributions do not sum to the logit\n", violations)
		return 1
	}
	return 0
}
