package sinks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// benchDecision is a realistic activity decision (the demo's fields).
func benchDecision(seq uint64) *av.Decision {
	return &av.Decision{Decision: decision.Decision{Schema: decision.Schema, Robot: "bench", Kind: "activity", Seq: seq, TimeNS: 1795755638492620365 + int64(seq)*500e6,
		Confidence: 0.927, Logit: 2.54, Contributions: map[string]float64{"audio": 1.5, "prior": 0, "video": 1.04},
		Missing: []string{}, Evidence: map[string]float64{"audio_coverage": 1, "audio_level_dbfs": -30, "bundles": 15,
			"motion_energy": 0.51, "motion_x": 0.62, "motion_y": 0.48},
		LatencyNS: map[string]int64{"arrival_to_publish": 40924590, "arrival_to_sync": 23935, "capture_to_arrival": 210080,
			"capture_to_publish": 41134670, "fuse_to_publish": 130705, "sync_to_fuse": 40769950}}}
}

type pathResult struct {
	n       int
	elapsed time.Duration
	p50     time.Duration
	p99     time.Duration
	size    int // payload + headers
}

func (r pathResult) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// runDecisionPath encodes n decisions and publishes them through a
// JetStreamSink on nc, waiting for every ack.
func runDecisionPath(tb testing.TB, nc *nats.Conn, n, capacity int, window ...int) pathResult {
	return runPath(tb, nc, n, capacity, true, window...)
}

// runPath is runDecisionPath; with encode false every decision reuses one
// encoded payload (the sink's share of the path alone, as nats bench
// publishes prepared bytes).
func runPath(tb testing.TB, nc *nats.Conn, n, capacity int, encode bool, window ...int) pathResult {
	ensureB(tb, nc, LogConfig{Robot: "bench", Compress: false})
	var mu sync.Mutex
	lat := make([]int64, 0, n)
	s, err := NewJetStreamSink(nc, "b"+strconv.FormatInt(time.Now().UnixNano(), 36), OutboxConfig{Capacity: capacity, Window: append(window, 0)[0],
		OnAck: func(ns int64) { mu.Lock(); lat = append(lat, ns); mu.Unlock() }})
	if err != nil {
		tb.Fatal(err)
	}
	first, _ := json.Marshal(benchDecision(1))
	size := len(first) + headerSize(decisionMsg(benchDecision(1), "b0123456789", first).Header)
	// Decisions come from fuse: built before the clock starts, and reused
	// (the path under test is encode, outbox, publish, ack).
	pool := make([]*av.Decision, 1024)
	for i := range pool {
		pool[i] = benchDecision(uint64(i + 1))
	}
	d := benchDecision(1)
	start := time.Now()
	for i := 1; i <= n; i++ {
		payload := first
		if encode {
			d = pool[i%len(pool)]
			d.Seq = uint64(i)
			var err error
			if payload, err = EncodeDecision(d); err != nil {
				tb.Fatal(err)
			}
		} else {
			d.Seq = uint64(i)
		}
		if err := s.WriteDecision(d, payload); err != nil {
			tb.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		tb.Fatal(err)
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	if st := s.Stats(); st.Acked != uint64(n) {
		tb.Fatalf("stats %+v", st)
	}
	return pathResult{n: n, elapsed: elapsed, p50: time.Duration(lat[len(lat)/2]), p99: time.Duration(lat[len(lat)*99/100]), size: size}
}

func ensureB(tb testing.TB, nc *nats.Conn, cfg LogConfig) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, err := EnsureLog(ctx, nc, "", cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := js.Purge(ctx); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkDecisionPath: decisions encoded and published into JetStream
// (file storage), every one acked, over the in-process connection the
// daemon uses and over TCP loopback.
func BenchmarkDecisionPath(b *testing.B) {
	for _, tcp := range []bool{false, true} {
		name := "inprocess"
		if tcp {
			name = "tcp"
		}
		b.Run(name, func(b *testing.B) {
			e, err := StartEmbedded(EmbeddedConfig{Listen: "127.0.0.1:0", Users: benchUsers})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Shutdown()
			nc, err := e.Connect()
			if tcp {
				nc, err = nats.Connect(e.URL(), nats.UserInfo("bench", "bench"))
			}
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			b.ResetTimer()
			r := runDecisionPath(b, nc, b.N, 8192)
			b.ReportMetric(r.rate(), "decisions/s")
			b.ReportMetric(float64(r.p99.Microseconds()), "p99-ack-µs")
			b.ReportMetric(float64(r.size), "msg-bytes")
		})
	}
}

// benchUsers lets a TCP client publish decisions and create streams, as
// the daemon's own connection does.
var benchUsers = []EmbeddedUser{{Name: "bench", Password: "bench", Role: RoleAdmin}}

var natsBenchRate = regexp.MustCompile(`(?m)^\s*(?:Pub stats|NATS JetStream asynchronous publisher stats):?\s*([\d,]+) msgs/sec`)

// TestBenchSideBySide runs fusiond's decision path and `nats bench js pub
// async` against the same embedded server (TCP loopback, file storage,
// deduplication on, same message size), one after the other in one run.
// FUSIOND_BENCH_NATS=1 and NATSCLI (make bench-nats) turn it on.
func TestBenchSideBySide(t *testing.T) {
	cli := os.Getenv("NATSCLI")
	if os.Getenv("FUSIOND_BENCH_NATS") == "" || cli == "" {
		t.Skip("set FUSIOND_BENCH_NATS=1 and NATSCLI (make bench-nats)")
	}
	n := 200000
	if s := os.Getenv("FUSIOND_BENCH_MSGS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	e, err := StartEmbedded(EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), MaxStore: 4 << 30, Users: benchUsers})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	in, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	tcp, err := nats.Connect(e.URL(), nats.UserInfo("bench", "bench"))
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()

	runCLI := func(size int) float64 {
		out, err := exec.Command(cli, "--server", e.URL(), "--no-context", "--user", "bench", "--password", "bench", "bench", "js", "pub", "async", "bench.cli",
			"--create", "--purge", "--dedup", "--stream", "benchstream", "--storage", "file",
			"--msgs", strconv.Itoa(n), "--size", strconv.Itoa(size), "--no-progress").CombinedOutput()
		if err != nil {
			t.Fatalf("nats bench: %v\n%s", err, out)
		}
		m := natsBenchRate.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("no rate in:\n%s", out)
		}
		rate, _ := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
		return rate
	}
	// Warm up both, then alternate, three rounds each; report the medians.
	var ours, oursIn, sinkOnly []pathResult
	var theirs []float64
	warm := runDecisionPath(t, tcp, n/10, 8192)
	runCLI(warm.size - 150)
	for range 3 {
		ours = append(ours, runDecisionPath(t, tcp, n, 8192))
		oursIn = append(oursIn, runDecisionPath(t, in, n, 8192))
		sinkOnly = append(sinkOnly, runPath(t, tcp, n, 8192, false))
		// nats bench --size is the payload; our headers add the rest.
		payload := ours[0].size - headerSize(decisionMsg(benchDecision(1), "b0123456789", nil).Header)
		theirs = append(theirs, runCLI(payload))
	}
	med := func(rs []pathResult) pathResult {
		slices.SortFunc(rs, func(a, b pathResult) int { return int(a.rate() - b.rate()) })
		return rs[len(rs)/2]
	}
	paced := runPaced(t, tcp, 2000, time.Millisecond)
	slices.Sort(theirs)
	o, oi, so, c := med(ours), med(oursIn), med(sinkOnly), theirs[len(theirs)/2]
	report := fmt.Sprintf("decisions %d, message %d bytes (payload %d + headers)\n"+
		"  fusiond decision path, TCP:        %8.0f decisions/s  p50 ack %v  p99 ack %v\n"+
		"  fusiond decision path, in-process: %8.0f decisions/s  p50 ack %v  p99 ack %v\n"+
		"  fusiond sink alone (pre-encoded), TCP: %8.0f decisions/s  p50 ack %v  p99 ack %v\n"+
		"  nats bench js pub async --dedup:   %8.0f msgs/s\n"+
		"  ratio (TCP / nats bench): %.2f; sink alone / nats bench: %.2f\n"+
		"  paced, 1000 decisions/s over TCP: p50 ack %v  p99 ack %v\n",
		n, o.size, o.size-headerSize(decisionMsg(benchDecision(1), "b0123456789", nil).Header),
		o.rate(), o.p50, o.p99, oi.rate(), oi.p50, oi.p99, so.rate(), so.p50, so.p99, c, o.rate()/c, so.rate()/c, paced.p50, paced.p99)
	t.Log("\n" + report)
	if out := os.Getenv("FUSIOND_BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(report), 0o644)
	}
}

// runPaced publishes n decisions one every interval (a live robot's
// pattern, faster) and measures publish-to-ack latency without queueing.
func runPaced(tb testing.TB, nc *nats.Conn, n int, interval time.Duration) pathResult {
	ensureB(tb, nc, LogConfig{Robot: "bench"})
	var mu sync.Mutex
	var lat []int64
	s, err := NewJetStreamSink(nc, "paced", OutboxConfig{OnAck: func(ns int64) { mu.Lock(); lat = append(lat, ns); mu.Unlock() }})
	if err != nil {
		tb.Fatal(err)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	start := time.Now()
	for i := 1; i <= n; i++ {
		<-tick.C
		d := benchDecision(uint64(i))
		payload, _ := EncodeDecision(d)
		if err := s.WriteDecision(d, payload); err != nil {
			tb.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		tb.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	return pathResult{n: n, elapsed: time.Since(start), p50: time.Duration(lat[len(lat)/2]), p99: time.Duration(lat[len(lat)*99/100])}
}
