package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/sinks/client"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

func testDecision(robot string, seq uint64) *av.Decision {
	return &av.Decision{Decision: decision.Decision{Schema: decision.Schema, Robot: robot, Kind: "activity", Seq: seq, TimeNS: int64(seq) * 1e6,
		Confidence: 0.5, Contributions: map[string]float64{"prior": 0}, Missing: []string{}, Evidence: map[string]float64{}}}
}

func write(t testing.TB, s Sink, d *av.Decision) error {
	t.Helper()
	payload, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return s.WriteDecision(d, payload)
}

// storedSeqs reads the whole decision log and returns how many times each
// decision seq is stored, checking the message ids on the way.
func storedSeqs(t *testing.T, nc *nats.Conn, robot, bootID string) map[uint64]int {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, client.StreamName(robot))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]int{}
	if info.State.Msgs == 0 {
		return got
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		d, err := client.Decode(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		if id := m.Headers().Get(nats.MsgIdHdr); id != MsgID(robot, bootID, d.Seq) {
			t.Fatalf("message id %q for seq %d", id, d.Seq)
		}
		got[d.Seq]++
	}
	return got
}

func checkExactlyOnce(t *testing.T, got map[uint64]int, n int) {
	t.Helper()
	var missing, dup []uint64
	for i := uint64(1); i <= uint64(n); i++ {
		switch got[i] {
		case 1:
		case 0:
			missing = append(missing, i)
		default:
			dup = append(dup, i)
		}
	}
	if len(missing) > 0 || len(dup) > 0 || len(got) != n {
		t.Fatalf("%d stored of %d; missing %v; duplicated %v", len(got), n, head(missing), head(dup))
	}
}

func head(s []uint64) []uint64 { return s[:min(len(s), 10)] }

func ensure(t *testing.T, nc *nats.Conn, cfg LogConfig) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := EnsureLog(ctx, nc, "", cfg); err != nil {
		t.Fatal(err)
	}
}

func closeSink(t *testing.T, s *JetStreamSink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("%v (stats %+v)", err, s.Stats())
	}
}

// TestRestartEmbeddedExactlyOnce: the embedded server restarts twice while
// decisions stream in through an in-process connection; every decision is
// stored once.
func TestRestartEmbeddedExactlyOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := StartEmbedded(EmbeddedConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cfg := LogConfig{Robot: "r1", Compress: true}
	ensure(t, nc, cfg)
	s, err := NewJetStreamSink(nc, "boot1", OutboxConfig{Capacity: 512, Window: 64, AckTimeout: 500 * time.Millisecond,
		EnsureLog: func(ctx context.Context) error { _, err := EnsureLog(ctx, nc, "", cfg); return err }})
	if err != nil {
		t.Fatal(err)
	}
	const n = 6000
	for i := 1; i <= n; i++ {
		if err := write(t, s, testDecision("r1", uint64(i))); err != nil {
			t.Fatal(err)
		}
		if i == n/3 || i == 2*n/3 {
			if err := e.Restart(); err != nil {
				t.Fatal(err)
			}
		}
	}
	closeSink(t, s)
	st := s.Stats()
	if st.Acked != n || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	avtest.Poll(t, "the reconnect", nc.IsConnected)
	checkExactlyOnce(t, storedSeqs(t, nc, "r1", "boot1"), n)
	t.Logf("stats after two restarts: %+v", st)
}

// TestRestartExternalExactlyOnce: an external server (another nats-server
// instance, over TCP) is not up when publishing starts, comes up, goes
// down mid-stream and comes back; every decision is stored once.
func TestRestartExternalExactlyOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	stats := &ConnStats{}
	nc, err := ConnectExternal(ExternalConfig{URL: "nats://" + addr, User: "robot", Password: "pw", ReconnectWait: 20 * time.Millisecond, PingInterval: time.Second},
		slog.New(slog.DiscardHandler), stats, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cfg := LogConfig{Robot: "r2"}
	s, err := NewJetStreamSink(nc, "b", OutboxConfig{Capacity: 256, Window: 32, AckTimeout: 300 * time.Millisecond,
		EnsureLog: func(ctx context.Context) error { _, err := EnsureLog(ctx, nc, "", cfg); return err }})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	// Before the server exists: these wait in the outbox.
	for i := 1; i <= 100; i++ {
		if err := write(t, s, testDecision("r2", uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	e, err := StartEmbedded(EmbeddedConfig{Listen: addr, StoreDir: t.TempDir(), Users: []EmbeddedUser{{Name: "robot", Password: "pw", Role: RoleAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	for i := 101; i <= n; i++ {
		if err := write(t, s, testDecision("r2", uint64(i))); err != nil {
			t.Fatal(err)
		}
		if i == n/2 {
			if err := e.Restart(); err != nil {
				t.Fatal(err)
			}
		}
	}
	closeSink(t, s)
	if st := s.Stats(); st.Acked != n {
		t.Fatalf("stats %+v", st)
	}
	if stats.Reconnects.Load() == 0 || stats.Disconnects.Load() == 0 {
		t.Fatalf("connection events not counted: %v", stats.Snapshot())
	}
	checkExactlyOnce(t, storedSeqs(t, nc, "r2", "b"), n)
}

// TestResendIsDeduplicated: sending every decision twice (as re-sends after
// a lost ack do) stores each once.
func TestResendIsDeduplicated(t *testing.T) {
	defer goleak.VerifyNone(t)
	_, nc, done := startEmbeddedConn(t)
	defer done()
	cfg := LogConfig{Robot: "r"}
	if cfg.StreamConfig().Duplicates < 2*time.Minute {
		t.Fatal("duplicate window under 2 minutes")
	}
	ensure(t, nc, cfg)
	for round := range 2 {
		s, err := NewJetStreamSink(nc, "same-boot", OutboxConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 100; i++ {
			write(t, s, testDecision("r", uint64(i)))
		}
		closeSink(t, s)
		if round == 1 && s.Stats().Duplicates != 100 {
			t.Fatalf("second sending: %+v", s.Stats())
		}
	}
	checkExactlyOnce(t, storedSeqs(t, nc, "r", "same-boot"), 100)
}

// TestOversizeDecision: a decision over the server's max payload is refused
// and counted before it reaches the client; the connection stays up.
func TestOversizeDecision(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := StartEmbedded(EmbeddedConfig{MaxPayload: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ensure(t, nc, LogConfig{Robot: "r"})
	drops := av.NewDrops()
	s, err := NewJetStreamSink(nc, "b", OutboxConfig{Drops: drops})
	if err != nil {
		t.Fatal(err)
	}
	big := testDecision("r", 1)
	for i := range 100 {
		big.Evidence[fmt.Sprintf("feature_%03d", i)] = float64(i)
	}
	if err := write(t, s, big); !errors.Is(err, ErrOversize) {
		t.Fatalf("got %v", err)
	}
	if err := write(t, s, testDecision("r", 2)); err != nil {
		t.Fatal(err)
	}
	closeSink(t, s)
	if st := s.Stats(); st.Oversize != 1 || st.Acked != 1 || drops.Get("jetstream", av.DropSinkError) != 1 || !nc.IsConnected() {
		t.Fatalf("stats %+v, drops %v, connected %v", st, drops.Snapshot(), nc.IsConnected())
	}

	// Sensor subjects: best effort, checked the same way.
	var sc SensorCounters
	if err := PublishSensor(nc, "fusion.r.sensor.cam0.jpeg", make([]byte, 4096), &sc); !errors.Is(err, ErrOversize) {
		t.Fatalf("got %v", err)
	}
	if err := PublishSensor(nc, "fusion.r.sensor.cam0.jpeg", make([]byte, 512), &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Oversize.Load() != 1 || sc.Published.Load() != 1 || !nc.IsConnected() {
		t.Fatalf("sensor counters %d %d", sc.Oversize.Load(), sc.Published.Load())
	}
}

// TestSlowSubscriberDoesNotSlowPublisher: a live subscriber that stops
// reading loses messages (counted as a slow consumer on its side); the
// publisher gets every decision acked.
func TestSlowSubscriberDoesNotSlowPublisher(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := StartEmbedded(EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	subStats := &ConnStats{}
	subNC, err := e.Connect(ConnectOptions(slog.New(slog.DiscardHandler), subStats, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	defer subNC.Close()
	block := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(block) })
	sub, err := subNC.Subscribe("fusion.r.decision.>", func(*nats.Msg) { <-block })
	if err != nil {
		t.Fatal(err)
	}
	sub.SetPendingLimits(10, -1)
	subNC.Flush()

	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ensure(t, nc, LogConfig{Robot: "r"})
	s, err := NewJetStreamSink(nc, "b", OutboxConfig{Capacity: 256})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := 1; i <= n; i++ {
		write(t, s, testDecision("r", uint64(i)))
	}
	closeSink(t, s)
	if st := s.Stats(); st.Acked != n {
		t.Fatalf("stats %+v", st)
	}
	avtest.Poll(t, "the slow consumer", func() bool { return subStats.SlowConsumers.Load() > 0 })
	once.Do(func() { close(block) })
}

// TestFullStream: a log at its limit deletes the oldest decisions (discard
// old) or refuses new ones, counted as drops (discard new).
func TestFullStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, discardNew := range []bool{false, true} {
		t.Run(fmt.Sprintf("discard_new=%v", discardNew), func(t *testing.T) {
			e, err := StartEmbedded(EmbeddedConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown()
			nc, err := e.Connect()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			ensure(t, nc, LogConfig{Robot: "r", MaxMsgs: 10, DiscardNew: discardNew})
			drops := av.NewDrops()
			logs := &avtest.LogBuffer{}
			s, err := NewJetStreamSink(nc, "b", OutboxConfig{Drops: drops, Log: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 50; i++ {
				write(t, s, testDecision("r", uint64(i)))
			}
			closeSink(t, s)
			st := s.Stats()
			got := storedSeqs(t, nc, "r", "b")
			if len(got) != 10 {
				t.Fatalf("%d stored", len(got))
			}
			first := uint64(41) // discard old keeps the newest
			if discardNew {
				first = 1
			}
			for i := first; i < first+10; i++ {
				if got[i] != 1 {
					t.Fatalf("seq %d stored %d times; stored %v", i, got[i], got)
				}
			}
			if discardNew {
				if st.Acked != 10 || st.Rejected != 40 || drops.Get("jetstream", av.DropSinkError) != 40 ||
					strings.Count(logs.String(), "decision log full") != 1 {
					t.Fatalf("stats %+v drops %v logs %s", st, drops.Snapshot(), logs)
				}
			} else if st.Acked != 50 || st.Rejected != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestDedupSurvivesRestart: decisions stored before a server restart and
// sent again after it (their acks were lost) are recognised as duplicates.
func TestDedupSurvivesRestart(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := StartEmbedded(EmbeddedConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ensure(t, nc, LogConfig{Robot: "r"})
	send := func() OutboxStats {
		s, err := NewJetStreamSink(nc, "boot", OutboxConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 100; i++ {
			write(t, s, testDecision("r", uint64(i)))
		}
		closeSink(t, s)
		return s.Stats()
	}
	send()
	if err := e.Restart(); err != nil {
		t.Fatal(err)
	}
	avtest.Poll(t, "the reconnect", nc.IsConnected)
	if st := send(); st.Duplicates != 100 {
		t.Fatalf("after the restart: %+v", st)
	}
	checkExactlyOnce(t, storedSeqs(t, nc, "r", "boot"), 100)
}
