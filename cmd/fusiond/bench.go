package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	avsync "github.com/seed-4c364652/fusiond/sync"
)

// benchCommands are the subcommands of fusiond bench.
var benchCommands = []command{
	{"sync", "run a synchroniser over a trace file; print its message rate", benchSync},
	{"trace", "generate a synthetic trace (scenarios: fusiond bench trace --list)", benchTrace},
	{"drift", "measure the audio clock estimator against a simulated drifting device", benchDrift},
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
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench trace: %v\n", err)
			return exitRuntime
		}
		defer f.Close()
		w = f
	}
	if _, err := tr.WriteTo(w); err != nil {
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
	f, err := os.Open(*tracePath)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench sync: %v\n", err)
		return exitUsage
	}
	tr, err := avsync.ParseTrace(bufio.NewReaderSize(f, 1<<20))
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench sync: %s: %v\n", *tracePath, err)
		return exitUsage
	}
	var run func(w *bufio.Writer) (sets uint64, extra string, err error)
	switch *policy {
	case "approximate":
		cfg := avsync.ApproxConfig{Streams: tr.Streams, QueueSize: *queue, AgePenalty: *age,
			MaxIntervalNS: int64(*maxIvl), LearnLowerBounds: *learn}
		run = func(w *bufio.Writer) (uint64, string, error) { return benchApprox(tr, cfg, w) }
	case "exact":
		cfg := avsync.ExactConfig{Streams: tr.Streams, QueueSize: *queue}
		run = func(w *bufio.Writer) (uint64, string, error) { return benchExact(tr, cfg, w) }
	case "window":
		run = func(w *bufio.Writer) (uint64, string, error) {
			return benchWindow(tr, int64(*before), int64(*after), w)
		}
	default:
		fmt.Fprintf(stderr, "fusiond bench sync: unknown policy %q (want approximate, window or exact)\n", *policy)
		return exitUsage
	}
	clock := av.NewRealClock()
	var best float64
	var sets uint64
	var extra string
	for i := range max(1, *repeat) {
		var w *bufio.Writer
		var out *os.File
		if *setsPath != "" && i == 0 {
			if out, err = os.Create(*setsPath); err != nil {
				fmt.Fprintf(stderr, "fusiond bench sync: %v\n", err)
				return exitRuntime
			}
			w = bufio.NewWriterSize(out, 1<<16)
		}
		start := clock.Now()
		sets, extra, err = run(w)
		if err == nil && w != nil {
			err = w.Flush()
		}
		sec := float64(clock.Now()-start) / 1e9
		if out != nil {
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench sync: %v\n", err)
			return exitUsage
		}
		if i == 0 || sec < best {
			best = sec
		}
	}
	n := len(tr.Events)
	fmt.Fprintf(stdout, "fusiond=%s policy=%s messages=%d sets=%d seconds=%.6f rate=%.0f%s\n",
		strings.TrimSpace(versionOrDev()), *policy, n, sets, best, float64(n)/best, extra)
	return exitOK
}

func versionOrDev() string {
	v, _ := buildVersion()
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}

func benchApprox(tr *avsync.Trace, cfg avsync.ApproxConfig, w *bufio.Writer) (uint64, string, error) {
	var buf []byte
	emit := func(set []avsync.Member) {}
	if w != nil {
		buf = make([]byte, 0, 256)
		emit = func(set []avsync.Member) {
			buf = avsync.AppendSet(buf[:0], set)
			w.Write(buf)
		}
	}
	a, err := avsync.NewApprox(cfg, emit, nil)
	if err != nil {
		return 0, "", err
	}
	for i, ev := range tr.Events {
		a.Add(ev.Stream, avsync.Member{TimeNS: ev.TimeNS, ID: uint64(i)})
	}
	var dropped uint64
	for i := range tr.Streams {
		dropped += a.Dropped(i)
	}
	return a.Sets(), fmt.Sprintf(" dropped=%d", dropped), nil
}

func benchExact(tr *avsync.Trace, cfg avsync.ExactConfig, w *bufio.Writer) (uint64, string, error) {
	var buf []byte
	emit := func(set []avsync.Member) {}
	if w != nil {
		buf = make([]byte, 0, 256)
		emit = func(set []avsync.Member) {
			buf = avsync.AppendSet(buf[:0], set)
			w.Write(buf)
		}
	}
	x, err := avsync.NewExact(cfg, emit, nil)
	if err != nil {
		return 0, "", err
	}
	for i, ev := range tr.Events {
		x.Add(ev.Stream, avsync.Member{TimeNS: ev.TimeNS, ID: uint64(i)})
	}
	return x.Sets(), "", nil
}

func benchWindow(tr *avsync.Trace, beforeNS, afterNS int64, w *bufio.Writer) (uint64, string, error) {
	return 0, "", fmt.Errorf("window policy: not yet")
}

func benchDrift(args []string, stdout, stderr io.Writer) int { return exitUsage }
