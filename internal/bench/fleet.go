package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	gosync "sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/offload"
	"github.com/seed-4c364652/fusiond/fuse/offload/offloadtest"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/client"
	"github.com/seed-4c364652/fusiond/sinks/worker"
)

// FleetConfig configures Fleet.
type FleetConfig struct {
	Robots  int           // simulated offloaded robots
	For     time.Duration // how long each robot publishes, at 30 bundles a second
	Workers []int         // a run per worker count
}

// FleetRun is one run of Fleet.
type FleetRun struct {
	Workers   int     `json:"workers"`
	Robots    int     `json:"robots"`
	Ticks     int     `json:"ticks"`
	Decisions int     `json:"decisions"`
	WallS     float64 `json:"wall_s"` // first tick published → last decision stored
	// DecisionsPerS: decisions stored per second of the run; DrainPerS:
	// decisions per second the workers made from a backlog of
	// DrainRounds times the run's bundles (their throughput, from 10% to
	// 90% of the backlog stored, so without the workers' start).
	DecisionsPerS  float64 `json:"decisions_per_s"`
	DrainPerS      float64 `json:"drain_decisions_per_s"`
	DrainTicksPerS float64 `json:"drain_ticks_per_s"` // the same, in feature bundles
	// LagMS: a feature bundle stored in the work stream → its decisions
	// stored (server times), paced, after the first second (the workers
	// find the robots when their first bundles arrive).
	LagMS Percentiles `json:"lag_ms"`
	// CPUCores: the process's CPU (nats-server, robots and workers, all
	// in process) over the paced run's wall time; DrainCPUCores, over
	// the drain.
	CPUCores      float64 `json:"cpu_cores"`
	DrainCPUCores float64 `json:"drain_cpu_cores"`
}

// DrainRounds is how many times over the drain backlog holds the paced
// run's bundles.
const DrainRounds = 10

// Fleet simulates cfg.Robots offloaded robots publishing feature bundles
// of synthetic scenes in real time into a one-node hub, and for each
// worker count runs that many fusion workers (in process, each with its
// own connection): paced, it measures the hub lag and the decision rate;
// then, with the whole run's bundles waiting, how fast the workers drain
// them.
func Fleet(ctx context.Context, cfg FleetConfig) ([]FleetRun, error) {
	if cfg.Robots <= 0 || cfg.For <= 0 || len(cfg.Workers) == 0 {
		return nil, errors.New("bench fleet: robots, duration and worker counts must be positive")
	}
	frames := int(cfg.For / (33 * time.Millisecond))
	ticks := make([][]fuse.Tick, cfg.Robots)
	for i := range ticks {
		var err error
		ticks[i], err = offloadtest.Ticks(offloadtest.Config(robotID(i)), offloadtest.Scene(uint64(i+1), 0, frames))
		if err != nil {
			return nil, err
		}
	}
	var runs []FleetRun
	for _, k := range cfg.Workers {
		r, err := fleetRun(ctx, k, ticks)
		if err != nil {
			return runs, fmt.Errorf("%d workers: %w", k, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

func robotID(i int) string { return fmt.Sprintf("r%03d", i+1) }

// hub is a one-node JetStream server in a temporary directory.
type hub struct {
	srv *server.Server
	dir string
}

func startHub() (*hub, error) {
	dir, err := os.MkdirTemp("", "fusiond-bench-fleet-")
	if err != nil {
		return nil, err
	}
	s, err := server.NewServer(&server.Options{ServerName: "hub", Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, StoreDir: dir, JetStreamMaxStore: 4 << 30, JetStreamMaxMemory: 64 << 20})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		os.RemoveAll(dir)
		return nil, errors.New("nats-server not ready")
	}
	return &hub{srv: s, dir: dir}, nil
}

func (h *hub) close() {
	h.srv.Shutdown()
	h.srv.WaitForShutdown()
	os.RemoveAll(h.dir)
}

// fleetRun is a paced run and a drain with k workers.
func fleetRun(ctx context.Context, k int, ticks [][]fuse.Tick) (FleetRun, error) {
	run := FleetRun{Workers: k, Robots: len(ticks)}
	h, err := startHub()
	if err != nil {
		return run, err
	}
	defer h.close()
	nc, err := nats.Connect(h.srv.ClientURL())
	if err != nil {
		return run, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return run, err
	}
	for i := range ticks {
		run.Ticks += len(ticks[i])
		if _, err := worker.EnsureTickStream(ctx, js, robotID(i), 0); err != nil {
			return run, err
		}
		if err := worker.AddRobot(ctx, js, robotID(i), ""); err != nil {
			return run, err
		}
	}
	var want int
	for i := range ticks {
		ds, err := offloadDecisions(robotID(i), ticks[i])
		if err != nil {
			return run, err
		}
		want += ds
	}
	run.Decisions = want

	// Paced: robots publish in real time while k workers fuse.
	stopWorkers, err := startWorkers(ctx, h.srv.ClientURL(), k, "paced")
	if err != nil {
		return run, err
	}
	cpu0, t0 := readProc().cpuNS, time.Now()
	if err := publishPaced(ctx, js, ticks, "paced"); err != nil {
		stopWorkers()
		return run, err
	}
	if err := waitStored(ctx, js, want); err != nil {
		stopWorkers()
		return run, err
	}
	wall := time.Since(t0)
	run.WallS = wall.Seconds()
	run.CPUCores = float64(readProc().cpuNS-cpu0) / float64(wall)
	run.DecisionsPerS = float64(want) / wall.Seconds()
	stopWorkers()
	if run.LagMS, err = hubLag(ctx, js); err != nil {
		return run, err
	}

	// Drain: more boots of every robot, all published first.
	var wg gosync.WaitGroup
	errs := make([]error, len(ticks))
	for i := range ticks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range DrainRounds {
				off := worker.NewOffloader(ctx, js, robotID(i), fmt.Sprintf("drain%d", b), 0)
				for j := range ticks[i] {
					off.Offload(&ticks[i][j])
				}
				if errs[i] = off.Err(); errs[i] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return run, err
	}
	stopWorkers, err = startWorkers(ctx, h.srv.ClientURL(), k, "drain")
	if err != nil {
		return run, err
	}
	defer stopWorkers()
	var t10, t90 time.Time
	var cpu10 int64
	backlog := DrainRounds * want
	err = waitFor(ctx, js, want+backlog, func(n int) {
		switch {
		case t10.IsZero() && n >= want+backlog/10:
			t10, cpu10 = time.Now(), readProc().cpuNS
		case t90.IsZero() && n >= want+backlog*9/10:
			t90 = time.Now()
			d := t90.Sub(t10)
			run.DrainPerS = float64(backlog*8/10) / d.Seconds()
			run.DrainTicksPerS = run.DrainPerS * float64(run.Ticks) / float64(want)
			run.DrainCPUCores = float64(readProc().cpuNS-cpu10) / float64(d)
		}
	})
	return run, err
}

// offloadDecisions counts the decisions a robot's ticks make.
func offloadDecisions(robot string, ticks []fuse.Tick) (int, error) {
	f, err := fuse.NewFusion(robot, offloadtest.Decide(), nil)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range ticks {
		f.Apply(&ticks[i], func(*av.Decision) { n++ })
	}
	return n, nil
}

// startWorkers runs k workers, each with its own connection; the
// returned function stops them and waits.
func startWorkers(ctx context.Context, url string, k int, tag string) (func(), error) {
	wctx, cancel := context.WithCancel(ctx)
	var wg gosync.WaitGroup
	var conns []*nats.Conn
	stop := func() {
		cancel()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	}
	for i := range k {
		c, err := nats.Connect(url)
		if err != nil {
			stop()
			return nil, err
		}
		conns = append(conns, c)
		w, err := worker.New(wctx, c, worker.Config{ID: fmt.Sprintf("%s-w%d", tag, i+1), Decide: offloadtest.Decide(),
			LeaseTTL: 3 * time.Second, CheckpointEvery: 100, ScanInterval: 100 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			stop()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(wctx) //nolint:errcheck // Run returns nil at the end of wctx
		}()
	}
	return stop, nil
}

// publishPaced publishes every robot's ticks at their capture times from
// now, each robot from its own goroutine.
func publishPaced(ctx context.Context, js jetstream.JetStream, ticks [][]fuse.Tick, boot string) error {
	start := time.Now()
	errs := make([]error, len(ticks))
	var wg gosync.WaitGroup
	for i := range ticks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := worker.NewOffloader(ctx, js, robotID(i), boot, 0)
			for j := range ticks[i] {
				due := start.Add(time.Duration(ticks[i][j].TimeNS))
				if d := time.Until(due); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				off.Offload(&ticks[i][j])
			}
			errs[i] = off.Err()
		}()
	}
	wg.Wait()
	return errors.Join(append(errs, ctx.Err())...)
}

// waitStored waits until the decision stream holds n decisions.
func waitStored(ctx context.Context, js jetstream.JetStream, n int) error {
	return waitFor(ctx, js, n, nil)
}

// waitFor waits until the decision stream holds n decisions, telling
// seen, when set, each count it polled.
func waitFor(ctx context.Context, js jetstream.JetStream, n int, seen func(int)) error {
	for {
		s, err := js.Stream(ctx, worker.DecisionStream)
		if err != nil {
			return err
		}
		if seen != nil {
			seen(int(s.CachedInfo().State.Msgs))
		}
		if s.CachedInfo().State.Msgs >= uint64(n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d decisions stored: %w", s.CachedInfo().State.Msgs, n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// hubLag reads, per robot, the work stream's store time of each tick and
// the decision stream's of each decision; a decision's lag is from the
// tick of its capture time.
func hubLag(ctx context.Context, js jetstream.JetStream) (Percentiles, error) {
	stored := map[string]time.Time{} // robot/time_ns → the tick's store time
	work, err := js.OrderedConsumer(ctx, worker.WorkStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return Percentiles{}, err
	}
	if err := readAll(ctx, work, func(m jetstream.Msg, meta *jetstream.MsgMetadata) {
		if b, err := offload.Decode(m.Data()); err == nil {
			stored[fmt.Sprint(b.Robot, "/", b.Tick.TimeNS)] = meta.Timestamp
		}
	}); err != nil {
		return Percentiles{}, err
	}
	var lags []float64
	dec, err := js.OrderedConsumer(ctx, worker.DecisionStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return Percentiles{}, err
	}
	err = readAll(ctx, dec, func(m jetstream.Msg, meta *jetstream.MsgMetadata) {
		d, err := client.Decode(m.Data())
		if err != nil {
			return
		}
		if t, ok := stored[fmt.Sprint(d.Robot, "/", d.TimeNS)]; ok && d.TimeNS >= int64(time.Second) {
			lags = append(lags, float64(meta.Timestamp.Sub(t))/1e6)
		}
	})
	return percentilesOf(lags), err
}

// readAll reads a consumer's messages until none is pending.
func readAll(ctx context.Context, c jetstream.Consumer, f func(jetstream.Msg, *jetstream.MsgMetadata)) error {
	for {
		batch, err := c.FetchNoWait(1000)
		if err != nil {
			return err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return err
			}
			f(m, meta)
			if meta.NumPending == 0 {
				return nil
			}
		}
		if err := batch.Error(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// ParseCounts reads worker counts, comma-separated ("1,2,4").
func ParseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want positive counts, comma-separated", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// WriteFleetTable prints runs as a table.
func WriteFleetTable(w io.Writer, runs []FleetRun) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workers\trobots\tticks\tdecisions\tdecisions/s\tlag p50 ms\tlag p99 ms\tcpu cores\tdrain decisions/s\tdrain ticks/s\tdrain cpu cores\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.2f\t%.0f\t%.0f\t%.2f\t\n", r.Workers, r.Robots, r.Ticks, r.Decisions,
			r.DecisionsPerS, r.LagMS.P50, r.LagMS.P99, r.CPUCores, r.DrainPerS, r.DrainTicksPerS, r.DrainCPUCores)
	}
	return tw.Flush()
}
