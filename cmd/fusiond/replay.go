package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks"
)

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("replay", "FILE.mcap [--config F] [--set k=v]... [--speed 1|N|max] [--loop] [--from D] [--to D]\n       [--decisions FILE] [--check GOLDEN.jsonl] [--publish]\n       [--foxglove ADDR]",
		"Feed a recording through the same synchroniser and fusion as `run`, losslessly, with\n"+
			"the pipeline clock driven by the recorded arrival times: the same recording gives\n"+
			"byte-identical decisions every time, and those of the live run that recorded it\n"+
			"(all fields but latency_ns). The config recorded in the file is used unless\n"+
			"--config is given, except its nats, metrics and foxglove sections (network settings come\n"+
			"from the built-in config, --set and --config, never from the file); published\n"+
			"decisions are not signed. --check compares the decisions with a golden file and exits 1\n"+
			"with a readable diff when they differ.",
		[]string{
			"fusiond replay run.mcap --decisions out.jsonl",
			"fusiond replay run.mcap --check testdata/golden/run.jsonl",
			"fusiond replay run.mcap --speed 1 --publish",
			"fusiond replay run.mcap --from 10s --to 20s --set fuse.activity.audio_weight=0.2",
			"fusiond replay run.mcap --foxglove 127.0.0.1:8765   # then open ws://127.0.0.1:8765 in Foxglove",
		}, stdout)
	cfgPath := fs.String("config", "", "config `FILE` (default: the config recorded in the file)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	speed := fs.String("speed", "max", "`1`, N (times real time) or max")
	loop := fs.Bool("loop", false, "start again at the end, until SIGINT/SIGTERM")
	from := fs.Duration("from", 0, "skip samples that arrived less than `D` after the first")
	to := fs.Duration("to", 0, "stop at samples that arrived `D` after the first (0: the end)")
	decisionsPath := fs.String("decisions", "", "write decisions to `FILE`, one JSON object per line")
	checkPath := fs.String("check", "", "compare decisions with `GOLDEN.jsonl` (all fields but latency_ns)")
	publish := fs.Bool("publish", false, "also publish decisions on NATS, as configured")
	foxAddr := fs.String("foxglove", "", "serve the replay to Foxglove as a live source on loopback `ADDR` (host:port; docs/VIEWING.md); --speed defaults to 1")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "fusiond replay: want one recording (see 'fusiond replay --help')")
		return exitUsage
	}
	speedSet := false
	fs.Visit(func(f *flag.Flag) { speedSet = speedSet || f.Name == "speed" })
	if *foxAddr != "" && !speedSet {
		*speed = "1"
	}
	factor, err := parseSpeed(*speed)
	if err != nil || *from < 0 || *to < 0 || (*to > 0 && *to <= *from) {
		fmt.Fprintf(stderr, "fusiond replay: bad --speed, --from or --to (see 'fusiond replay --help')\n")
		return exitUsage
	}
	if *decisionsPath != "" && samePath(*decisionsPath, fs.Arg(0)) {
		fmt.Fprintf(stderr, "fusiond replay: --decisions names the recording %s itself\n", fs.Arg(0))
		return exitUsage
	}
	r, err := recording.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "fusiond replay: %v\n", err)
		return exitRuntime
	}
	cfg, err := daemon.RecordedConfig(r, *cfgPath, sets)
	r.Close()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond replay: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := commandContext(0)
	defer stop()

	rc := daemon.ReplayConfig{Path: fs.Arg(0), Config: cfg, Speed: factor, FromNS: int64(*from), ToNS: int64(*to), Loop: *loop,
		Progress: newProgress(stderr, int64(*from)).show, Log: log}
	var out *decisionCollector
	if *checkPath != "" {
		out = &decisionCollector{}
		rc.Sinks = append(rc.Sinks, out)
	}
	if *decisionsPath != "" {
		j, err := sinks.CreateJSONL(*decisionsPath)
		if err != nil {
			log.Error("fusiond replay failed", "err", err)
			return exitRuntime
		}
		defer j.Close()
		rc.Sinks = append(rc.Sinks, j)
	}
	if *publish {
		nc, closeNATS, err := daemon.ConnectNATS(cfg.NATS, log)
		if err != nil {
			log.Error("fusiond replay failed", "err", err)
			return exitRuntime
		}
		defer closeNATS()
		rc.Sinks = append(rc.Sinks, sinks.NewNATSSink(nc, bootID()))
	}
	if *foxAddr != "" {
		rv, wait, err := daemon.ServeReplayView(ctx, *foxAddr, cfg, log)
		if err != nil {
			log.Error("fusiond replay failed", "err", err)
			return exitRuntime
		}
		defer func() { stop(); wait() }()
		rc.Sinks = append(rc.Sinks, rv)
		rc.MessageTap, rc.SampleTap, rc.FaceTap = rv.Message, rv.Sample, rv.Faces
	}
	if err := daemon.Replay(ctx, rc); err != nil {
		log.Error("fusiond replay failed", "err", err)
		return exitRuntime
	}
	if out != nil {
		diff, err := daemon.CheckGolden(*checkPath, out.lines)
		if err != nil {
			log.Error("fusiond replay --check failed", "err", err)
			return exitRuntime
		}
		if diff != "" {
			fmt.Fprint(stdout, diff)
			return exitRuntime
		}
		fmt.Fprintf(stdout, "replay matches %s: %d decisions\n", *checkPath, len(out.lines))
	}
	return exitOK
}

func parseSpeed(s string) (float64, error) {
	if s == "max" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "x"), 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad speed %q", s)
	}
	return f, nil
}

// decisionCollector keeps the encoded decisions of a replay for --check.
type decisionCollector struct{ lines []string }

func (c *decisionCollector) WriteDecision(d *av.Decision, payload []byte) error {
	c.lines = append(c.lines, string(payload))
	return nil
}

// progress shows how far a replay is: a bar on a terminal, a line per 10%
// otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	fromNS   int64 // --from
	lastPct  int
	lastDraw int64
}

func newProgress(w io.Writer, fromNS int64) *progress {
	return &progress{w: w, terminal: isTerminal(w), fromNS: fromNS, lastPct: -1}
}

// show is the printer's daemon.ReplayConfig.Progress.
func (p *progress) show(r daemon.ReplayProgress) {
	if r.Done {
		p.done(r.Samples, r.AtNS-p.fromNS, r.WallNS)
		return
	}
	p.update(r.Offset, r.Size, r.AtNS, r.WallNS)
}

func (p *progress) update(offset, size, recordedNS, wallNS int64) {
	if size <= 0 {
		return
	}
	pct := int(100 * offset / size)
	rate := float64(recordedNS) / float64(max(wallNS, 1))
	eta := time.Duration(float64(wallNS) * float64(size-offset) / float64(max(offset, 1)))
	if p.terminal {
		if wallNS-p.lastDraw < int64(100*time.Millisecond) && pct != 100 {
			return
		}
		p.lastDraw = wallNS
		bar := strings.Repeat("=", pct/4) + strings.Repeat(" ", 25-pct/4)
		fmt.Fprintf(p.w, "\rreplay [%s] %3d%%  %.1f s recorded  %.0f× real time  ETA %v   ", bar, pct, float64(recordedNS)/1e9, rate, eta.Round(100*time.Millisecond))
		return
	}
	if pct/10 > p.lastPct/10 || p.lastPct < 0 {
		p.lastPct = pct
		fmt.Fprintf(p.w, "replay %3d%%: %.1f s recorded, %.0f× real time\n", pct, float64(recordedNS)/1e9, rate)
	}
}

// done says what the pass replayed: recordedNS of recording in wallNS.
func (p *progress) done(samples int, recordedNS, wallNS int64) {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
	fmt.Fprintf(p.w, "replay done: %d samples, %.1f s of recording in %.2f s (%.1f× real time)\n",
		samples, float64(recordedNS)/1e9, float64(wallNS)/1e9, float64(recordedNS)/float64(max(wallNS, 1)))
}

// bootID tells this run's message ids from those of earlier runs.
func bootID() string { return strings.ToLower(rand.Text()[:10]) }
