package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
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

// E2EConfig loads a config of the user's for bench e2e (cfgPath) with
// the sets applied, no metrics endpoint and no listening NATS port
// (e2eBase), the decision interval one frame period unless sets give one.
func E2EConfig(cfgPath string, sets []string) (*configs.Config, error) {
	cfg, err := sources.Load(cfgPath, append(e2eBase(), sets...))
	if err != nil {
		return nil, err
	}
	return e2eInterval(cfg, sets), nil
}

// RobotConfig is bench e2e's robot of n cameras, all in one daemon: n
// synthetic 640×480@30 BGR cameras cam0… (each its own background, their
// yaws spread evenly around the robot, a 90° field of view) and one
// synthetic 4-channel 48 kHz microphone array (a 6.5 cm square), sync
// policy approximate (one frame per camera a set, as configs/whole-robot.yaml),
// every shipped feature on; then the sets, as E2EConfig.
func RobotConfig(n int, sets []string) (*configs.Config, error) {
	if n < 1 || n > MaxCameras {
		return nil, fmt.Errorf("cameras: %d is not 1..%d", n, MaxCameras)
	}
	var y strings.Builder
	y.WriteString("sync: {policy: approximate}\ncameras:\n")
	for i := range n {
		yaw := math.Remainder(360*float64(i)/float64(n), 360)
		fmt.Fprintf(&y, "  - {name: cam%d, source: synthetic, width: 640, height: 480, fps: 30, synthetic.seed: %d, pose: {yaw_deg: %g, hfov_deg: 90}}\n", i, i+1, yaw)
	}
	y.WriteString("microphones:\n  - name: array\n    source: synthetic\n    rate_hz: 48000\n    channels: 4\n" +
		"    geometry: [{x: -0.0325, y: 0.0325, z: 0}, {x: 0.0325, y: 0.0325, z: 0}, {x: 0.0325, y: -0.0325, z: 0}, {x: -0.0325, y: -0.0325, z: 0}]\n" +
		"fuse: {features: {audio: true, video: true}}\n")
	cfg, err := sources.Parse(fmt.Sprintf("bench-robot-%d-cameras.yaml", n), []byte(y.String()), append(e2eBase(), sets...))
	if err != nil {
		return nil, err
	}
	return e2eInterval(cfg, sets), nil
}

// E2EConfigs are the daemons of a bench e2e: the user's config (cfgPath,
// with no camera list given) or RobotConfig's robot for each count of the
// comma-separated list cameras ("1,2,4"; empty: 1).
func E2EConfigs(cfgPath, cameras string, sets []string) ([]*configs.Config, error) {
	if cfgPath != "" {
		if cameras != "" {
			return nil, errors.New("--cameras builds its own robot: give it or --config, not both")
		}
		cfg, err := E2EConfig(cfgPath, sets)
		return []*configs.Config{cfg}, err
	}
	if cameras == "" {
		cameras = "1"
	}
	var out []*configs.Config
	for _, f := range strings.Split(cameras, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--cameras %q: not a list of counts, e.g. 1,2,4", cameras)
		}
		cfg, err := RobotConfig(n, sets)
		if err != nil {
			return nil, err
		}
		out = append(out, cfg)
	}
	return out, nil
}

// MaxCameras is the most cameras RobotConfig builds.
const MaxCameras = 16

func e2eBase() []string {
	return []string{"nats.embedded.listen=", "metrics.listen=", "log.level=warn"}
}

// e2eInterval sets the decision interval to one frame period, so that
// every tick is published, unless sets give one.
func e2eInterval(cfg *configs.Config, sets []string) *configs.Config {
	if !slices.ContainsFunc(sets, func(s string) bool { return strings.HasPrefix(s, "fuse.decision_interval=") }) && len(cfg.Cameras) > 0 {
		cfg.Fuse.DecisionInterval = time.Duration(float64(time.Second) / cfg.Cameras[0].FPS)
	}
	return cfg
}

// E2EOptions are a bench e2e's runs.
type E2EOptions struct {
	// Configs are the daemons to measure, one after the other (the
	// robots of RobotConfig, or the user's config): each runs paced, then
	// at maximum speed, then its source alone.
	Configs []*configs.Config
	// PacedNS is the paced runs' real time; MediaNS the maximum-speed
	// runs' media (synthetic sources) and the source limit's.
	PacedNS, MediaNS int64
	// CPUProfile, if not nil, gets a CPU profile of the runs (not of the
	// limits).
	CPUProfile io.Writer
	Log        *slog.Logger
}

// E2E runs every config of o paced and at maximum speed, measures its
// source alone, then the NATS limit, into rep.
func E2E(ctx context.Context, h Host, o E2EOptions, rep *E2EReport) error {
	if o.CPUProfile != nil {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, cfg := range o.Configs {
		paced, err := runE2E(ctx, h, cfg, E2EPaced, o.PacedNS, o.Log)
		if err != nil {
			return fmt.Errorf("paced run, %d camera(s): %w", len(cfg.Cameras), err)
		}
		rep.Runs = append(rep.Runs, paced)
		fast, err := runE2E(ctx, h, cfg, E2EMax, o.MediaNS, o.Log)
		if err != nil {
			return fmt.Errorf("maximum-speed run, %d camera(s): %w", len(cfg.Cameras), err)
		}
		fast.SourceWhat, fast.SourceFPS = sourceLimit(ctx, cfg, o.MediaNS) // e2e_limits.go
		rep.Runs = append(rep.Runs, fast)
	}
	if o.CPUProfile != nil {
		pprof.StopCPUProfile() // the runs only, not the NATS limit
	}
	if len(o.Configs) > 0 {
		rep.Limits = measureNATS(h, o.Configs[0], o.Log)
	}
	return nil
}

// E2EMode is how a run is paced.
type E2EMode string

const (
	E2EPaced E2EMode = "paced"
	E2EMax   E2EMode = "max"
)

// E2ERun is one run's figures: one daemon of Cameras cameras and one
// microphone array.
type E2ERun struct {
	Mode      E2EMode `json:"mode"`
	Cameras   int     `json:"cameras"`
	MediaS    float64 `json:"media_s"`
	WallS     float64 `json:"wall_s"`
	XRealTime float64 `json:"x_real_time"`
	Bundles   uint64  `json:"bundles"` // ticks: one set of frames, one per camera
	Frames    uint64  `json:"frames"`
	Decisions int     `json:"decisions"`
	FramesPS  float64 `json:"frames_per_s"` // all cameras
	// CPUCores is process CPU time over wall time (1 = one core busy).
	CPUCores  float64 `json:"cpu_cores"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// Load1 is the machine's 1-minute load average at the run's end (our
	// own share included).
	Load1        float64                `json:"load_1m"`
	AllocsBundle float64                `json:"allocs_per_bundle"`
	Latency      map[string]Percentiles `json:"latency_ms"`
	Drops        []av.DropCount         `json:"drops,omitempty"`
	// TickMS are the per-tick latencies (arrival of the bundle that
	// closed the tick's decisions → the last of them published), for
	// plots.
	TickMS []float64 `json:"tick_ms,omitempty"`
	// SourceWhat and SourceFPS are, on a maximum-speed run, the limit:
	// its source alone (the synthetic renderer of the same cameras and
	// microphone, or ffmpeg decoding the camera's file), frames/s.
	SourceWhat string  `json:"source_what,omitempty"`
	SourceFPS  float64 `json:"source_fps,omitempty"`
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

// e2eCollector records every bundle's stamps (between sync and fuse),
// frame count and every decision's stamps.
type e2eCollector struct {
	mu        gosync.Mutex
	bundles   []av.Stamps
	frames    uint64
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
	for i := range b.Cameras() {
		if b.CameraFrame(i) != nil {
			c.frames++
		}
	}
	c.mu.Unlock()
}

// spans turns the stamps into latencies (ms) by span. "processing" is from
// the arrival of the bundle that closed a decision's interval (the decision
// could not be made before it: fuse emits an interval's decision when the
// next interval's first bundle comes) to the decision's publication;
// "tick" the same to the last decision that bundle closed (a tick's
// decisions: one per camera, and the heard ones).
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
	tick := map[int]int64{} // closing bundle → its last decision's publication
	var ticks []int         // closing bundles, in order of their first decision
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
				if _, seen := tick[i+1]; !seen {
					ticks = append(ticks, i+1)
				}
				tick[i+1] = max(tick[i+1], d[av.StagePublish])
			}
		}
	}
	for _, i := range ticks {
		out["tick"] = append(out["tick"], ms(tick[i]-c.bundles[i][av.StageArrival]))
	}
}

// runE2E runs the daemon of cfg, with its embedded NATS server, paced for
// durNS of real time or at maximum speed over durNS of media, and
// measures it.
func runE2E(ctx context.Context, h Host, cfg *configs.Config, mode E2EMode, durNS int64, log *slog.Logger) (E2ERun, error) {
	debug.FreeOSMemory() // what earlier runs left must not count in this one's RSS
	clock := av.NewRealClock()
	c := *cfg
	c.Robot = "bench"
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
	o := DaemonOptions{Clock: clock, Log: log, Sink: col, BundleTap: col.bundle}
	if mode == E2EMax && synthetic {
		// One source renders every camera and the microphone, as fast as
		// it can, in place of the configured ones.
		g, err := newGenSource(&c, clock, durNS)
		if err != nil {
			return E2ERun{}, err
		}
		o.Sources = []NamedSource{{c.Cameras[0].Name, g}}
		for _, cam := range c.Cameras[1:] {
			o.Sources = append(o.Sources, NamedSource{cam.Name, nil})
		}
		o.Sources = append(o.Sources, NamedSource{c.Microphones[0].Name, nil})
	}
	d, err := h.New(&c, o)
	if err != nil {
		return E2ERun{}, err
	}
	cpu := startCPUSampler(clock)
	resetPeakRSS()
	before := readProc()
	startNS := clock.Now()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if mode == E2EPaced || (mode == E2EMax && !synthetic && !endsAlone(cfg)) {
		// A device, a stream or a synthetic source beside others never
		// ends: its maximum-speed run stops after durNS, as a paced one.
		runCtx, cancel = context.WithTimeout(ctx, time.Duration(durNS))
		defer cancel()
	}
	err = d.Run(runCtx)
	endNS := clock.Now()
	after := readProc()
	samples := cpu.stop()
	if err != nil {
		return E2ERun{}, err
	}
	r := E2ERun{Mode: mode, Cameras: len(cfg.Cameras), PeakRSSMB: peakRSSMB(), Load1: loadAvg1(), Latency: map[string]Percentiles{},
		Bundles: uint64(len(col.bundles)), Frames: col.frames, Decisions: len(col.decisions), Drops: d.Drops()}
	spans := map[string][]float64{}
	col.spans(spans)
	r.WallS = float64(endNS-startNS) / 1e9
	if mode == E2EMax {
		// From the first bundle's arrival to the last decision: neither
		// the daemon's start (the embedded server, JetStream) nor its
		// shutdown is work on the media.
		lastPublish := startNS
		for _, d := range col.decisions {
			lastPublish = max(lastPublish, d[av.StagePublish])
		}
		first := lastPublish
		if len(col.bundles) > 0 && col.bundles[0][av.StageArrival] != 0 {
			first = col.bundles[0][av.StageArrival]
		}
		r.WallS = float64(lastPublish-first) / 1e9
		// CPU over that window too, from the sampler.
		if c0, c1, ok := cpuWindow(samples, first, lastPublish); ok {
			r.CPUCores = float64(c1-c0) / float64(lastPublish-first)
		}
		r.MediaS = float64(durNS) / 1e9
		if !synthetic {
			r.MediaS = mediaSpan(col, cfg)
		}
	} else {
		r.MediaS = r.WallS
	}
	r.XRealTime = r.MediaS / r.WallS
	r.FramesPS = float64(r.Frames) / r.WallS
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
	r.TickMS = spans["tick"]
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

// endsAlone reports whether every source of cfg ends by itself: files
// played as cameras, WAV and media files as microphones.
func endsAlone(cfg *configs.Config) bool {
	for _, c := range cfg.Cameras {
		if c.Source != "file" {
			return false
		}
	}
	for _, m := range cfg.Microphones {
		if m.Source != "wav" && m.Source != "media" {
			return false
		}
	}
	return true
}

// mediaSpan is the capture time the bundles covered, s.
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
