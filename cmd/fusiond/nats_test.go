package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/client"
)

// jsonlSeqs reads a --decisions file: every decision the publish stage
// handed to the sinks, by seq.
func jsonlSeqs(t *testing.T, path string) map[uint64]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[uint64]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		d, err := client.Decode(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out[d.Seq] = sc.Text()
	}
	return out
}

// logSeqs reads robot's decision log: how many times each seq is stored.
func logSeqs(t *testing.T, nc *nats.Conn, robot string) map[uint64]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := map[uint64]int{}
	done := make(chan struct{})
	var total uint64
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, client.StreamName(robot))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	total = info.State.Msgs
	if total == 0 {
		return got
	}
	n := uint64(0)
	r, err := client.Replay(ctx, nc, robot, time.Unix(0, 0), func(m client.Msg) {
		if m.Err != nil {
			t.Error(m.Err)
			return
		}
		got[m.Decision.Seq]++
		if n++; n == total {
			close(done)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("read %d of %d stored decisions", n, total)
	}
	return got
}

func sameOnce(t *testing.T, published map[uint64]string, stored map[uint64]int) {
	t.Helper()
	for seq := range published {
		if stored[seq] != 1 {
			t.Fatalf("decision %d stored %d times (%d published, %d stored)", seq, stored[seq], len(published), len(stored))
		}
	}
	if len(stored) != len(published) {
		t.Fatalf("%d stored, %d published", len(stored), len(published))
	}
}

// TestDaemonServerRestart: the daemon publishes to an external server that
// restarts mid-run; the decision log holds every decision exactly once.
func TestDaemonServerRestart(t *testing.T) {
	defer goleak.VerifyNone(t)
	port := testenv.FreePort(t)
	e, err := sinks.StartEmbedded(sinks.EmbeddedConfig{Listen: "127.0.0.1:" + strconv.Itoa(port), StoreDir: t.TempDir(), Users: robotUser})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	cfg := testenv.Config(t, "nats.url=nats://127.0.0.1:"+strconv.Itoa(port), "nats.user=robot", "nats.password=pw", "fuse.decision_interval=20ms",
		"nats.reconnect_wait=20ms", "nats.jetstream.ack_timeout=200ms", "nats.control=false")
	jsonl := filepath.Join(t.TempDir(), "d.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &avtest.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runDaemon(ctx, cfg, av.NewRealClock(), daemonFiles{decisions: jsonl}, slog.New(slog.NewTextHandler(logs, nil)))
	}()

	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	stored := func() uint64 {
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := js.Stream(ctx, client.StreamName("demo"))
		if err != nil {
			return 0
		}
		info, err := st.Info(ctx)
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}
	avtest.Poll(t, "decisions stored", func() bool { return stored() >= 20 })
	if err := e.Restart(); err != nil {
		t.Fatal(err)
	}
	avtest.Poll(t, "decisions stored after the restart", func() bool { return stored() >= 60 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon: %v\n%s", err, logs)
	}
	if !strings.Contains(logs.String(), "every decision acked") || !strings.Contains(logs.String(), "NATS reconnected") {
		t.Fatalf("logs:\n%s", logs)
	}
	sameOnce(t, jsonlSeqs(t, jsonl), logSeqs(t, nc, "demo"))
}

// TestDaemonControlPlane: the control plane answers status, sources and
// config (secrets redacted), the service is discoverable, and tail --since
// replays the log.
func TestDaemonControlPlane(t *testing.T) {
	defer goleak.VerifyNone(t)
	port := testenv.FreePort(t)
	cfg, err := configs.Parse("users.yaml", []byte("nats:\n  embedded:\n    users:\n      - {user: ops, password: s3cret}\n"),
		[]string{"cameras.0.width=64", "cameras.0.height=48", "microphones.0.rate_hz=16000", "fuse.decision_interval=100ms", listenArg(port), "state_dir=" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &avtest.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runDaemon(ctx, cfg, av.NewRealClock(), daemonFiles{}, slog.New(slog.NewTextHandler(logs, nil)))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()

	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	var nc *nats.Conn
	avtest.Poll(t, "the server", func() bool {
		var err error
		nc, err = nats.Connect(url, nats.UserInfo("ops", "s3cret"))
		return err == nil
	})
	defer nc.Close()
	var st sinks.StatusReport
	avtest.Poll(t, "healthy sources", func() bool {
		if err := sinks.Request(nc, "demo", "status", nil, &st, 2*time.Second); err != nil {
			return false
		}
		for _, s := range st.Sources {
			if !s.Healthy || s.RateHz <= 0 {
				return false
			}
		}
		return len(st.Sources) == 2 && st.NATS.Outbox != nil && st.NATS.Outbox.Acked >= 3
	})
	if st.Backend == "" || st.Schema != sinks.StatusSchema || !st.NATS.Connected || st.NATS.Stream != "FUSIOND_demo" {
		t.Fatalf("status %+v", st)
	}
	var src []sinks.SourceHealth
	if err := sinks.Request(nc, "demo", "sources", nil, &src, 2*time.Second); err != nil || len(src) != 2 || src[0].Stream != "cam0" {
		t.Fatalf("sources %+v: %v", src, err)
	}
	m, err := nc.Request("fusion.demo.ctl.config", nil, 2*time.Second)
	if err != nil || bytes.Contains(m.Data, []byte("s3cret")) || !bytes.Contains(m.Data, []byte(`"Robot":"demo"`)) {
		t.Fatalf("config %s: %v", m.Data, err)
	}
	m, err = nc.Request("$SRV.PING.fusiond", nil, 2*time.Second)
	if err != nil || !bytes.Contains(m.Data, []byte(`"robot":"demo"`)) {
		t.Fatalf("ping: %v", err)
	}
	// An unauthenticated client is refused.
	if c, err := nats.Connect(url); err == nil {
		c.Close()
		t.Fatal("connected without credentials")
	}

	// tail --since replays from the log (the first decision, seq 1, was
	// published before this tail started).
	os.Setenv("NATS_PASSWORD", "s3cret")
	defer os.Unsetenv("NATS_PASSWORD")
	var out, errOut bytes.Buffer
	code := cmdTail([]string{"--server", url, "--user", "ops", "--robot", "demo", "--since", "1h", "--count", "3", "--json", "--for", "20s"}, &out, &errOut)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("tail: %d\n%s\n%s", code, out.String(), errOut.String())
	}
	var d client.Decision
	if err := json.Unmarshal([]byte(lines[0]), &d); err != nil || d.Seq != 1 {
		t.Fatalf("first replayed %s: %v", lines[0], err)
	}
}

// TestSIGTERMLosesNothingAcked: SIGTERM during a run; after exit, the
// decision log (reopened from the store) holds every decision the daemon
// published, exactly once.
func TestSIGTERMLosesNothingAcked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	port := testenv.FreePort(t)
	store := t.TempDir()
	out := filepath.Join(t.TempDir(), "d.jsonl")
	cmd := exec.Command(bin, "run", "--set", listenArg(port), "--set", "state_dir="+t.TempDir(), "--set", "nats.embedded.store_dir="+store,
		"--set", "fuse.decision_interval=20ms", "--set", "log.format=text", "--decisions", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, port)
	sub.waitFor(t, 20, 20*time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "every decision acked") {
		t.Fatalf("not every decision acked:\n%s", stderr.String())
	}
	e, err := sinks.StartEmbedded(sinks.EmbeddedConfig{StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sameOnce(t, jsonlSeqs(t, out), logSeqs(t, nc, "demo"))
}

// TestNatsCLI: `nats micro ls` shows the service and `nats stream ls` the
// decision log. The Makefile installs natscli and sets NATSCLI.
func TestNatsCLI(t *testing.T) {
	cli := os.Getenv("NATSCLI")
	if cli == "" {
		t.Skip("NATSCLI not set (make test sets it)")
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("NATSCLI: %v", err)
	}
	port := testenv.FreePort(t)
	cfg := testenv.Config(t, listenArg(port))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, cfg, av.NewRealClock(), daemonFiles{}, slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		<-done
	}()
	sub := subscribe(t, port)
	sub.waitFor(t, 2, 20*time.Second)
	server := "nats://127.0.0.1:" + strconv.Itoa(port)
	run := func(args ...string) string {
		c := exec.Command(cli, append([]string{"--server", server, "--no-context"}, args...)...)
		c.Env = append(os.Environ(), "HOME="+t.TempDir())
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("nats %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	if o := run("micro", "ls"); !strings.Contains(o, "fusiond") {
		t.Fatalf("nats micro ls:\n%s", o)
	}
	if o := run("stream", "ls"); !strings.Contains(o, "FUSIOND_demo") {
		t.Fatalf("nats stream ls:\n%s", o)
	}
	if o := run("micro", "info", "fusiond"); !strings.Contains(o, "fusion.demo.ctl.status") {
		t.Fatalf("nats micro info:\n%s", o)
	}
}

// TestJavaScriptSubscriber runs the worked example of docs/SUBSCRIBERS.md
// (the official npm "nats" client) against the daemon: a control-plane
// request, then a replay of the decision log from seq 1.
func TestJavaScriptSubscriber(t *testing.T) {
	dir := filepath.Join("..", "..", "scripts", "js-subscriber")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "nats")); err != nil {
		if os.Getenv("FUSIOND_REQUIRE_NODE") != "" {
			t.Fatalf("npm nats not installed (make node-deps): %v", err)
		}
		t.Skip("npm nats not installed (make node-deps)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	port := testenv.FreePort(t)
	cfg := testenv.Config(t, listenArg(port))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, cfg, av.NewRealClock(), daemonFiles{}, slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		<-done
	}()
	sub := subscribe(t, port)
	sub.waitFor(t, 2, 20*time.Second)
	sub.nc.Close()
	cmd := exec.Command(node, "subscriber.mjs", "--server", "nats://127.0.0.1:"+strconv.Itoa(port),
		"--robot", "demo", "--since", "1h", "--count", "3", "--status")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], `"backend"`) {
		t.Fatalf("output:\n%s\n%s", out, stderr.String())
	}
	for i, l := range lines[1:] {
		var d struct {
			Seq       uint64 `json:"seq"`
			MsgID     string `json:"msg_id"`
			StreamSeq uint64 `json:"stream_seq"`
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil || d.Seq != uint64(i+1) || d.StreamSeq != uint64(i+1) ||
			!strings.HasPrefix(d.MsgID, "demo-") {
			t.Fatalf("line %q: %v", l, err)
		}
	}
}

// TestDaemonSensorSubjects: with nats.sensors.enabled the daemon publishes
// JPEG frames and PCM audio beside its decisions.
func TestDaemonSensorSubjects(t *testing.T) {
	defer goleak.VerifyNone(t)
	port := testenv.FreePort(t)
	cfg := testenv.Config(t, listenArg(port), "nats.sensors.enabled=true", "nats.sensors.every=3")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, cfg, av.NewRealClock(), daemonFiles{}, slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var nc *nats.Conn
	avtest.Poll(t, "the server", func() bool {
		var err error
		nc, err = nats.Connect("nats://127.0.0.1:" + strconv.Itoa(port))
		return err == nil
	})
	defer nc.Close()
	sub, _ := nc.SubscribeSync("fusion.demo.sensor.>")
	seen := map[string]bool{}
	for len(seen) < 2 {
		m, err := sub.NextMsg(20 * time.Second)
		if err != nil {
			t.Fatalf("sensor subjects seen %v: %v", seen, err)
		}
		if m.Header.Get(sinks.HeaderCaptureTime) == "" || len(m.Data) == 0 {
			t.Fatalf("%s: headers %v", m.Subject, m.Header)
		}
		seen[m.Subject] = true
	}
	if !seen["fusion.demo.sensor.cam0.jpeg"] || !seen["fusion.demo.sensor.mic0.pcm16"] {
		t.Fatalf("subjects %v", seen)
	}
}
