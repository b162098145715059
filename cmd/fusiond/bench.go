package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
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
	{"vad", "score the voice activity detector on labelled speech, beside Silero and WebRTC VAD (bench_vad.go)", benchVAD},
	{"e2e", "run the whole pipeline paced and at maximum speed, beside the machine's limits (bench_e2e.go)", benchE2E},
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
		if *maxWait > 0 {
			scfg := avsync.ApproxSyncConfig{ApproxConfig: cfg, MaxWaitNS: int64(*maxWait)}
			run = func(w *bufio.Writer) (uint64, string, error) { return benchApproxSync(tr, scfg, w) }
		}
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

// benchApproxSync is benchApprox with deadlines; a missing member is
// written as "-".
func benchApproxSync(tr *avsync.Trace, cfg avsync.ApproxSyncConfig, w *bufio.Writer) (uint64, string, error) {
	buf := make([]byte, 0, 256)
	emit := func(set []avsync.Member, missing uint16) {
		if w == nil {
			return
		}
		buf = append(buf[:0], "set"...)
		for i, m := range set {
			if missing&(1<<i) != 0 {
				buf = append(buf, " -"...)
				continue
			}
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, m.TimeNS, 10)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	s, err := avsync.NewApproxSync(cfg, emit, nil)
	if err != nil {
		return 0, "", err
	}
	var now int64
	for i, ev := range tr.Events {
		now = max(now, ev.TimeNS)
		s.Add(ev.Stream, avsync.Member{TimeNS: ev.TimeNS, ID: uint64(i)}, now)
	}
	all, partial := s.Sets()
	return all, fmt.Sprintf(" partial=%d rebuilds=%d", partial, s.Rebuilds()), nil
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

// benchWindow runs the window policy over a trace: stream 0 triggers
// (frames), stream 1 is 48 kHz stereo audio whose chunks start at the
// trace's timestamps (a chunk runs to the next one, at most 100 ms).
// Arrival time is the latest timestamp seen. Samples are made before the
// clock starts; audio buffers are reused, as pooled buffers would be.
func benchWindow(tr *avsync.Trace, beforeNS, afterNS int64, w *bufio.Writer) (uint64, string, error) {
	const rateHz, channels = 48000, 2
	type ev struct {
		stream     int
		t, arrival int64
		first      int64
		frames     int
	}
	evs := make([]ev, len(tr.Events))
	var arrival, originNS int64
	lastAudio := -1
	maxFrames := 480
	// A chunk's first frame is its timestamp's frame count from the first
	// chunk; it runs to the next chunk's first frame (at most 100 ms).
	for i, e := range tr.Events {
		arrival = max(arrival, e.TimeNS)
		evs[i] = ev{stream: e.Stream, t: e.TimeNS, arrival: arrival}
		if e.Stream != 1 {
			continue
		}
		if lastAudio < 0 {
			originNS = e.TimeNS
		}
		evs[i].first = av.NSToFrames(e.TimeNS-originNS, rateHz)
		evs[i].frames = 480
		if lastAudio >= 0 {
			p := &evs[lastAudio]
			p.frames = int(min(max(evs[i].first-p.first, 1), rateHz/10))
			maxFrames = max(maxFrames, p.frames)
		}
		lastAudio = i
	}
	drops := av.NewDrops()
	s, err := avsync.NewFrameSync(avsync.Config{Video: "cam", FramePeriodNS: 33333333, Audio: "mic", AudioRateHz: rateHz,
		AudioChannels: channels, AudioWindowNS: beforeNS, AudioAfterNS: afterNS, MaxWaitNS: 200e6,
		MinAudioCoverage: 0.5, PendingFrames: 16}, drops)
	if err != nil {
		return 0, "", err
	}
	chunk := &av.AudioChunk{RateHz: rateHz, Channels: channels, Data: make([]float32, maxFrames*channels)}
	chunk.Stream = "mic"
	frames := make([]av.Frame, 64)
	var bundles, covered, total uint64
	var buf []byte
	emit := func(b *av.Bundle) {
		bundles++
		covered += uint64(b.Audio.Covered)
		total += uint64(b.Audio.Frames())
		if w != nil {
			buf = append(buf[:0], "bundle "...)
			buf = strconv.AppendInt(buf, b.TimeNS, 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, b.Audio.StartNS, 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(b.Audio.Covered), 10)
			buf = append(buf, '/')
			buf = strconv.AppendInt(buf, int64(b.Audio.Frames()), 10)
			for _, m := range b.Missing {
				buf = append(buf, " missing="...)
				buf = append(buf, m...)
			}
			buf = append(buf, '\n')
			w.Write(buf)
		}
		b.Release()
	}
	var audioSamples uint64
	var nextFirst int64
	nf := 0
	for _, e := range evs {
		switch e.stream {
		case 0:
			f := &frames[nf%len(frames)]
			nf++
			f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = "cam", uint64(nf), e.t, e.arrival
			s.Push(f, emit)
		case 1:
			if e.first < nextFirst { // jitter made it overlap the last one
				e.first = nextFirst
			}
			nextFirst = e.first + int64(e.frames)
			chunk.FirstFrame, chunk.CaptureNS, chunk.ArrivalNS = e.first, e.t, e.arrival
			chunk.Data = chunk.Data[:e.frames*channels]
			audioSamples += uint64(len(chunk.Data))
			s.Push(chunk, emit)
		default:
			s.Push(&frames[nf%len(frames)], emit) // counted as an unknown stream
		}
	}
	s.Flush(emit)
	st := s.Stats()
	cov := 0.0
	if total > 0 {
		cov = float64(covered) / float64(total)
	}
	return bundles, fmt.Sprintf(" audio_samples=%d coverage=%.4f video_missing=%d audio_missing=%d deadline=%d",
		audioSamples, cov, st.VideoMissing, st.AudioMissing, st.Deadline), nil
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
