package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
	"github.com/seed-4c364652/fusiond/sinks"
)

// Source captures samples into a queue until ctx ends, as a daemon's
// sources do (fusiond.Source).
type Source interface {
	Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error
}

// Daemon is what bench e2e needs of one running daemon.
type Daemon interface {
	Run(ctx context.Context) error
	Drops() []av.DropCount
}

// NamedSource takes the place of the configured camera or microphone
// Name; a nil Source removes it (fusiond.WithSource).
type NamedSource struct {
	Name   string
	Source Source
}

// DaemonOptions are what bench e2e adds to a daemon built from a config.
type DaemonOptions struct {
	Clock     av.Clock
	Log       *slog.Logger
	Sink      sinks.Sink       // after the configured sinks
	BundleTap func(*av.Bundle) // every bundle between sync and fuse
	Sources   []NamedSource
}

// Host builds daemons for bench e2e. Only the commands may import the
// daemon (package fusiond), so cmd/fusiond lends this over fusiond.New and
// fusiond.ConnectNATS.
type Host struct {
	New         func(cfg *configs.Config, o DaemonOptions) (Daemon, error)
	ConnectNATS func(cfg configs.NATS, log *slog.Logger) (*nats.Conn, func(), error)
}

// E2EConfig loads the config of a bench e2e: cfgPath (empty: one
// synthetic 640×480@30 camera and one 48 kHz stereo microphone) with the
// sets applied, no metrics endpoint, no listening NATS port, and the
// decision interval one frame period unless sets give one.
func E2EConfig(cfgPath string, sets []string) (*configs.Config, error) {
	base := []string{"nats.embedded.listen=", "metrics.listen=", "log.level=warn"}
	if cfgPath == "" {
		base = append(base, "cameras.0.width=640", "cameras.0.height=480", "cameras.0.fps=30",
			"microphones.0.rate_hz=48000", "microphones.0.channels=2")
	}
	cfg, err := sources.Load(cfgPath, append(base, sets...))
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(sets, func(s string) bool { return strings.HasPrefix(s, "fuse.decision_interval=") }) && len(cfg.Cameras) > 0 {
		cfg.Fuse.DecisionInterval = time.Duration(float64(time.Second) / cfg.Cameras[0].FPS)
	}
	return cfg, nil
}

// E2EOptions are a bench e2e's runs.
type E2EOptions struct {
	// Cameras are the pipeline counts: each runs paced, then at maximum
	// speed.
	Cameras []int
	// PacedNS is the paced runs' real time; MediaNS the maximum-speed
	// runs' media (synthetic sources) and the source limit's.
	PacedNS, MediaNS int64
	// CPUProfile, if not nil, gets a CPU profile of the runs (not of the
	// limits).
	CPUProfile io.Writer
	Log        *slog.Logger
}

// E2E runs every count of o.Cameras paced and at maximum speed, then
// measures the limits, into rep.
func E2E(ctx context.Context, h Host, cfg *configs.Config, o E2EOptions, rep *E2EReport) error {
	if o.CPUProfile != nil {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, n := range o.Cameras {
		paced, err := runE2E(ctx, h, cfg, n, E2EPaced, o.PacedNS, o.Log)
		if err != nil {
			return fmt.Errorf("paced run: %w", err)
		}
		rep.Runs = append(rep.Runs, paced)
		fast, err := runE2E(ctx, h, cfg, n, E2EMax, o.MediaNS, o.Log)
		if err != nil {
			return fmt.Errorf("maximum-speed run: %w", err)
		}
		rep.Runs = append(rep.Runs, fast)
	}
	if o.CPUProfile != nil {
		pprof.StopCPUProfile() // the runs only, not the limits
	}
	rep.Limits = measureLimits(ctx, h, cfg, o.MediaNS, o.Log)
	return nil
}

// E2EMode is how a run is paced.
type E2EMode string

const (
	E2EPaced E2EMode = "paced"
	E2EMax   E2EMode = "max"
)

// E2ERun is one run's figures.
type E2ERun struct {
	Mode      E2EMode `json:"mode"`
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
	Latency      map[string]Percentiles `json:"latency_ms"`
	Drops        []av.DropCount         `json:"drops,omitempty"`
	// ProcessingMS are the per-decision processing latencies (arrival of
	// the bundle that closed the decision → published), for plots.
	ProcessingMS []float64 `json:"processing_ms,omitempty"`
}

// Percentiles summarise latencies, ms.
type Percentiles struct {
	N                        int
	P50, P90, P99, P999, Max float64
}

func percentilesOf(ms []float64) Percentiles {
	if len(ms) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Percentiles{N: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: s[len(s)-1]}
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

// runE2E runs n daemons side by side, each with its own embedded NATS
// server, paced for durNS of real time or at maximum speed over durNS of
// media, and measures them.
func runE2E(ctx context.Context, h Host, cfg *configs.Config, n int, mode E2EMode, durNS int64, log *slog.Logger) (E2ERun, error) {
	debug.FreeOSMemory() // what earlier runs left must not count in this one's RSS
	clock := av.NewRealClock()
	cpu := startCPUSampler(clock)
	collectors := make([]*e2eCollector, n)
	daemons := make([]Daemon, n)
	resetPeakRSS()
	before := readProc()
	startNS := clock.Now()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if mode == E2EPaced {
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
			return E2ERun{}, err
		}
		defer os.RemoveAll(stateDir)
		c.StateDir = stateDir
		synthetic := allSynthetic(cfg)
		if mode == E2EMax {
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
		o := DaemonOptions{Clock: clock, Log: log, Sink: col, BundleTap: col.bundle}
		if mode == E2EMax && synthetic {
			// One source renders the camera and the microphone, as
			// fast as it can, in place of the configured two.
			g, err := newGenSource(&c, clock, durNS)
			if err != nil {
				return E2ERun{}, err
			}
			o.Sources = []NamedSource{{c.Cameras[0].Name, g}, {c.Microphones[0].Name, nil}}
		}
		d, err := h.New(&c, o)
		if err != nil {
			return E2ERun{}, err
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
		return E2ERun{}, firstErr
	}
	r := E2ERun{Mode: mode, Cameras: n, PeakRSSMB: peakRSSMB(), Latency: map[string]Percentiles{}}
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
	if mode == E2EMax {
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
		if mode == E2EMax && strings.Contains(k, "capture") {
			continue // capture times are media time, far ahead of the clock
		}
		r.Latency[k] = percentilesOf(v)
	}
	r.ProcessingMS = spans["processing"]
	return r, nil
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
