package main

import (
	"errors"
	"fmt"
	daemon "github.com/seed-4c364652/fusiond"
	"io"
	"os"
	"strings"
	"time"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/internal/bench"
	avsync "github.com/seed-4c364652/fusiond/sync"
)

// benchCommands are the subcommands of fusiond bench.
var benchCommands = []command{
	{"sync", "run a synchroniser over a trace file; print its message rate", benchSync},
	{"trace", "generate a synthetic trace (scenarios: fusiond bench trace --list)", benchTrace},
	{"drift", "measure the audio clock estimator against a simulated drifting device", benchDrift},
	{"vad", "score the voice activity detector on labelled speech, beside Silero and WebRTC VAD (internal/bench)", benchVAD},
	{"e2e", "run the whole pipeline paced and at maximum speed, beside the machine's limits (internal/bench)", benchE2E},
	{"fleet", "simulate offloaded robots and fusion workers on a hub: decisions/s, lag, throughput (internal/bench)", benchFleet},
}

func cmdBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprintln(w, "Benchmarks of fusiond's stages, beside their peers.\n\nUsage: fusiond bench SUBCOMMAND [flags]\n\nSubcommands:")
		for _, c := range benchCommands {
			fmt.Fprintf(w, "  %-6s %s\n", c.name, c.summary)
		}
		fmt.Fprintln(w, "\nExamples:\n  fusiond bench trace --scenario jitter --messages 800000 --out jitter.trace\n"+
			"  fusiond bench sync --trace jitter.trace --policy approximate --sets ours.sets\n"+
			"  fusiond bench drift --hours 1")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range benchCommands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "fusiond bench: unknown subcommand %q (see 'fusiond bench --help')\n", args[0])
	return exitUsage
}

func benchTrace(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench trace", "--scenario NAME [--messages N] [--seed S] [--out FILE] | --list",
		"Generate a synthetic trace in the message_filters peer's format\n(../shared/peers/README.md): one message a line, in arrival order.",
		[]string{"fusiond bench trace --list", "fusiond bench trace --scenario drops --messages 800000 --out drops.trace"}, stdout)
	scenario := fs.String("scenario", "", "scenario `NAME`")
	messages := fs.Int("messages", 100000, "about this many messages (`N`)")
	seed := fs.Uint64("seed", 1, "random `SEED`; the same seed gives the same trace")
	out := fs.String("out", "", "write to `FILE` (default: stdout)")
	list := fs.Bool("list", false, "list the scenarios")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if *list {
		for _, s := range avsync.Scenarios() {
			fmt.Fprintf(stdout, "%-12s %s\n", s.Name, s.Summary)
		}
		return exitOK
	}
	if *scenario == "" {
		fmt.Fprintln(stderr, "fusiond bench trace: --scenario is required (see --list)")
		return exitUsage
	}
	tr, err := avsync.GenerateTrace(*scenario, *seed, *messages)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench trace: %v\n", err)
		return exitUsage
	}
	if err := bench.WriteTrace(tr, *out, stdout); err != nil {
		fmt.Fprintf(stderr, "fusiond bench trace: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

func benchSync(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench sync", "--trace FILE --policy approximate|window|exact [--queue N] [--age-penalty X] [--max-interval D] [--sets FILE]",
		"Run a synchroniser over a trace and print one line like the peer's:\n"+
			"messages=N sets=M seconds=S rate=R. The trace is loaded before the clock starts;\n"+
			"writing --sets is timed, as the peer times it.\n"+
			"approximate: ROS message_filters ApproximateTime, set for set.\n"+
			"exact: sets of equal timestamps (ROS ExactTime).\n"+
			"window: stream 0 triggers; the others are 48 kHz audio chunks stamped by the\n"+
			"trace, sliced to [t-before, t+after] around each trigger.",
		[]string{
			"fusiond bench sync --trace jitter.trace --policy approximate --sets ours.sets",
			"fusiond bench sync --trace basic.trace --policy approximate --queue 5 --age-penalty 0.5 --max-interval 20ms",
			"fusiond bench sync --trace basic.trace --policy window --before 100ms --after 20ms",
		}, stdout)
	tracePath := fs.String("trace", "", "trace `FILE`")
	policy := fs.String("policy", "approximate", "`POLICY`: approximate, window or exact")
	queue := fs.Int("queue", 10, "messages kept per stream (`N`)")
	age := fs.Float64("age-penalty", 0.1, "age penalty (`X`) of approximate")
	maxIvl := fs.Duration("max-interval", 0, "largest spread of a set's timestamps (`D`; 0: none)")
	maxWait := fs.Duration("max-wait", 0, "approximate: a stream silent this long (`D`, arrival = latest timestamp) is idle; sets go on without it (0: never, as ROS)")
	learn := fs.Bool("learn-bounds", false, "approximate: learn inter-message lower bounds (sets may differ from ROS)")
	setsPath := fs.String("sets", "", "write the sets to `FILE`, in the peer's format")
	before := fs.Duration("before", 100*time.Millisecond, "window: audio before each trigger")
	after := fs.Duration("after", 0, "window: audio after each trigger")
	repeat := fs.Int("repeat", 1, "run `N` times and report the fastest (sets are written once)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if *tracePath == "" {
		fmt.Fprintln(stderr, "fusiond bench sync: --trace is required")
		return exitUsage
	}
	res, err := bench.SyncFiles(*tracePath, *setsPath, bench.SyncConfig{Policy: *policy, QueueSize: *queue, AgePenalty: *age,
		MaxIntervalNS: int64(*maxIvl), MaxWaitNS: int64(*maxWait), LearnLowerBounds: *learn, BeforeNS: int64(*before), AfterNS: int64(*after)}, *repeat)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench sync: %v\n", err)
		if errors.Is(err, bench.ErrSetsFile) {
			return exitRuntime
		}
		return exitUsage
	}
	ver, _ := daemon.BuildVersion()
	fmt.Fprintf(stdout, "fusiond=%s policy=%s messages=%d sets=%d seconds=%.6f rate=%.0f%s\n",
		strings.Trim(ver, "()"), *policy, res.Messages, res.Sets, res.Seconds, float64(res.Messages)/res.Seconds, res.Extra)
	return exitOK
}

func benchDrift(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench drift", "[--hours H] [--ppm P] [--jitter D] [--chunk N] [--late-every N] [--late D]",
		"Run the audio clock estimator against a simulated drifting device with jittery\n"+
			"callbacks, and print the p99 error of the estimated sample times from 10 s on.",
		[]string{"fusiond bench drift", "fusiond bench drift --hours 1 --ppm -100 --late-every 200 --late 60ms"}, stdout)
	hours := fs.Float64("hours", 1, "simulated `HOURS`")
	ppm := fs.Float64("ppm", 100, "device clock drift (`PPM`, positive: fast)")
	jitter := fs.Duration("jitter", 5*time.Millisecond, "callback jitter, uniform ± `D`")
	rate := fs.Int("rate", 48000, "sample rate (`HZ`)")
	chunk := fs.Int("chunk", 480, "frames per callback (`N`)")
	lateEvery := fs.Int("late-every", 200, "one callback in `N` is late (0: none)")
	late := fs.Duration("late", 60*time.Millisecond, "how late (`D`)")
	seed := fs.Uint64("seed", 1, "random `SEED`")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	rep, err := avsync.SimulateDrift(avsync.DriftSim{RateHz: *rate, ChunkFrames: *chunk, DriftPPM: *ppm, JitterNS: int64(*jitter),
		LatencyNS: 8e6, LateEvery: *lateEvery, LateNS: int64(*late), DurationNS: int64(*hours * 3600e9), Seed: *seed})
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench drift: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "rate=%d drift_ppm=%g jitter=%v chunks=%d p99_ms=%.3f worst_minute_p99_ms=%.3f max_ms=%.3f clipped=%d resets=%d estimated_ppm=%.2f\n",
		*rate, *ppm, *jitter, rep.Chunks, rep.P99AfterNS/1e6, rep.WorstWindowP99NS/1e6, rep.MaxNS/1e6, rep.Clipped, rep.Resets, -rep.EstPPM)
	return exitOK
}

func benchVAD(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench vad", "--list LIST.tsv [--analysis-rate HZ] [--json]",
		"Score the VAD on WAV files. Each line of LIST is\n"+
			"  WAV<TAB>LABELS[<TAB>PEERS.json]\n"+
			"LABELS an Audacity label track (intervals labelled speech are the truth;\n"+
			"scripts/speech-labels.sh makes one), PEERS the output of\n"+
			"node ../shared/peers/vad/vad.cjs WAV --json. Prints precision, recall and F1 per\n"+
			"clip and pooled over all clips (counts summed), and the onset latency: from a\n"+
			"labelled speech start to the end of the first 10 ms step the detector marks\n"+
			"speech (fusiond decides at that moment; the peers see the whole file).",
		[]string{"scripts/bench-vad.sh test", "fusiond bench vad --list .cache/vad/test.tsv --json"}, stdout)
	list := fs.String("list", "", "`FILE` of clips")
	rate := fs.Int("analysis-rate", 16000, "the analysis rate `HZ` (sync.analysis_rate_hz)")
	asJSON := fs.Bool("json", false, "print JSON")
	var vc fuse.VADConfig
	fs.Float64Var(&vc.SNRThresholdDB, "vad-snr-db", 0, "VADConfig.SNRThresholdDB (0: the default)")
	fs.Float64Var(&vc.MinHarmonicity, "vad-min-harmonicity", 0, "VADConfig.MinHarmonicity (0: the default)")
	fs.Float64Var(&vc.MaxFlatness, "vad-max-flatness", 0, "VADConfig.MaxFlatness (0: the default)")
	fs.IntVar(&vc.MinPeaks, "vad-min-peaks", 0, "VADConfig.MinPeaks (0: the default)")
	hang := fs.Duration("vad-hangover", 0, "VADConfig.HangoverNS (0: the default)")
	fs.Float64Var(&vc.UnvoicedSNRDB, "vad-unvoiced-snr-db", 0, "VADConfig.UnvoicedSNRDB (0: the default)")
	fs.Float64Var(&vc.MaxUnvoicedHarmonicity, "vad-max-unvoiced-harmonicity", 0, "VADConfig.MaxUnvoicedHarmonicity (0: the default)")
	fs.IntVar(&vc.OnsetHops, "vad-onset-hops", 0, "VADConfig.OnsetHops (0: the default)")
	confirm := fs.Duration("vad-confirm", 0, "VADConfig.ConfirmNS (0: the default)")
	maxUnvoiced := fs.Duration("vad-max-unvoiced", 0, "VADConfig.MaxUnvoicedNS (0: the default)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	vc.HangoverNS, vc.ConfirmNS, vc.MaxUnvoicedNS = int64(*hang), int64(*confirm), int64(*maxUnvoiced)
	b, err := os.ReadFile(*list)
	var clips []bench.VADClip
	if err == nil {
		clips, err = bench.ParseVADList(*list, b)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench vad: %v\n", err)
		return exitUsage
	}
	rep, err := bench.VAD(clips, *rate, vc)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench vad: %v\n", err)
		return exitRuntime
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		return exitRuntime
	}
	return exitOK
}
