package worker

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/offload"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// Names of the hub's work stream and buckets.
const (
	WorkStream  = "FUSIOND_WORK"
	LeaseBucket = "FUSIOND_WORK_LEASES"
	StateBucket = "FUSIOND_WORK_STATE"
)

// Config configures a worker.
type Config struct {
	// ID names the worker in leases and logs: letters, digits, '-', '_'.
	ID string
	// Stream is the work stream; empty: WorkStream.
	Stream string
	// Domain is the JetStream domain of the work stream and the buckets
	// (the hub's); empty: the connection's own.
	Domain string
	// Decide is the fleet's decision configuration, the robots' own: the
	// decisions equal the robots' only with the same settings and model.
	Decide *fuse.DecideConfig
	// Signer signs the decisions with the worker's key; nil: unsigned.
	Signer *sinks.Signer
	// LeaseTTL: a robot whose worker stopped renewing this long is taken
	// over (the lease bucket's TTL, set by the first worker to create it).
	// Renewed every LeaseTTL/3. Default 10s.
	LeaseTTL time.Duration
	// CheckpointEvery: ticks between checkpoints. Default 100.
	CheckpointEvery int
	// ScanInterval: how often the worker looks for robots without a
	// worker and counts the live workers. Default 1s.
	ScanInterval time.Duration
	// Clock stamps the decisions' fuse and publish times (latency_ns);
	// nil: the real clock.
	Clock av.Clock
	Log   *slog.Logger
}

// Stats count a worker's work.
type Stats struct {
	Ticks      uint64 `json:"ticks"`
	Decisions  uint64 `json:"decisions"`
	Duplicates uint64 `json:"duplicates"` // decisions the stream already held (a handover replay)
	Malformed  uint64 `json:"malformed"`
	Gaps       uint64 `json:"gaps"` // ticks missing between two processed ones
	Takeovers  uint64 `json:"takeovers"`
	Robots     int    `json:"robots"`
}

// Worker makes offloaded robots' decisions.
type Worker struct {
	cfg    Config
	nc     *nats.Conn
	js     jetstream.JetStream
	leases jetstream.KeyValue
	state  jetstream.KeyValue

	mu     sync.Mutex
	robots map[string]context.CancelFunc
	wg     sync.WaitGroup

	ticks, decisions, duplicates, malformed, gaps, takeovers atomic.Uint64
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("worker: bad config")

// New connects a worker to the hub's JetStream, creating the buckets when
// they do not exist yet.
func New(ctx context.Context, nc *nats.Conn, cfg Config) (*Worker, error) {
	if !decision.ValidToken(cfg.ID) {
		return nil, fmt.Errorf("%w: worker id %q", ErrConfig, cfg.ID)
	}
	if cfg.Decide == nil {
		return nil, fmt.Errorf("%w: no decision configuration", ErrConfig)
	}
	if _, err := fuse.NewFusion("check", cfg.Decide, nil); err != nil {
		return nil, err
	}
	if cfg.Stream == "" {
		cfg.Stream = WorkStream
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 100
	}
	if cfg.ScanInterval <= 0 {
		cfg.ScanInterval = time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = av.NewRealClock()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	js, err := JetStream(nc, cfg.Domain)
	if err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, nc: nc, js: js, robots: map[string]context.CancelFunc{}}
	if w.leases, err = bucket(ctx, js, jetstream.KeyValueConfig{Bucket: LeaseBucket, TTL: cfg.LeaseTTL, History: 1,
		Description: "fusiond workers: who fuses which offloaded robot"}); err != nil {
		return nil, err
	}
	if w.state, err = bucket(ctx, js, jetstream.KeyValueConfig{Bucket: StateBucket, History: 1,
		Description: "fusiond workers: each offloaded robot's checkpoint"}); err != nil {
		return nil, err
	}
	return w, nil
}

func bucket(ctx context.Context, js jetstream.JetStream, c jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	c.Storage = jetstream.FileStorage
	kv, err := js.CreateKeyValue(ctx, c)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, c.Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", c.Bucket, err)
	}
	return kv, nil
}

// Stats returns the worker's counts.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	n := len(w.robots)
	w.mu.Unlock()
	return Stats{Ticks: w.ticks.Load(), Decisions: w.decisions.Load(), Duplicates: w.duplicates.Load(),
		Malformed: w.malformed.Load(), Gaps: w.gaps.Load(), Takeovers: w.takeovers.Load(), Robots: n}
}

// Run works until ctx ends, then checkpoints and gives back every robot.
func (w *Worker) Run(ctx context.Context) error {
	defer func() {
		w.Close()
		dctx, cancel := context.WithTimeout(context.Background(), w.cfg.LeaseTTL/3)
		defer cancel()
		w.leases.Delete(dctx, "worker."+w.cfg.ID) //nolint:errcheck // it expires anyway
	}()
	tick := time.NewTicker(w.cfg.ScanInterval)
	defer tick.Stop()
	// The first scan only announces the worker, so that workers started
	// together see each other before they take robots.
	for first := true; ; first = false {
		sctx, cancel := context.WithTimeout(ctx, w.cfg.LeaseTTL/3)
		if err := w.scan(sctx, first); err != nil && ctx.Err() == nil {
			w.cfg.Log.Warn("worker scan failed; retrying", "worker", w.cfg.ID, "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// scan announces the worker, and takes or gives back robots toward an
// even share: it gives one back while it holds more than
// ceil(robots / workers), or two more than the least loaded worker; when
// it holds less than its share and no more than any other worker, it
// takes robots up to its share.
func (w *Worker) scan(ctx context.Context, announceOnly bool) error {
	if _, err := w.leases.Put(ctx, "worker."+w.cfg.ID, []byte(w.cfg.ID)); err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	if announceOnly {
		return nil
	}
	robots, err := w.offloaded(ctx)
	if err != nil {
		return err
	}
	load, held, err := w.load(ctx)
	if err != nil {
		return err
	}
	w.mu.Lock()
	mine := len(w.robots)
	var last string
	for r := range w.robots {
		last = max(last, r)
	}
	w.mu.Unlock()
	load[w.cfg.ID] = mine
	least := mine
	for _, n := range load {
		least = min(least, n)
	}
	share := (len(robots) + len(load) - 1) / len(load)
	if mine > share || mine >= 2 && mine-least >= 2 {
		// One at a time, so that the least loaded take them up in turn.
		w.giveBack(last)
		return nil
	}
	if mine >= share || mine > least {
		return nil
	}
	// Start at a place of its own in the list, so that workers try
	// different robots first.
	h := fnv.New32a()
	h.Write([]byte(w.cfg.ID))
	for i := range robots {
		r := robots[(int(h.Sum32())+i)%len(robots)]
		if held[r] {
			continue
		}
		rev, err := w.leases.Create(ctx, "robot."+r, []byte(w.cfg.ID))
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			return fmt.Errorf("lease %s: %w", r, err)
		}
		w.take(r, rev)
		if mine++; mine >= share {
			return nil
		}
	}
	return nil
}

// load reads the lease bucket: the robots each live worker holds, and
// which robots are held.
func (w *Worker) load(ctx context.Context) (map[string]int, map[string]bool, error) {
	l, err := w.leases.ListKeysFiltered(ctx, "worker.*", "robot.*")
	if err != nil {
		return nil, nil, fmt.Errorf("leases: %w", err)
	}
	defer l.Stop() //nolint:errcheck // stopped by then when every key was read
	var keys []string
	for k := range l.Keys() {
		keys = append(keys, k)
	}
	load, held := map[string]int{}, map[string]bool{}
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, "worker."); ok {
			load[id] += 0
		}
	}
	for _, k := range keys {
		r, ok := strings.CutPrefix(k, "robot.")
		if !ok {
			continue
		}
		held[r] = true
		e, err := w.leases.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			delete(held, r)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("leases: %w", err)
		}
		if _, live := load[string(e.Value())]; live {
			load[string(e.Value())]++
		}
	}
	return load, held, nil
}

// offloaded lists the robots with feature bundles in the work stream.
func (w *Worker) offloaded(ctx context.Context) ([]string, error) {
	s, err := w.js.Stream(ctx, w.cfg.Stream)
	if err != nil {
		return nil, fmt.Errorf("work stream %s: %w", w.cfg.Stream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(offload.SubjectAll))
	if err != nil {
		return nil, fmt.Errorf("work stream %s: %w", w.cfg.Stream, err)
	}
	var robots []string
	for subj := range info.State.Subjects {
		parts := strings.Split(subj, ".")
		if len(parts) == 4 {
			robots = append(robots, parts[1])
		}
	}
	slices.Sort(robots)
	return robots, nil
}

// take starts fusing robot r, whose lease (revision rev) this worker holds.
func (w *Worker) take(r string, rev uint64) {
	ctx, cancel := context.WithCancel(context.Background())
	w.mu.Lock()
	w.robots[r] = cancel
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() {
			w.mu.Lock()
			delete(w.robots, r)
			w.mu.Unlock()
			cancel()
		}()
		w.own(ctx, r, rev)
	}()
}

// giveBack stops fusing robot r: it checkpoints and releases the lease.
func (w *Worker) giveBack(r string) {
	w.mu.Lock()
	cancel := w.robots[r]
	w.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Close gives every robot back and waits for their checkpoints.
func (w *Worker) Close() {
	w.mu.Lock()
	for _, cancel := range w.robots {
		cancel()
	}
	w.mu.Unlock()
	w.wg.Wait()
}
