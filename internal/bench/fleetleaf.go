package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	gosync "sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/client"
	"github.com/seed-4c364652/fusiond/sinks/decision"
	"github.com/seed-4c364652/fusiond/sinks/fleet"
)

// ConnectNATSFunc is fusiond.ConnectNATS: the daemon's path from its NATS
// config to an embedded server and a connection. Only the commands may
// import the daemon, so they lend it.
type ConnectNATSFunc func(cfg configs.NATS, log *slog.Logger) (*nats.Conn, func(), error)

// FleetLeafConfig configures FleetLeaf.
type FleetLeafConfig struct {
	Robots int           // robots, each an embedded server joined as a leaf node
	For    time.Duration // how long each robot publishes
	// RatePerS: decisions a second each robot publishes (default 30).
	RatePerS int
	// Skip: decisions published in the first Skip are left out of the
	// lag (default For/5, at most 2s): the sources' start.
	Skip        time.Duration
	ConnectNATS ConnectNATSFunc
}

// FleetLeafRun is the result of FleetLeaf.
type FleetLeafRun struct {
	Robots    int `json:"robots"`
	RatePerS  int `json:"rate_per_s"`
	Published int `json:"published"` // decisions acked by the robots' own logs
	// Stored: decisions in FUSIOND_FLEET; Duplicates: of them, stored
	// more than once; Missing: acked by a robot, not in the hub stream.
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	Missing    int `json:"missing"`
	// StartS: hub, robots, leaf links and sources up (before publishing).
	StartS float64 `json:"start_s"`
	// DecisionsPerS: decisions stored in the hub stream per second, over
	// the steady state (after Skip until the last one stored).
	DecisionsPerS float64 `json:"decisions_per_s"`
	// LagMS: a decision stored in its robot's log → stored in
	// FUSIOND_FLEET (both servers' store times, one process, one clock),
	// those published after Skip.
	LagMS Percentiles `json:"lag_ms"`
	// CPUCores: the process's CPU (hub, robots' servers and publishers)
	// while the robots publish and the hub catches up.
	CPUCores float64 `json:"cpu_cores"`
}

// FleetLeaf starts a one-node hub (JetStream domain "hub", a leaf node
// listener) and cfg.Robots robots, each an embedded server configured
// from the daemon's config keys (its own domain, joined to the hub as a
// leaf node) keeping its decision log, the hub stream sourcing every log
// (fleet.Manager.Add). The robots publish signed decisions through the
// sinks' publish stage and JetStream sink at cfg.RatePerS each for
// cfg.For; it measures how long each takes to reach FUSIOND_FLEET.
func FleetLeaf(ctx context.Context, cfg FleetLeafConfig) (FleetLeafRun, error) {
	if cfg.RatePerS <= 0 {
		cfg.RatePerS = 30
	}
	if cfg.Skip <= 0 {
		cfg.Skip = min(cfg.For/5, 2*time.Second)
	}
	run := FleetLeafRun{Robots: cfg.Robots, RatePerS: cfg.RatePerS}
	if cfg.Robots <= 0 || cfg.For <= 0 || cfg.ConnectNATS == nil {
		return run, errors.New("bench fleet --leaf: robots and duration must be positive, and ConnectNATS set")
	}
	dir, err := os.MkdirTemp("", "fusiond-bench-fleet-leaf-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(dir)
	began := time.Now()
	hub, leafURL, err := startLeafHub(filepath.Join(dir, "hub"))
	if err != nil {
		return run, err
	}
	defer func() {
		hub.Shutdown()
		hub.WaitForShutdown()
	}()
	robots := make([]*leafRobot, cfg.Robots)
	defer func() {
		for _, r := range robots {
			if r != nil {
				r.close()
			}
		}
	}()
	for i := range robots {
		if robots[i], err = startLeafRobot(ctx, cfg.ConnectNATS, robotID(i), leafURL, filepath.Join(dir, robotID(i))); err != nil {
			return run, err
		}
	}
	if err := waitUntil(ctx, "leaf connections", func() bool { return hub.NumLeafNodes() == cfg.Robots }); err != nil {
		return run, err
	}
	hnc, err := nats.Connect(hub.ClientURL())
	if err != nil {
		return run, err
	}
	defer hnc.Close()
	m, err := fleet.New(hnc, fleet.Config{HubDomain: "hub", Replicas: 1})
	if err != nil {
		return run, err
	}
	want := make([]fleet.Robot, cfg.Robots)
	for i := range want {
		if want[i], err = fleet.ParseRobot(robotID(i)); err != nil {
			return run, err
		}
	}
	if err := m.Add(ctx, want...); err != nil {
		return run, err
	}
	hjs, err := jetstream.NewWithDomain(hnc, "hub")
	if err != nil {
		return run, err
	}
	run.StartS = time.Since(began).Seconds()

	// Paced: every robot publishes at its rate from its own goroutine.
	n := int(cfg.For) * cfg.RatePerS / int(time.Second)
	period := time.Second / time.Duration(cfg.RatePerS)
	cpu0, t0 := readProc().cpuNS, time.Now()
	var wg gosync.WaitGroup
	for _, r := range robots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.publish(ctx, t0, period, n)
		}()
	}
	wg.Wait()
	for _, r := range robots {
		if err := r.closeSink(ctx); err != nil {
			return run, err
		}
		run.Published += int(r.sink.Stats().Acked)
	}
	// The hub catches up within a minute, or the figure is its failure.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var atHub uint64
	if err := waitUntil(wctx, "the hub stream to hold every decision", func() bool {
		s, err := hjs.Stream(wctx, fleet.DefaultStream)
		if err == nil {
			atHub = s.CachedInfo().State.Msgs
		}
		return err == nil && atHub >= uint64(run.Published)
	}); err != nil {
		return run, fmt.Errorf("%d of %d decisions at the hub: %w", atHub, run.Published, err)
	}
	wall := time.Since(t0)
	run.CPUCores = float64(readProc().cpuNS-cpu0) / float64(wall)
	return run, leafLag(ctx, hjs, robots, t0.Add(cfg.Skip), &run)
}

// startLeafHub starts a one-node hub with JetStream domain "hub" and a
// leaf node listener on loopback.
func startLeafHub(dir string) (*server.Server, string, error) {
	// A free port (listened on, then closed): the server does not tell
	// its leaf node port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s, err := server.NewServer(&server.Options{ServerName: "hub", Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, JetStreamDomain: "hub", StoreDir: dir, JetStreamMaxStore: 4 << 30, JetStreamMaxMemory: 64 << 20,
		LeafNode: server.LeafNodeOpts{Host: "127.0.0.1", Port: port}})
	if err != nil {
		return nil, "", err
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, "", errors.New("hub nats-server not ready")
	}
	return s, fmt.Sprintf("nats-leaf://127.0.0.1:%d", port), nil
}

// leafRobot is a robot's daemon as far as the fleet goes (as in
// sinks/fleet's test harness): its embedded server from config, its
// decision log, a signed JetStream sink fed by the publish stage.
type leafRobot struct {
	id        string
	nc        *nats.Conn
	closeNATS func()
	sink      *sinks.JetStreamSink
	in        chan *av.Decision
	done      chan error
	closed    bool
}

func startLeafRobot(ctx context.Context, connect ConnectNATSFunc, id, leafURL, dir string) (*leafRobot, error) {
	cfg, err := configs.Parse("", nil, []string{
		"robot=" + id, "nats.embedded.listen=",
		fmt.Sprintf("nats.embedded.leaf.remotes=[%q]", leafURL),
		"nats.embedded.store_dir=" + dir,
	})
	if err != nil {
		return nil, err
	}
	nc, closeNATS, err := connect(cfg.NATS, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("robot %s: %w", id, err)
	}
	r := &leafRobot{id: id, nc: nc, closeNATS: closeNATS, in: make(chan *av.Decision, 64), done: make(chan error, 1)}
	kp, err := nkeys.CreateUser()
	if err != nil {
		r.close()
		return nil, err
	}
	signer, err := sinks.NewSigner(kp)
	if err != nil {
		r.close()
		return nil, err
	}
	ensure := func(ctx context.Context) error {
		_, err := sinks.EnsureLog(ctx, nc, "", sinks.LogConfig{Robot: id})
		return err
	}
	if err := ensure(ctx); err != nil {
		r.close()
		return nil, fmt.Errorf("robot %s: %w", id, err)
	}
	r.sink, err = sinks.NewJetStreamSink(nc, "boot1", sinks.OutboxConfig{Signer: signer, Stream: client.StreamName(id), EnsureLog: ensure})
	if err != nil {
		r.close()
		return nil, err
	}
	go func() {
		r.done <- sinks.Run(context.Background(), av.NewRealClock(), r.in, []sinks.Sink{r.sink}, av.NewDrops(), nil)
	}()
	return r, nil
}

// publish sends n decisions through the publish stage, one each period
// from start.
func (r *leafRobot) publish(ctx context.Context, start time.Time, period time.Duration, n int) {
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * period)); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		seq := uint64(i + 1)
		r.in <- &av.Decision{Decision: decision.Decision{Schema: decision.Schema, Robot: r.id, Kind: "activity",
			Seq: seq, TimeNS: time.Now().UnixNano(), Confidence: 0.5,
			Contributions: map[string]float64{"prior": 0}, Missing: []string{}, Evidence: map[string]float64{}}}
	}
}

// closeSink ends the publish stage and waits for every decision's ack.
func (r *leafRobot) closeSink(ctx context.Context) error {
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.in)
	if err := <-r.done; err != nil {
		return fmt.Errorf("robot %s: publish stage: %w", r.id, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.sink.Close(cctx); err != nil {
		return fmt.Errorf("robot %s: %w", r.id, err)
	}
	return nil
}

func (r *leafRobot) close() {
	if r.sink != nil {
		r.closeSink(context.Background()) //nolint:errcheck // closing after an error
	}
	r.closeNATS()
}

// leafLag reads every robot's log (its store times) and the hub stream
// (its own), counts what arrived once, twice or not, and the lag of the
// decisions published after steady.
func leafLag(ctx context.Context, hjs jetstream.JetStream, robots []*leafRobot, steady time.Time, run *FleetLeafRun) error {
	type key struct {
		robot string
		seq   uint64
	}
	stored := map[key]time.Time{}
	for _, r := range robots {
		js, err := jetstream.New(r.nc)
		if err != nil {
			return err
		}
		c, err := js.OrderedConsumer(ctx, client.StreamName(r.id), jetstream.OrderedConsumerConfig{})
		if err != nil {
			return fmt.Errorf("robot %s: %w", r.id, err)
		}
		if err := readAll(ctx, c, func(m jetstream.Msg, meta *jetstream.MsgMetadata) {
			if d, err := client.Decode(m.Data()); err == nil {
				stored[key{d.Robot, d.Seq}] = meta.Timestamp
			}
		}); err != nil {
			return fmt.Errorf("robot %s: %w", r.id, err)
		}
	}
	c, err := hjs.OrderedConsumer(ctx, fleet.DefaultStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	seen := map[key]bool{}
	var lags []float64
	var last time.Time
	if err := readAll(ctx, c, func(m jetstream.Msg, meta *jetstream.MsgMetadata) {
		run.Stored++
		d, err := client.Decode(m.Data())
		if err != nil {
			return
		}
		k := key{d.Robot, d.Seq}
		if seen[k] {
			run.Duplicates++
			return
		}
		seen[k] = true
		if t, ok := stored[k]; ok && !t.Before(steady) {
			lags = append(lags, float64(meta.Timestamp.Sub(t))/1e6)
			if meta.Timestamp.After(last) {
				last = meta.Timestamp
			}
		}
	}); err != nil {
		return err
	}
	for k := range stored {
		if !seen[k] {
			run.Missing++
		}
	}
	run.LagMS = percentilesOf(lags)
	if d := last.Sub(steady); len(lags) > 0 && d > 0 {
		run.DecisionsPerS = float64(len(lags)) / d.Seconds()
	}
	return nil
}

// waitUntil polls cond every 10ms until it holds or ctx ends.
func waitUntil(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// WriteFleetLeafTable prints a leaf run as a table.
func WriteFleetLeafTable(w io.Writer, r FleetLeafRun) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "leaf robots\trate/s\tpublished\tat hub\tduplicates\tmissing\tstart s\thub decisions/s\thub lag p50 ms\thub lag p99 ms\tmax ms\tcpu cores\t")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.0f\t%.1f\t%.1f\t%.1f\t%.2f\t\n", r.Robots, r.RatePerS, r.Published, r.Stored,
		r.Duplicates, r.Missing, r.StartS, r.DecisionsPerS, r.LagMS.P50, r.LagMS.P99, r.LagMS.Max, r.CPUCores)
	return tw.Flush()
}
