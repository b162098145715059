package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

func TestEmbeddedInProcessOnly(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := StartEmbedded(EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Addr() != "" {
		t.Fatalf("listening on %s", e.Addr())
	}
	store := e.tempDir
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nc.SubscribeSync("fusion.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("fusion.r.status", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	e.Shutdown()
	if _, err := os.Stat(store); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary store %s left behind: %v", store, err)
	}
}

func TestEmbeddedListenerAndJetStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	store := t.TempDir()
	e, err := StartEmbedded(EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := nats.Connect("nats://" + e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(); err != nil {
		t.Fatalf("JetStream is not on: %v", err)
	}
	if _, err := os.Stat(filepath.Join(store, "jetstream")); err != nil {
		t.Fatalf("JetStream does not use the configured store: %v", err)
	}
}

func TestEmbeddedPortInUse(t *testing.T) {
	defer goleak.VerifyNone(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = StartEmbedded(EmbeddedConfig{Listen: l.Addr().String()})
	if !errors.Is(err, ErrListen) || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Fatalf("got %v", err)
	}
}

// TestExternalServerLater: a robot whose NATS server boots after fusiond
// gets one log line, and its decisions flow once the server is up.
func TestExternalServerLater(t *testing.T) {
	defer goleak.VerifyNone(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	logs := &avtest.LogBuffer{}
	nc, err := ConnectExternal(ExternalConfig{URL: "nats://" + addr, User: "robot", Password: "pw"}, slog.New(slog.NewTextHandler(logs, nil)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.IsConnected() {
		t.Fatal("connected to nothing")
	}
	// Published before the server exists: buffered, not lost.
	if err := nc.Publish("fusion.r.decision.activity", []byte("early")); err != nil {
		t.Fatal(err)
	}
	avtest.Poll(t, "a failed reconnect", func() bool { return strings.Contains(logs.String(), "not reachable") })

	e, err := StartEmbedded(EmbeddedConfig{Listen: addr, Users: []EmbeddedUser{{Name: "robot", Password: "pw", Role: RoleAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	sub, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ch := make(chan *nats.Msg, 4)
	if _, err := sub.ChanSubscribe("fusion.>", ch); err != nil {
		t.Fatal(err)
	}
	sub.Flush()
	avtest.Poll(t, "the connection", nc.IsConnected)
	if err := nc.Publish("fusion.r.decision.activity", []byte("late")); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	for m := range ch {
		if string(m.Data) == "late" {
			break
		}
	}
	if n := strings.Count(logs.String(), "not reachable"); n != 1 {
		t.Fatalf("logged the missing server %d times:\n%s", n, logs)
	}
}

type failingSink struct{ n int }

func (s *failingSink) WriteDecision(*av.Decision, []byte) error {
	s.n++
	return errors.New("disk full")
}

func TestRunEncodesOnceAndCountsFailures(t *testing.T) {
	defer goleak.VerifyNone(t)
	path := filepath.Join(t.TempDir(), "d.jsonl")
	j, err := CreateJSONL(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := &failingSink{}
	in := make(chan *av.Decision, 3)
	for i := range 3 {
		in <- &av.Decision{Decision: decision.Decision{Schema: decision.Schema, Robot: "r", Kind: "activity", Seq: uint64(i + 1),
			Contributions: map[string]float64{"prior": 0}, Missing: []string{}, Evidence: map[string]float64{}},
			Stamps: av.Stamps{10, 20, 30, 40}}
	}
	close(in)
	logs := &avtest.LogBuffer{}
	drops := av.NewDrops()
	clock := av.NewVirtualClock(100)
	if err := Run(context.Background(), clock, in, []Sink{j, bad}, drops, slog.New(slog.NewTextHandler(logs, nil))); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if bad.n != 3 || drops.Get("sink:1", av.DropSinkError) != 3 {
		t.Fatalf("failures: %d written, %v counted", bad.n, drops.Snapshot())
	}
	if n := strings.Count(logs.String(), "disk full"); n != 1 {
		t.Fatalf("logged the failure %d times", n)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	var d av.Decision
	if err := json.Unmarshal([]byte(lines[2]), &d); err != nil {
		t.Fatal(err)
	}
	if d.Seq != 3 || d.LatencyNS["capture_to_publish"] != 90 || d.LatencyNS["fuse_to_publish"] != 60 {
		t.Fatalf("decoded %+v", d)
	}
}

func TestSubjects(t *testing.T) {
	if DecisionSubject("r2", "activity") != "fusion.r2.decision.activity" || StatusSubject("r2") != "fusion.r2.status" {
		t.Fatal("subjects changed: they are part of the interface")
	}
}

func TestStatusIsPublished(t *testing.T) {
	defer goleak.VerifyNone(t)
	_, nc, closeServer := startEmbeddedConn(t)
	defer closeServer()
	sub, _ := nc.SubscribeSync(StatusSubject("r"))
	nc.Flush()
	clock := av.NewVirtualClock(0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	drops := av.NewDrops()
	drops.Add("cam0", av.DropQueueFull, 2)
	go func() {
		done <- RunStatus(ctx, clock, 1000, nc, "r", func() Status { return Status{Drops: DropCounts(drops.Snapshot())} })
	}()
	// Advance the clock until a status comes: RunStatus reads the clock
	// once when it starts, which may be before or after any one step.
	var m *nats.Msg
	var err error
	avtest.Poll(t, "a status message", func() bool {
		clock.Advance(1000)
		m, err = sub.NextMsg(10 * time.Millisecond)
		return err == nil
	})
	cancel()
	<-done
	var st Status
	json.Unmarshal(m.Data, &st)
	if st.Schema != StatusSchema || st.Robot != "r" || st.TimeNS < 1000 || len(st.Drops) != 1 || st.Drops[0].Count != 2 {
		t.Fatalf("status %s", m.Data)
	}
}

// startEmbeddedConn starts an embedded server with the defaults and
// connects the daemon's own (admin) client; done closes both. Call it
// after deferring goleak.VerifyNone, and defer done, so they close first.
func startEmbeddedConn(t *testing.T) (*Embedded, *nats.Conn, func()) {
	t.Helper()
	e, err := StartEmbedded(EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := e.Connect()
	if err != nil {
		e.Shutdown()
		t.Fatal(err)
	}
	return e, nc, func() {
		nc.Close()
		e.Shutdown()
	}
}
