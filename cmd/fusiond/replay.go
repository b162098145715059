package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks"
)

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("replay", "FILE.mcap [--config F] [--set k=v]... [--speed 1|N|max] [--loop] [--from D] [--to D]\n       [--decisions FILE] [--check GOLDEN.jsonl] [--publish]",
		"Feed a recording through the same synchroniser and fusion as `run`, losslessly, with\n"+
			"the pipeline clock driven by the recorded arrival times: the same recording gives\n"+
			"byte-identical decisions every time, and those of the live run that recorded it\n"+
			"(all fields but latency_ns). The config recorded in the file is used unless\n"+
			"--config is given, except its nats and metrics sections (network settings come\n"+
			"from the built-in config, --set and --config, never from the file); published\n"+
			"decisions are not signed. --check compares the decisions with a golden file and exits 1\n"+
			"with a readable diff when they differ.",
		[]string{
			"fusiond replay run.mcap --decisions out.jsonl",
			"fusiond replay run.mcap --check testdata/golden/run.jsonl",
			"fusiond replay run.mcap --speed 1 --publish",
			"fusiond replay run.mcap --from 10s --to 20s --set fuse.activity.audio_weight=0.2",
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
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "fusiond replay: want one recording (see 'fusiond replay --help')")
		return exitUsage
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
	opts := replayOptions{path: fs.Arg(0), speed: factor, loop: *loop, fromNS: int64(*from), toNS: int64(*to), publish: *publish}

	r, err := recording.Open(opts.path)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond replay: %v\n", err)
		return exitRuntime
	}
	cfg, err := replayConfig(r, *cfgPath, sets)
	r.Close()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond replay: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := commandContext(0)
	defer stop()

	var sinkList []sinks.Sink
	var out *decisionCollector
	if *checkPath != "" {
		out = &decisionCollector{}
		sinkList = append(sinkList, out)
	}
	if *decisionsPath != "" {
		j, err := sinks.CreateJSONL(*decisionsPath)
		if err != nil {
			log.Error("fusiond replay failed", "err", err)
			return exitRuntime
		}
		defer j.Close()
		sinkList = append(sinkList, j)
	}
	if opts.publish {
		nc, closeNATS, err := daemon.ConnectNATS(cfg.NATS, log)
		if err != nil {
			log.Error("fusiond replay failed", "err", err)
			return exitRuntime
		}
		defer closeNATS()
		sinkList = append(sinkList, sinks.NewNATSSink(nc, bootID()))
	}
	progress := newProgress(stderr)
	for {
		err := replay(ctx, cfg, opts, sinkList, progress, log, nil)
		if err != nil {
			log.Error("fusiond replay failed", "err", err)
			return exitRuntime
		}
		if !opts.loop || ctx.Err() != nil {
			break
		}
	}
	if out != nil {
		diff, err := checkGolden(*checkPath, out.lines)
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

type replayOptions struct {
	path         string
	speed        float64 // 0: as fast as possible
	loop         bool
	fromNS, toNS int64
	publish      bool
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

// replayConfig is the recorded config (or the one given), with the
// overrides, checked against the recording's streams.
func replayConfig(r *recording.Reader, path string, sets []string) (*configs.Config, error) {
	var cfg *configs.Config
	var err error
	switch recorded := r.Metadata()["config"]; {
	case path != "":
		cfg, err = configs.Load(path, sets)
	case recorded != "":
		// The recording says how it was captured and fused; where to
		// publish and listen is this machine's business (a crafted file
		// must not open listeners or dial servers): those come from the
		// built-in config and the overrides.
		cfg, err = configs.Parse("config recorded in the file", []byte(recorded), sets)
		if err == nil {
			var here *configs.Config
			if here, err = configs.Parse("", nil, sets); err == nil {
				cfg.NATS, cfg.Metrics = here.NATS, here.Metrics
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

// replay runs one pass over the recording: every sample, in the order the
// live synchroniser consumed it, through the same stages, in one goroutine,
// with the virtual clock at the sample's recorded arrival time. Stage
// stamps (and so latency_ns) come from that clock: deterministic.
// obs, when not nil, sees every message, sample and bundle.
func replay(ctx context.Context, cfg *configs.Config, opts replayOptions, sinkList []sinks.Sink, progress *progress, log *slog.Logger, obs replayObserver) error {
	r, err := recording.Open(opts.path)
	if err != nil {
		return err
	}
	defer r.Close()
	size := int64(0)
	if st, err := os.Stat(opts.path); err == nil {
		size = st.Size()
	}
	var sinkErr error
	sc := daemon.StagesConfig{Log: log, Decision: func(d *av.Decision) {
		payload, err := sinks.EncodeDecision(d)
		if err != nil {
			sinkErr = err
			return
		}
		for _, s := range sinkList {
			if err := s.WriteDecision(d, payload); err != nil && sinkErr == nil {
				sinkErr = err
			}
		}
	}}
	if obs != nil {
		sc.Bundle = obs.bundle
	}
	drv, err := daemon.NewStages(cfg, sc)
	if err != nil {
		return err
	}
	defer drv.Close()

	real := av.NewRealClock()
	var firstNS int64
	started := false
	startReal := real.Now()
	warned := map[string]bool{}
	var readErr error
	var samples int
	var lastRel, spanNS int64
	for ctx.Err() == nil {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		if obs != nil {
			obs.message(m)
		}
		s, err := r.Sample(m)
		if err != nil {
			readErr = fmt.Errorf("%s: message %d of %s: %w", opts.path, m.Seq, m.Topic, err)
			break
		}
		if s == nil {
			if m.Stream == "" && !knownTopic(m.Topic) && !warned[m.Topic] {
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
		if rel < opts.fromNS {
			s.Release()
			continue
		}
		if opts.toNS > 0 && rel >= opts.toNS {
			s.Release()
			break
		}
		if opts.speed > 0 {
			if err := real.WaitUntil(ctx, startReal+int64(float64(rel-opts.fromNS)/opts.speed)); err != nil {
				s.Release()
				break
			}
		}
		if obs != nil {
			obs.sample(s)
		}
		drv.Push(s)
		samples++
		lastRel = rel
		progress.update(r.Offset(), size, rel, real.Now()-startReal)
		if sinkErr != nil {
			break
		}
	}
	drv.Flush()
	progress.done(samples, lastRel-opts.fromNS, real.Now()-startReal)
	if sinkErr != nil {
		return sinkErr
	}
	if readErr != nil {
		return fmt.Errorf("replayed %d samples before the error: %w", samples, readErr)
	}
	if samples == 0 && ctx.Err() == nil {
		switch {
		case opts.fromNS > 0:
			return fmt.Errorf("%w: --from %v is past the end of %s (its samples span %v)", errNothingReplayed, time.Duration(opts.fromNS), opts.path, time.Duration(spanNS))
		case opts.loop:
			return fmt.Errorf("%w: %s holds no samples to loop over", errNothingReplayed, opts.path)
		}
	}
	for _, d := range drv.Drops() {
		log.Warn("samples dropped in replay", "stream", d.Stream, "reason", d.Reason, "count", d.Count)
	}
	return nil
}

// errNothingReplayed is returned when a pass replays no sample although
// --from or --loop asked for some.
var errNothingReplayed = errors.New("nothing to replay")

func knownTopic(topic string) bool {
	return topic == recording.TopicDecisions || topic == recording.TopicStatus || topic == recording.TopicAudioIndex
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
	lastPct  int
	lastDraw int64
}

func newProgress(w io.Writer) *progress { return &progress{w: w, terminal: isTerminal(w), lastPct: -1} }

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

// checkGolden compares decisions with a golden JSONL file, ignoring
// latency_ns, and returns a readable diff ("" when they match).
func checkGolden(path string, got []string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("golden file: %w", err)
	}
	want := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(data) == 0 {
		want = nil
	}
	var b strings.Builder
	shown := 0
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		d, err := diffDecision(w, g)
		if err != nil {
			return "", fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		if d == "" {
			continue
		}
		if shown < 10 {
			fmt.Fprintf(&b, "decision %d:\n%s", i+1, d)
		}
		shown++
	}
	if shown == 0 {
		return "", nil
	}
	fmt.Fprintf(&b, "%d of %d decisions differ from %s (golden has %d, replay produced %d)\n", shown, max(len(want), len(got)), path, len(want), len(got))
	return b.String(), nil
}

// diffDecision compares two encoded decisions field by field, ignoring
// latency_ns (the one field that depends on the machine's speed), and says
// how they differ ("" when they do not). Either may be "" (missing).
func diffDecision(want, got string) (string, error) {
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

// bootID tells this run's message ids from those of earlier runs.
func bootID() string { return strings.ToLower(rand.Text()[:10]) }
