package client

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

const sample = `{"schema":"fusiond.decision.v1","robot":"demo","kind":"activity","seq":7,
 "time_ns":1795755638492620365,"confidence":0.927,"logit":2.54,
 "contributions":{"audio":1.5,"prior":0,"video":1.04},"missing":[],"degraded":false,
 "evidence":{"audio_coverage":1,"motion_energy":0.51},"latency_ns":{"capture_to_publish":41134670},"new_field":"ignored"}`

// TestDecode: the decoder is sinks/decision's (tested and fuzzed there);
// here, that the re-exported names reach it.
func TestDecode(t *testing.T) {
	d, err := Decode([]byte(sample))
	if err != nil || d.Robot != "demo" || d.Seq != 7 {
		t.Fatalf("%+v %v", d, err)
	}
	if _, err := Decode([]byte(strings.Replace(sample, ".v1", ".v2", 1))); !errors.Is(err, ErrSchema) {
		t.Fatalf("v2: %v", err)
	}
	if _, err := DecodeStatus([]byte(`{"schema":"` + StatusSchema + `"}`)); err != nil {
		t.Fatal(err)
	}
}

func TestSeqOf(t *testing.T) {
	if n, ok := SeqOf("demo-abc123-42"); !ok || n != 42 {
		t.Fatal(n, ok)
	}
	if _, ok := SeqOf("nothing"); ok {
		t.Fatal("parsed")
	}
}

func startServer(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, NoSigs: true,
		StoreDir: t.TempDir(), JetStreamMaxStore: 64 << 20, JetStreamMaxMemory: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	return s
}

func publish(t *testing.T, nc *nats.Conn, robot string, seq int) {
	t.Helper()
	body := strings.Replace(strings.Replace(sample, `"seq":7`, `"seq":`+itoa(seq), 1), `"robot":"demo"`, `"robot":"`+robot+`"`, 1)
	m := &nats.Msg{Subject: DecisionSubject(robot, "activity"), Data: []byte(body), Header: nats.Header{}}
	m.Header.Set(HeaderMsgID, robot+"-b-"+itoa(seq))
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSubscribeAndReplay: live subscription, and replay of the log since a
// time, which then goes on live.
func TestSubscribeAndReplay(t *testing.T) {
	defer goleak.VerifyNone(t)
	s := startServer(t)
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, r := range []string{"r1", "r2"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: StreamName(r), Subjects: []string{DecisionSubject(r, ">")}}); err != nil {
			t.Fatal(err)
		}
	}
	live := make(chan Msg, 100)
	sub, err := Subscribe(nc, "*", func(m Msg) { live <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()
	for i := 1; i <= 3; i++ {
		publish(t, nc, "r1", i)
		publish(t, nc, "r2", i)
	}
	nc.Publish(DecisionSubject("r1", "activity"), []byte(`{"schema":"fusiond.decision.v2","seq":4}`))
	for range 6 {
		m := <-live
		if m.Err != nil || m.MsgID == "" {
			t.Fatalf("live %+v", m)
		}
	}
	if m := <-live; !errors.Is(m.Err, ErrSchema) {
		t.Fatalf("v2 decoded: %+v", m)
	}

	got := make(chan Msg, 100)
	r, err := Replay(ctx, nc, "r1", time.Now().Add(-time.Hour), func(m Msg) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	for i := 1; i <= 3; i++ {
		m := <-got
		if m.Err != nil || m.Decision.Seq != uint64(i) || m.StreamSeq != uint64(i) {
			t.Fatalf("replayed %d: %+v", i, m)
		}
	}
	<-got                   // the v2 message, reported
	publish(t, nc, "r1", 5) // after the replay caught up: live
	if m := <-got; m.Err != nil || m.Decision.Seq != 5 {
		t.Fatalf("live after replay: %+v", m)
	}
	r.Stop()

	all := make(chan Msg, 100)
	ra, err := Replay(ctx, nc, "*", time.Now().Add(-time.Hour), func(m Msg) { all <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Stop()
	n := 0
	for n < 8 {
		<-all
		n++
	}
	if _, err := Replay(ctx, nc, "nobody", time.Now(), func(Msg) {}); !errors.Is(err, ErrNoLog) {
		t.Fatalf("got %v", err)
	}
}
