package sinks

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/sinks/client"
)

// TestLeafNodeJoinsHub: a robot's embedded server joins a fleet hub as a
// leaf node with its own JetStream domain. The hub hears the robot's
// decisions live, and reads the robot's decision log through the domain.
func TestLeafNodeJoinsHub(t *testing.T) {
	defer goleak.VerifyNone(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	leafPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	hub, err := server.NewServer(&server.Options{ServerName: "hub", Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, JetStreamDomain: "hub", StoreDir: t.TempDir(), JetStreamMaxStore: 64 << 20, JetStreamMaxMemory: 8 << 20,
		LeafNode: server.LeafNodeOpts{Host: "127.0.0.1", Port: leafPort}})
	if err != nil {
		t.Fatal(err)
	}
	hub.Start()
	defer func() { hub.Shutdown(); hub.WaitForShutdown() }()
	if !hub.ReadyForConnections(10 * time.Second) {
		t.Fatal("hub not ready")
	}
	leafURL := fmt.Sprintf("nats-leaf://127.0.0.1:%d", leafPort)
	e, err := StartEmbedded(EmbeddedConfig{Domain: "robot1", LeafRemotes: []string{leafURL}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	avtest.Poll(t, "the leaf connection", func() bool { return hub.NumLeafNodes() == 1 })

	hubNC, err := nats.Connect(hub.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer hubNC.Close()
	live, err := hubNC.SubscribeSync(client.DecisionSubject("*", ">"))
	if err != nil {
		t.Fatal(err)
	}
	hubNC.Flush()

	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ensure(t, nc, LogConfig{Robot: "r1"})
	// The hub's subscription reaches the leaf asynchronously.
	avtest.Poll(t, "the hub's interest on the leaf", func() bool {
		nc.Publish("fusion.probe.decision.x", nil)
		_, err := live.NextMsg(20 * time.Millisecond)
		return err == nil
	})
	for { // drain late probes
		if _, err := live.NextMsg(50 * time.Millisecond); err != nil {
			break
		}
	}
	s, err := NewJetStreamSink(nc, "b", OutboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		write(t, s, testDecision("r1", uint64(i)))
	}
	closeSink(t, s)
	for got := 0; got < 5; {
		m, err := live.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("hub live: %v", err)
		}
		if m.Subject == "fusion.r1.decision.activity" {
			got++
		}
	}
	js, err := jetstream.NewWithDomain(hubNC, "robot1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, client.StreamName("r1"))
	if err != nil {
		t.Fatalf("the robot's log from the hub: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil || info.State.Msgs != 5 {
		t.Fatalf("log from the hub: %v, %+v", err, info)
	}
	// The hub's own JetStream has no decision log: it stayed on the robot.
	hubJS, _ := jetstream.New(hubNC)
	if _, err := hubJS.Stream(ctx, client.StreamName("r1")); err == nil {
		t.Fatal("the decision log is on the hub")
	}
}
