package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"time"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
	"github.com/seed-4c364652/fusiond/internal/plot"
	"github.com/seed-4c364652/fusiond/sinks"
)

// benchE2E is `fusiond bench e2e`: the whole daemon (sources, sync, fuse,
// the configured NATS sink with its embedded server) paced at real time and
// at maximum speed, with the limits of the machine measured beside it in
// the same run.
func benchE2E(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench e2e", "[--config FILE | FILE.mcap] [--cameras N] [--for DURATION] [--media DURATION] [--scaling] [--json FILE] [--svg DIR]",
		"Run the full pipeline paced at real time and at maximum speed and print throughput\n"+
			"(× real time), latency percentiles per stage and end to end, CPU, peak RSS and\n"+
			"allocations per bundle; beside them, measured in the same run, the limits: the\n"+
			"source's decode (or render) rate and the NATS server's publish rate.\n"+
			"Without --config: one synthetic 640×480@30 camera and one 48 kHz stereo\n"+
			"microphone. --cameras N runs N independent pipelines (one camera and one\n"+
			"microphone each: the synchroniser fuses one of each) in one process.\n"+
			"The decision interval is set to one frame period so that every bundle is\n"+
			"published (--set fuse.decision_interval=... overrides).",
		[]string{
			"fusiond bench e2e",
			"fusiond bench e2e --cameras 4 --for 20s",
			"fusiond bench e2e --scaling --svg docs/plots",
			"fusiond bench e2e --config configs/clip-megamind.yaml",
			"fusiond bench e2e run.mcap",
		}, stdout)
	cfgPath := fs.String("config", "", "config `FILE` (default: synthetic 640×480@30 + 48 kHz stereo)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	cameras := fs.Int("cameras", 1, "run `N` pipelines side by side")
	pacedFor := fs.Duration("for", 10*time.Second, "paced run `DURATION`")
	media := fs.Duration("media", 30*time.Second, "media `DURATION` for the maximum-speed run (synthetic sources)")
	scaling := fs.Bool("scaling", false, "run at 1, 2, 4 and 8 cameras and print the scaling table")
	jsonOut := fs.String("json", "", "also write the results as JSON to `FILE`")
	svgDir := fs.String("svg", "", "write latency and scaling plots (SVG) into `DIR`")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the runs to `FILE` (go tool pprof)")
	from := fs.String("from", "", "print (and plot, with --svg) the results saved with --json in `FILE`, without running")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	mcapPath := ""
	if fs.NArg() == 1 {
		mcapPath = fs.Arg(0)
	} else if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "fusiond bench e2e: unexpected argument %q\n", fs.Arg(1))
		return exitUsage
	}
	if *cameras < 1 || *cameras > 64 {
		fmt.Fprintln(stderr, "fusiond bench e2e: --cameras must be 1..64")
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *from != "" {
		var rep e2eReport
		data, err := os.ReadFile(*from)
		if err == nil {
			err = json.Unmarshal(data, &rep)
		}
		if err == nil {
			rep.print(stdout)
			if *svgDir != "" {
				err = rep.plots(*svgDir)
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
			return exitRuntime
		}
		return exitOK
	}
	if mcapPath != "" {
		return benchE2EReplay(mcapPath, *cfgPath, sets, stdout, stderr, log)
	}
	base := []string{"nats.embedded.listen=", "metrics.listen=", "log.level=warn"}
	if *cfgPath == "" {
		base = append(base, "cameras.0.width=640", "cameras.0.height=480", "cameras.0.fps=30",
			"microphones.0.rate_hz=48000", "microphones.0.channels=2")
	}
	load := func(extra ...string) (*configs.Config, error) {
		cfg, err := sources.Load(*cfgPath, append(append(slices.Clone(base), extra...), sets...))
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(sets, func(s string) bool { return strings.HasPrefix(s, "fuse.decision_interval=") }) && len(cfg.Cameras) > 0 {
			cfg.Fuse.DecisionInterval = time.Duration(float64(time.Second) / cfg.Cameras[0].FPS)
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
		return exitUsage
	}
	report := &e2eReport{Machine: machine(), Date: time.Unix(0, av.NewRealClock().Now()).UTC().Format("2006-01-02 15:04 MST"), Command: "fusiond bench e2e " + strings.Join(args, " ")}
	counts := []int{*cameras}
	if *scaling {
		counts = []int{1, 2, 4, 8}
	}
	ctx := context.Background()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
			return exitRuntime
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
			return exitRuntime
		}
		defer pprof.StopCPUProfile()
	}
	for _, n := range counts {
		paced, err := runE2E(ctx, cfg, n, e2ePaced, int64(*pacedFor), log)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: paced run: %v\n", err)
			return exitRuntime
		}
		report.Runs = append(report.Runs, paced)
		fast, err := runE2E(ctx, cfg, n, e2eMax, int64(*media), log)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: maximum-speed run: %v\n", err)
			return exitRuntime
		}
		report.Runs = append(report.Runs, fast)
	}
	if *cpuProfile != "" {
		pprof.StopCPUProfile() // the runs only, not the limits
	}
	report.Limits = measureLimits(ctx, cfg, report, int64(*media), log)
	report.print(stdout)
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(report, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
			return exitRuntime
		}
	}
	if *svgDir != "" {
		if err := report.plots(*svgDir); err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
			return exitRuntime
		}
	}
	return exitOK
}

type e2eMode string

const (
	e2ePaced e2eMode = "paced"
	e2eMax   e2eMode = "max"
)

// e2eRun is one run's figures.
type e2eRun struct {
	Mode      e2eMode `json:"mode"`
	Cameras   int     `json:"cameras"`
	MediaS    float64 `json:"media_s"` // per pipeline
	WallS     float64 `json:"wall_s"`
	XRealTime float64 `json:"x_real_time"`
	Bundles   uint64  `json:"bundles"`
	Decisions int     `json:"decisions"`
	FramesPS  float64 `json:"frames_per_s"` // all pipelines
	// CPUCores is process CPU time over wall time (1 = one core busy).
	CPUCores     float64                `json:"cpu_cores"`
	PeakRSSMB    float64                `json:"peak_rss_mb"`
	AllocsBundle float64                `json:"allocs_per_bundle"`
	Latency      map[string]percentiles `json:"latency_ms"`
	Drops        []av.DropCount         `json:"drops,omitempty"`
	// ProcessingMS are the per-decision processing latencies (arrival of
	// the bundle that closed the decision → published), for plots.
	ProcessingMS []float64 `json:"processing_ms,omitempty"`
}

type percentiles struct {
	N                        int
	P50, P90, P99, P999, Max float64
}

func percentilesOf(ms []float64) percentiles {
	if len(ms) == 0 {
		return percentiles{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return percentiles{N: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: s[len(s)-1]}
}

// e2eCollector records, per pipeline, every bundle's stamps (between sync
// and fuse) and every decision's.
type e2eCollector struct {
	mu        gosync.Mutex
	bundles   []av.Stamps
	decisions []av.Stamps
	payload   []byte // the last decision, for the NATS limit
}

func (c *e2eCollector) WriteDecision(d *av.Decision, payload []byte) error {
	c.mu.Lock()
	c.decisions = append(c.decisions, d.Stamps)
	c.payload = payload
	c.mu.Unlock()
	return nil
}

func (c *e2eCollector) bundle(b *av.Bundle) {
	c.mu.Lock()
	c.bundles = append(c.bundles, b.Stamps)
	c.mu.Unlock()
}

// spans turns the stamps into latencies (ms) by span. "processing" is from
// the arrival of the bundle that closed a decision's interval (the decision
// could not be made before it: fuse emits an interval's decision when the
// next interval's first bundle comes) to the decision's publication.
func (c *e2eCollector) spans(out map[string][]float64) {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	bySync := make(map[int64]int, len(c.bundles))
	for i, b := range c.bundles {
		bySync[b[av.StageSync]] = i
		if b[av.StageArrival] != 0 {
			out["bundle arrival→sync"] = append(out["bundle arrival→sync"], ms(b[av.StageSync]-b[av.StageArrival]))
		}
		out["bundle capture→sync"] = append(out["bundle capture→sync"], ms(b[av.StageSync]-b[av.StageCapture]))
	}
	for _, d := range c.decisions {
		out["capture→sync"] = append(out["capture→sync"], ms(d[av.StageSync]-d[av.StageCapture]))
		out["sync→fuse"] = append(out["sync→fuse"], ms(d[av.StageFuse]-d[av.StageSync]))
		out["fuse→publish"] = append(out["fuse→publish"], ms(d[av.StagePublish]-d[av.StageFuse]))
		out["capture→publish"] = append(out["capture→publish"], ms(d[av.StagePublish]-d[av.StageCapture]))
		if d[av.StageArrival] != 0 {
			out["arrival→publish (stamped)"] = append(out["arrival→publish (stamped)"], ms(d[av.StagePublish]-d[av.StageArrival]))
		}
		if i, ok := bySync[d[av.StageSync]]; ok && i+1 < len(c.bundles) {
			closing := c.bundles[i+1][av.StageArrival]
			if closing != 0 && closing <= d[av.StagePublish] {
				out["processing"] = append(out["processing"], ms(d[av.StagePublish]-closing))
			}
		}
	}
}

// spanOrder is the order of the latency table's rows.
var spanOrder = []string{"processing", "bundle arrival→sync", "bundle capture→sync", "capture→sync", "sync→fuse", "fuse→publish", "arrival→publish (stamped)", "capture→publish"}

// genSource renders a synthetic camera and microphone as fast as it can,
// interleaved in capture order, for mediaNS of media: the maximum-speed
// run's source. Arrival times are the real clock's.
type genSource struct {
	video   *synthetic.Video
	audio   *synthetic.Audio
	frames  *av.FramePool
	chunks  *av.AudioPool
	vcfg    synthetic.VideoConfig
	acfg    synthetic.AudioConfig
	clock   av.Clock
	mediaNS int64
}

func newGenSource(cfg *configs.Config, clock av.Clock, mediaNS int64) (*genSource, error) {
	if len(cfg.Cameras) != 1 || len(cfg.Microphones) != 1 || cfg.Cameras[0].Source != "synthetic" || cfg.Microphones[0].Source != "synthetic" {
		return nil, errors.New("the maximum-speed run renders synthetic sources: the config needs one synthetic camera and one synthetic microphone (or give a FILE.mcap)")
	}
	cam, mic := cfg.Cameras[0], cfg.Microphones[0]
	vs, err := daemon.NewCameraSource(cam, clock, nil, nil) // a synthetic camera is a *synthetic.Video
	if err != nil {
		return nil, err
	}
	as, err := daemon.NewMicSource(mic, clock, nil, nil) // and a synthetic microphone a *synthetic.Audio
	if err != nil {
		return nil, err
	}
	v, a := vs.(*synthetic.Video), as.(*synthetic.Audio)
	g := &genSource{video: v, audio: a, vcfg: v.Config(), acfg: a.Config(), clock: clock, mediaNS: mediaNS}
	g.frames = av.NewFramePool(cam.Width, cam.Height, av.BGR24, 2*cfg.Pipeline.QueueCapacity+8)
	g.chunks = av.NewAudioPool(mic.RateHz, mic.Channels, g.acfg.ChunkFrames, 2*cfg.Pipeline.QueueCapacity+8)
	return g, nil
}

func (g *genSource) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	var seq, k uint64
	n, rate := int64(g.acfg.ChunkFrames), g.acfg.RateHz
	for ctx.Err() == nil {
		tf := g.video.CaptureOffsetNS(seq)
		ta := av.FramesToNS(int64(k)*n, rate)
		if tf >= g.mediaNS && ta >= g.mediaNS {
			return nil
		}
		var s av.Sample
		if tf <= ta {
			f := g.frames.Get()
			g.video.Render(seq, f)
			f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = g.vcfg.Stream, seq, startNS+tf, g.clock.Now()
			s = f
			seq++
		} else {
			c := g.chunks.Get()
			first := int64(k) * n
			g.audio.Fill(first, c.Data)
			c.Stream, c.Seq, c.FirstFrame = g.acfg.Stream, k, first
			c.CaptureNS, c.ArrivalNS = startNS+ta, g.clock.Now()
			s = c
			k++
		}
		if err := out.Send(ctx, s); err != nil {
			s.Release()
			return nil
		}
	}
	return nil
}

// procStats are the process's CPU time, allocations and peak RSS.
type procStats struct {
	cpuNS   int64
	mallocs uint64
}

func readProc() procStats {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return procStats{cpuNS: ru.Utime.Nano() + ru.Stime.Nano(), mallocs: ms.Mallocs}
}

// resetPeakRSS resets the kernel's peak RSS (VmHWM) of this process.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB is VmHWM, in MB.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// runE2E runs n daemons side by side, each with its own embedded NATS
// server, paced for durNS of real time or at maximum speed over durNS of
// media, and measures them.
func runE2E(ctx context.Context, cfg *configs.Config, n int, mode e2eMode, durNS int64, log *slog.Logger) (e2eRun, error) {
	debug.FreeOSMemory() // what earlier runs left must not count in this one's RSS
	clock := av.NewRealClock()
	cpu := startCPUSampler(clock)
	collectors := make([]*e2eCollector, n)
	daemons := make([]*daemon.Daemon, n)
	resetPeakRSS()
	before := readProc()
	startNS := clock.Now()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if mode == e2ePaced {
		runCtx, cancel = context.WithTimeout(ctx, time.Duration(durNS))
		defer cancel()
	}
	errs := make(chan error, n)
	for i := range n {
		c := *cfg
		c.Robot = fmt.Sprintf("bench%d", i)
		// A bench never touches the robot's real outbox.
		stateDir, err := os.MkdirTemp("", "fusiond-bench-state-")
		if err != nil {
			return e2eRun{}, err
		}
		defer os.RemoveAll(stateDir)
		c.StateDir = stateDir
		synthetic := allSynthetic(cfg)
		if mode == e2eMax {
			c.Pipeline.Overflow = "block" // lossless, as replay
			if !synthetic {
				// Files as fast as they decode, once.
				c.Cameras, c.Microphones = slices.Clone(c.Cameras), slices.Clone(c.Microphones)
				for j := range c.Cameras {
					c.Cameras[j].Params = c.Cameras[j].Params.Clone()
					c.Cameras[j].Params.Update("pace", false)
					c.Cameras[j].Params.Update("loop", false)
				}
				for j := range c.Microphones {
					c.Microphones[j].Params = c.Microphones[j].Params.Clone()
					c.Microphones[j].Params.Update("pace", false)
					c.Microphones[j].Params.Update("loop", false)
				}
			}
		}
		col := &e2eCollector{}
		collectors[i] = col
		opts := []daemon.Option{daemon.WithClock(clock), daemon.WithLogger(log), daemon.WithSink(col), daemon.WithBundleTap(col.bundle)}
		if mode == e2eMax && synthetic {
			// One source renders the camera and the microphone, as
			// fast as it can, in place of the configured two.
			g, err := newGenSource(&c, clock, durNS)
			if err != nil {
				return e2eRun{}, err
			}
			opts = append(opts, daemon.WithSource(c.Cameras[0].Name, g), daemon.WithSource(c.Microphones[0].Name, nil))
		}
		d, err := daemon.New(&c, opts...)
		if err != nil {
			return e2eRun{}, err
		}
		daemons[i] = d
	}
	for _, d := range daemons {
		go func() { errs <- d.Run(runCtx) }()
	}
	var firstErr error
	for range n {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	endNS := clock.Now()
	after := readProc()
	samples := cpu.stop()
	if firstErr != nil {
		return e2eRun{}, firstErr
	}
	r := e2eRun{Mode: mode, Cameras: n, PeakRSSMB: peakRSSMB(), Latency: map[string]percentiles{}}
	spans := map[string][]float64{}
	lastPublish := startNS
	for i, col := range collectors {
		col.spans(spans)
		r.Bundles += uint64(len(col.bundles))
		r.Decisions += len(col.decisions)
		for _, d := range col.decisions {
			lastPublish = max(lastPublish, d[av.StagePublish])
		}
		for _, d := range daemons[i].Drops() {
			d.Stream = av.StreamID(fmt.Sprintf("%d/%s", i, d.Stream))
			r.Drops = append(r.Drops, d)
		}
	}
	r.WallS = float64(endNS-startNS) / 1e9
	if mode == e2eMax {
		// From the first bundle's arrival to the last decision: neither
		// the daemon's start (the embedded server, JetStream) nor its
		// shutdown is work on the media.
		first := lastPublish
		for _, col := range collectors {
			if len(col.bundles) > 0 && col.bundles[0][av.StageArrival] != 0 {
				first = min(first, col.bundles[0][av.StageArrival])
			}
		}
		r.WallS = float64(lastPublish-first) / 1e9
		// CPU over that window too, from the sampler.
		if c0, c1, ok := cpuWindow(samples, first, lastPublish); ok {
			r.CPUCores = float64(c1-c0) / float64(lastPublish-first)
		}
		r.MediaS = float64(durNS) / 1e9
		if !allSynthetic(cfg) {
			r.MediaS = mediaSpan(collectors[0], cfg)
		}
	} else {
		r.MediaS = r.WallS
	}
	r.XRealTime = r.MediaS / r.WallS
	r.FramesPS = float64(r.Bundles) / r.WallS
	if r.CPUCores == 0 {
		r.CPUCores = float64(after.cpuNS-before.cpuNS) / float64(endNS-startNS)
	}
	if r.Bundles > 0 {
		r.AllocsBundle = float64(after.mallocs-before.mallocs) / float64(r.Bundles)
	}
	for k, v := range spans {
		if mode == e2eMax && strings.Contains(k, "capture") {
			continue // capture times are media time, far ahead of the clock
		}
		r.Latency[k] = percentilesOf(v)
	}
	r.ProcessingMS = spans["processing"]
	return r, nil
}

// e2eLimits are the limits measured beside the runs.
type e2eLimits struct {
	// SourceFPS is the source's own rate alone: the synthetic renderer, or
	// ffmpeg decoding the camera's file.
	SourceWhat string  `json:"source_what"`
	SourceFPS  float64 `json:"source_fps"`
	// NATSPerS is core publishes per second of a decision-sized payload on
	// an embedded server configured as the runs' (in-process connection).
	NATSPerS     float64 `json:"nats_publish_per_s"`
	PayloadBytes int     `json:"payload_bytes"`
}

func measureLimits(ctx context.Context, cfg *configs.Config, rep *e2eReport, mediaNS int64, log *slog.Logger) e2eLimits {
	var l e2eLimits
	clock := av.NewRealClock()
	if len(cfg.Cameras) == 1 && cfg.Cameras[0].Source == "file" {
		l.SourceWhat = "ffmpeg -benchmark -f null " + cfg.Cameras[0].Params.String("file")
		l.SourceFPS = ffmpegFPS(cfg.Cameras[0].Params.String("file"))
	} else if g, err := newGenSource(cfg, clock, mediaNS); err == nil {
		// The renderer alone: the synthetic "decode" limit.
		q := av.NewQueue[av.Sample]("gen", 64, av.Block, nil)
		done := make(chan struct{})
		var frames int
		go func() {
			defer close(done)
			for s := range q.C() {
				if _, ok := s.(*av.Frame); ok {
					frames++
				}
				s.Release()
			}
		}()
		t0 := clock.Now()
		_ = g.Run(ctx, q, t0)
		q.Close()
		<-done
		l.SourceWhat = "synthetic renderer alone (640×480 BGR frames + 48 kHz audio)"
		l.SourceFPS = float64(frames) / (float64(clock.Now()-t0) / 1e9)
	}
	// NATS: the same server setup, one decision-sized payload, 2 s.
	payload := make([]byte, 700)
	for i := range payload {
		payload[i] = 'x'
	}
	l.PayloadBytes = len(payload)
	nc, closeNATS, err := daemon.ConnectNATS(cfg.NATS, log)
	if err != nil {
		return l
	}
	defer closeNATS()
	subj := sinks.DecisionSubject("benchlimit", "activity")
	t0 := clock.Now()
	var nmsg int
	for clock.Now()-t0 < 2e9 {
		for range 1000 {
			_ = nc.Publish(subj, payload)
		}
		nmsg += 1000
	}
	_ = nc.Flush()
	l.NATSPerS = float64(nmsg) / (float64(clock.Now()-t0) / 1e9)
	return l
}

var ffmpegFrameRE = regexp.MustCompile(`frame=\s*(\d+)`)
var ffmpegRtimeRE = regexp.MustCompile(`rtime=([0-9.]+)s`)

// ffmpegFPS decodes path with ffmpeg -benchmark -f null and returns frames
// per second of wall time (0 if ffmpeg is missing or fails).
func ffmpegFPS(path string) float64 {
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-benchmark", "-i", path, "-an", "-f", "null", "-").CombinedOutput()
	if err != nil {
		return 0
	}
	f := ffmpegFrameRE.FindAllStringSubmatch(string(out), -1)
	r := ffmpegRtimeRE.FindStringSubmatch(string(out))
	if len(f) == 0 || r == nil {
		return 0
	}
	frames, _ := strconv.ParseFloat(f[len(f)-1][1], 64)
	rt, _ := strconv.ParseFloat(r[1], 64)
	if rt <= 0 {
		return 0
	}
	return frames / rt
}

// e2eReport is everything one bench e2e printed.
type e2eReport struct {
	Machine string    `json:"machine"`
	Date    string    `json:"date"`
	Command string    `json:"command"`
	Runs    []e2eRun  `json:"runs"`
	Limits  e2eLimits `json:"limits"`
}

func machine() string {
	model := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s/%s, %s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func (r *e2eReport) print(w io.Writer) {
	fmt.Fprintf(w, "fusiond bench e2e — %s — %s\n\n", r.Date, r.Machine)
	fmt.Fprintln(w, "| run | cameras | media s | wall s | × real time | frames/s | decisions | CPU (% of one core) | peak RSS MB | allocs/bundle | drops |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, x := range r.Runs {
		var drops uint64
		for _, d := range x.Drops {
			if d.Reason != av.DropShutdown {
				drops += d.Count
			}
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %.2f | %.1f | %.0f | %d | %.1f | %.0f | %.0f | %d |\n",
			x.Mode, x.Cameras, x.MediaS, x.WallS, x.XRealTime, x.FramesPS, x.Decisions, 100*x.CPUCores, x.PeakRSSMB, x.AllocsBundle, drops)
	}
	fmt.Fprintln(w, "\nLatency, ms (processing = arrival of the bundle that closed the decision → published):")
	for _, x := range r.Runs {
		fmt.Fprintf(w, "\n%s, %d camera(s):\n\n", x.Mode, x.Cameras)
		fmt.Fprintln(w, "| span | n | p50 | p90 | p99 | p99.9 | max |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
		for _, k := range spanOrder {
			p, ok := x.Latency[k]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f |\n", k, p.N, p.P50, p.P90, p.P99, p.P999, p.Max)
		}
	}
	l := r.Limits
	fmt.Fprintln(w, "\nLimits measured in the same run:")
	fmt.Fprintln(w, "\n| limit | rate | ours | ratio |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, x := range r.Runs {
		if x.Mode != e2eMax {
			continue
		}
		if l.SourceFPS > 0 {
			fmt.Fprintf(w, "| %s | %.0f frames/s | %.0f frames/s (max speed, %d camera(s)) | %.2f |\n", l.SourceWhat, l.SourceFPS, x.FramesPS, x.Cameras, x.FramesPS/l.SourceFPS)
		}
		if l.NATSPerS > 0 {
			fmt.Fprintf(w, "| NATS core publish, %d B, same embedded server setup | %.0f msg/s | %.0f decisions/s | %.4f |\n", l.PayloadBytes, l.NATSPerS, float64(x.Decisions)/x.WallS, float64(x.Decisions)/x.WallS/l.NATSPerS)
		}
	}
	if len(r.Runs) > 2 {
		fmt.Fprintln(w, "\nScaling (paced, each camera its own pipeline with a 48 kHz stereo microphone):")
		fmt.Fprintln(w, "\n| cameras | CPU (% of one core) | CPU per camera | processing p99 ms | peak RSS MB | max-speed × real time (per pipeline) |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
		for i := 0; i+1 < len(r.Runs); i += 2 {
			p, m := r.Runs[i], r.Runs[i+1]
			fmt.Fprintf(w, "| %d | %.1f | %.1f | %.3f | %.0f | %.1f |\n", p.Cameras, 100*p.CPUCores, 100*p.CPUCores/float64(p.Cameras), p.Latency["processing"].P99, p.PeakRSSMB, m.XRealTime)
		}
	}
}

// plots writes latency-cdf.svg (processing latency of each paced run) and,
// with more than one camera count, scaling.svg.
func (r *e2eReport) plots(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cdf := plot.Figure{Title: fmt.Sprintf("Processing latency, paced (CDF; a line that stops below 1 goes on past %g ms)", cdfCutMS),
		XLabel: "processing latency (ms)", YLabel: "fraction of decisions", YMax: 1}
	for _, x := range r.Runs {
		if x.Mode != e2ePaced || len(x.ProcessingMS) == 0 {
			continue
		}
		xs, ys := plot.CDF(x.ProcessingMS, cdfCutMS)
		cdf.Series = append(cdf.Series, plot.Series{Name: fmt.Sprintf("%d camera(s)", x.Cameras), X: xs, Y: ys})
	}
	if err := plot.WriteFile(filepath.Join(dir, "e2e-latency-cdf.svg"), cdf); err != nil {
		return err
	}
	if len(r.Runs) <= 2 {
		return nil
	}
	total, per := plot.Series{Name: "CPU, all pipelines"}, plot.Series{Name: "CPU per camera"}
	for i := 0; i+1 < len(r.Runs); i += 2 {
		p := r.Runs[i]
		total.X, total.Y = append(total.X, float64(p.Cameras)), append(total.Y, 100*p.CPUCores)
		per.X, per.Y = append(per.X, float64(p.Cameras)), append(per.Y, 100*p.CPUCores/float64(p.Cameras))
	}
	return plot.WriteFile(filepath.Join(dir, "e2e-scaling.svg"), plot.Figure{
		Title:  "Scaling, paced: one 640×480@30 camera + 48 kHz stereo mic per pipeline",
		XLabel: "cameras (pipelines)", YLabel: "CPU (% of one core)",
		Series: []plot.Series{total, per}, LegendTopLeft: true, Points: true})
}

// cdfCutMS bounds the latency plot's x axis: the target is 10 ms.
const cdfCutMS = 20.0

// benchE2EReplay is bench e2e on a recording: the replay at maximum speed
// (the same stages, one goroutine, the recorded arrival times) beside the
// recording's read-and-decode rate alone.
func benchE2EReplay(path, cfgPath string, sets []string, stdout, stderr io.Writer, log *slog.Logger) int {
	r, err := recording.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
		return exitUsage
	}
	cfg, err := replayConfig(r, cfgPath, sets)
	r.Close()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
		return exitUsage
	}
	clock := av.NewRealClock()
	// The limit: read and decode every sample, nothing else.
	t0 := clock.Now()
	var frames int
	var firstNS, lastNS int64
	if r, err = recording.Open(path); err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
		return exitRuntime
	}
	for {
		m, err := r.Next()
		if err != nil {
			break
		}
		s, err := r.Sample(m)
		if err != nil || s == nil {
			continue
		}
		if _, ok := s.(*av.Frame); ok {
			frames++
		}
		if firstNS == 0 {
			firstNS = s.SampleMeta().ArrivalNS
		}
		lastNS = s.SampleMeta().ArrivalNS
		s.Release()
	}
	r.Close()
	readS := float64(clock.Now()-t0) / 1e9
	mediaS := float64(lastNS-firstNS) / 1e9

	col := &e2eCollector{}
	runtime.GC()
	resetPeakRSS()
	before := readProc()
	t1 := clock.Now()
	err = replay(context.Background(), cfg, replayOptions{path: path}, []sinks.Sink{col}, newProgress(io.Discard), log, nil)
	wall := float64(clock.Now()-t1) / 1e9
	after := readProc()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: replay: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "fusiond bench e2e %s — %s\n\n", path, machine())
	fmt.Fprintln(stdout, "| run | media s | wall s | × real time | frames/s | decisions | CPU (% of one core) | peak RSS MB | allocs/frame |")
	fmt.Fprintln(stdout, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	fmt.Fprintf(stdout, "| replay, max speed | %.1f | %.2f | %.1f | %.0f | %d | %.1f | %.0f | %.0f |\n", mediaS, wall, mediaS/wall, float64(frames)/wall,
		len(col.decisions), 100*float64(after.cpuNS-before.cpuNS)/(wall*1e9), peakRSSMB(), float64(after.mallocs-before.mallocs)/float64(max(frames, 1)))
	fmt.Fprintf(stdout, "| limit: read + decode the recording alone | %.1f | %.2f | %.1f | %.0f | | | | |\n", mediaS, readS, mediaS/readS, float64(frames)/readS)
	fmt.Fprintf(stdout, "\nratio (replay / read alone): %.2f\n", readS/wall)
	fmt.Fprintln(stdout, "Latencies in a replay come from the virtual clock (recorded arrival times) and are not measured here.")
	return exitOK
}

// allSynthetic reports whether every source of cfg is synthetic.
func allSynthetic(cfg *configs.Config) bool {
	for _, c := range cfg.Cameras {
		if c.Source != "synthetic" {
			return false
		}
	}
	for _, m := range cfg.Microphones {
		if m.Source != "synthetic" {
			return false
		}
	}
	return true
}

// mediaSpan is the capture time the bundles of one pipeline covered, s.
func mediaSpan(c *e2eCollector, cfg *configs.Config) float64 {
	if len(c.bundles) == 0 {
		return 0
	}
	lo, hi := c.bundles[0][av.StageCapture], c.bundles[0][av.StageCapture]
	for _, b := range c.bundles {
		lo, hi = min(lo, b[av.StageCapture]), max(hi, b[av.StageCapture])
	}
	period := 0.0
	if len(cfg.Cameras) > 0 {
		period = 1 / cfg.Cameras[0].FPS
	}
	return float64(hi-lo)/1e9 + period
}

// cpuSampler reads the process's CPU time every 10 ms, so that a run's CPU
// use can be taken over its working window alone.
type cpuSampler struct {
	stopOnce func()
	done     chan []cpuSample
}

type cpuSample struct{ atNS, cpuNS int64 }

func startCPUSampler(clock av.Clock) *cpuSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &cpuSampler{stopOnce: cancel, done: make(chan []cpuSample, 1)}
	go func() {
		var out []cpuSample
		next := clock.Now()
		for {
			var ru syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			out = append(out, cpuSample{clock.Now(), ru.Utime.Nano() + ru.Stime.Nano()})
			next += 10e6
			if clock.WaitUntil(ctx, next) != nil {
				s.done <- out
				return
			}
		}
	}()
	return s
}

func (s *cpuSampler) stop() []cpuSample {
	s.stopOnce()
	return <-s.done
}

// cpuWindow returns the CPU time at the samples nearest fromNS and toNS.
func cpuWindow(samples []cpuSample, fromNS, toNS int64) (int64, int64, bool) {
	if len(samples) < 2 || toNS <= fromNS {
		return 0, 0, false
	}
	at := func(t int64) int64 {
		best := samples[0]
		for _, x := range samples {
			if x.atNS <= t {
				best = x
			}
		}
		return best.cpuNS
	}
	return at(fromNS), at(toNS), true
}
