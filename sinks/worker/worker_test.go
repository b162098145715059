package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/offload/offloadtest"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/client"
	"github.com/seed-4c364652/fusiond/sinks/decision"
	"github.com/seed-4c364652/fusiond/sinks/worker"
)

// The test binary runs as a worker process when these are set.
const (
	envURL = "FUSIOND_TEST_WORKER_URL"
	envID  = "FUSIOND_TEST_WORKER_ID"
	envKey = "FUSIOND_TEST_WORKER_KEY"
)

const leaseTTL = 1500 * time.Millisecond

func TestMain(m *testing.M) {
	if url := os.Getenv(envURL); url != "" {
		os.Exit(runChild(url, os.Getenv(envID), os.Getenv(envKey)))
	}
	os.Exit(m.Run())
}

// runChild is a worker process: it works until SIGTERM (or SIGKILL).
func runChild(url, id, keyFile string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		log.Error("connect", "err", err)
		return 1
	}
	defer nc.Close()
	sg, err := sinks.LoadOrCreateSigningKey(keyFile)
	if err != nil {
		log.Error("key", "err", err)
		return 1
	}
	w, err := worker.New(ctx, nc, worker.Config{ID: id, Decide: offloadtest.Decide(), Signer: sg, LeaseTTL: leaseTTL,
		CheckpointEvery: 25, ScanInterval: 100 * time.Millisecond, Log: log})
	if err != nil {
		log.Error("worker", "err", err)
		return 1
	}
	if err := w.Run(ctx); err != nil {
		log.Error("worker", "err", err)
		return 1
	}
	st, _ := json.Marshal(w.Stats())
	log.Info("worker done", "stats", string(st))
	return 0
}

func startServer(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{ServerName: "hub", Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(), JetStreamMaxStore: 256 << 20, JetStreamMaxMemory: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}

// proc is a worker process.
type proc struct {
	id  string
	cmd *exec.Cmd
	log string
}

func startWorker(t *testing.T, url, id, dir string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, id+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envURL+"="+url, envID+"="+id, envKey+"="+filepath.Join(dir, id+".nk"))
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p := &proc{id: id, cmd: cmd, log: logPath}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

// writeKey makes a worker's signing key and returns its public key.
func writeKey(t *testing.T, path string) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return pub
}

var logDir string

// dumpLogs returns the worker processes' logs.
func dumpLogs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		fmt.Fprintf(&b, "\n--- %s\n%s", filepath.Base(f), data)
	}
	return b.String()
}

// poll calls cond until it is true or the deadline passes.
func poll(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s%s", timeout, what, dumpLogs())
		}
		time.Sleep(20 * time.Millisecond) // a poll interval, not a wait for an effect
	}
}

// holders reads the lease bucket: robot → worker id.
func holders(ctx context.Context, kv jetstream.KeyValue) map[string]string {
	out := map[string]string{}
	l, err := kv.ListKeysFiltered(ctx, "robot.*")
	if err != nil {
		return out
	}
	defer l.Stop()
	for k := range l.Keys() {
		if e, err := kv.Get(ctx, k); err == nil {
			out[strings.TrimPrefix(k, "robot.")] = string(e.Value())
		}
	}
	return out
}

// robot is an offloaded robot of the test: its recording, the decisions
// it makes on board, and its Activity with offload.
type robot struct {
	id      string
	bundles []*av.Bundle
	want    []string
	act     *fuse.Activity
	off     *worker.Offloader
	next    int
}

func (r *robot) push(t *testing.T, upTo int) {
	for ; r.next < upTo; r.next++ {
		r.act.Push(r.bundles[r.next], func(*av.Decision) { t.Error("an offloaded robot decided on board") })
	}
	if upTo == len(r.bundles) {
		r.act.Flush(func(*av.Decision) { t.Error("an offloaded robot decided on board") })
	}
}

// decisionLines is each decision as JSON without latency_ns.
func decisionLine(t *testing.T, d *decision.Decision) string {
	t.Helper()
	x := *d
	x.LatencyNS = nil
	b, err := json.Marshal(&x)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWorkersHandOverExactlyOnce: five offloaded robots, two and then
// four worker processes, the busiest worker SIGKILLed mid-run; every
// robot's decisions on the hub equal, field for field but latency_ns,
// those it makes on board from the same recording, once each, in order,
// signed by a worker.
func TestWorkersHandOverExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	start := time.Now()
	srv := startServer(t)
	url := srv.ClientURL()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	logDir = dir

	const nRobots, nBundles = 5, 1200
	robots := make([]*robot, nRobots)
	for i := range robots {
		id := fmt.Sprintf("r%d", i+1)
		cfg := offloadtest.Config(id)
		r := &robot{id: id, bundles: offloadtest.Scene(uint64(i+1), 1_700_000_000_000+int64(i)*1000, nBundles)}
		want, err := offloadtest.Fuse(cfg, r.bundles)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range want {
			x := d.Decision
			r.want = append(r.want, decisionLine(t, &x))
		}
		if _, err := worker.EnsureTickStream(ctx, js, id, 0); err != nil {
			t.Fatal(err)
		}
		if err := worker.AddRobot(ctx, js, id, ""); err != nil {
			t.Fatal(err)
		}
		r.off = worker.NewOffloader(ctx, js, id, "boot"+strconv.Itoa(i+1), 0)
		cfg.Offload = r.off.Offload
		if r.act, err = fuse.NewActivity(cfg); err != nil {
			t.Fatal(err)
		}
		robots[i] = r
	}
	var keys []string
	procs := map[string]*proc{}
	startN := func(ids ...string) {
		for _, id := range ids {
			keys = append(keys, writeKey(t, filepath.Join(dir, id+".nk")))
			procs[id] = startWorker(t, url, id, dir)
		}
	}
	decisions, err := js.Stream(ctx, worker.DecisionStream)
	if err != nil {
		t.Fatal(err)
	}
	stored := func(r *robot) uint64 {
		info, err := decisions.Info(ctx, jetstream.WithSubjectFilter("fusion."+r.id+".decision.>"))
		if err != nil {
			return 0
		}
		var n uint64
		for _, c := range info.State.Subjects {
			n += c
		}
		return n
	}
	leases, err := js.KeyValue(ctx, worker.LeaseBucket)
	if err == nil {
		t.Fatal("lease bucket before any worker")
	}

	// Two workers; a third of every recording.
	for _, r := range robots {
		r.push(t, nBundles/3)
	}
	startN("w1", "w2")
	poll(t, "both workers fusing", 20*time.Second, func() bool {
		if leases == nil {
			leases, _ = js.KeyValue(ctx, worker.LeaseBucket)
			return false
		}
		h := holders(ctx, leases)
		return len(h) == nRobots && slices.Contains(values(h), "w1") && slices.Contains(values(h), "w2")
	})
	// Four workers; the second third. The workers rebalance.
	startN("w3", "w4")
	for _, r := range robots {
		r.push(t, 2*nBundles/3)
	}
	poll(t, "four workers fusing", 20*time.Second, func() bool {
		h := holders(ctx, leases)
		return len(h) == nRobots && len(uniq(values(h))) == 4
	})
	// SIGKILL the busiest worker while it fuses the next sixth.
	for _, r := range robots {
		r.push(t, 5*nBundles/6)
	}
	h := holders(ctx, leases)
	victim := busiest(h)
	var orphans []string
	for r, w := range h {
		if w == victim {
			orphans = append(orphans, r)
		}
	}
	if err := procs[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	procs[victim].cmd.Wait()
	for _, r := range robots {
		r.push(t, nBundles)
		if err := r.off.Err(); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "the killed worker's robots taken over", 20*time.Second, func() bool {
		h := holders(ctx, leases)
		for _, r := range orphans {
			if w, ok := h[r]; !ok || w == victim {
				return false
			}
		}
		return true
	})
	handover := time.Since(killed)
	for _, r := range robots {
		poll(t, r.id+"'s decisions on the hub", 60*time.Second, func() bool { return stored(r) >= uint64(len(r.want)) })
	}

	// Compare, in stream order, every robot's decisions with its own.
	v, err := client.NewVerifier(keys...)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range robots {
		cons, err := js.OrderedConsumer(ctx, worker.DecisionStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"fusion." + r.id + ".decision.>"}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for len(got) < len(r.want) {
			batch, err := cons.FetchNoWait(len(r.want) - len(got))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for m := range batch.Messages() {
				n++
				if err := v.Verify(m.Subject(), m.Headers(), m.Data()); err != nil {
					t.Fatalf("%s: %v", r.id, err)
				}
				d, err := client.Decode(m.Data())
				if err != nil {
					t.Fatal(err)
				}
				if id := m.Headers().Get(nats.MsgIdHdr); id != sinks.MsgID(r.id, "boot"+strconv.Itoa(i+1), d.Seq) {
					t.Fatalf("%s: decision %d has Nats-Msg-Id %s", r.id, d.Seq, id)
				}
				got = append(got, decisionLine(t, d))
			}
			if n == 0 {
				t.Fatalf("%s: %d decisions read, %d stored", r.id, len(got), stored(r))
			}
		}
		if n := stored(r); n != uint64(len(r.want)) {
			t.Errorf("%s: %d decisions stored, want %d", r.id, n, len(r.want))
		}
		for j := range r.want {
			if got[j] != r.want[j] {
				t.Fatalf("%s: decision %d differs:\non board %s\nworker   %s", r.id, j+1, r.want[j], got[j])
			}
		}
	}

	// The others stop cleanly, giving their robots back.
	for id, p := range procs {
		if id == victim {
			continue
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.cmd.Wait(); err != nil {
			b, _ := os.ReadFile(p.log)
			t.Errorf("worker %s: %v\n%s", id, err, b)
		}
	}
	poll(t, "leases released", 10*time.Second, func() bool { return len(holders(ctx, leases)) == 0 })
	// What the survivors made again after the killed worker's checkpoints.
	dups := 0
	for id, p := range procs {
		b, _ := os.ReadFile(p.log)
		if _, after, ok := strings.Cut(string(b), `\"duplicates\":`); ok && id != victim {
			n, _ := strconv.Atoi(after[:strings.IndexAny(after, ",}")])
			dups += n
		}
	}
	total := 0
	for _, r := range robots {
		total += len(r.want)
	}
	t.Logf("%d robots, %d decisions; killed %s holding %v; taken over in %v, %d decisions made again and stored once; test wall time %v",
		nRobots, total, victim, orphans, handover.Round(time.Millisecond), dups, time.Since(start).Round(time.Millisecond))
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// busiest is the worker holding the most robots (the first by name on a tie).
func busiest(h map[string]string) string {
	n := map[string]int{}
	for _, w := range h {
		n[w]++
	}
	best := ""
	for _, w := range uniq(values(h)) {
		if best == "" || n[w] > n[best] {
			best = w
		}
	}
	return best
}
