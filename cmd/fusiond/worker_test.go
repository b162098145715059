package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/sinks/worker"
)

// TestWorkerCLI: fusiond worker add sets up the hub's work and decision
// streams; usage errors exit 2. (The workers themselves: sinks/worker.)
func TestWorkerCLI(t *testing.T) {
	hub, err := server.NewServer(&server.Options{ServerName: "hub", Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(), JetStreamMaxStore: 64 << 20, JetStreamMaxMemory: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	hub.Start()
	defer hub.Shutdown()
	if !hub.ReadyForConnections(10 * time.Second) {
		t.Fatal("hub not ready")
	}
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"worker", "add"}, exitUsage, "bad arguments"},
		{[]string{"worker", "remove", "r1"}, exitUsage, "bad arguments"},
		{[]string{"worker", "--set", "nats.url="}, exitUsage, "no hub"},
		{[]string{"worker", "add", "r1", "r2@dom2", "--hub", hub.ClientURL()}, 0, "sourcing r2's feature bundles (stream FUSIOND_TICKS_r2 in domain dom2)"},
		{[]string{"worker", "add", "bad.id", "--hub", hub.ClientURL()}, exitRuntime, "want ROBOT or ROBOT@DOMAIN"},
	} {
		var stdout, stderr bytes.Buffer
		code := fusiond(c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stdout.String()+stderr.String(), c.out) {
			t.Errorf("%v: exit %d, want %d; output %q, want %q", c.args, code, c.code, stdout.String()+stderr.String(), c.out)
		}
	}
	nc, err := nats.Connect(hub.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, worker.WorkStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.CachedInfo().Config.Sources); n != 2 {
		t.Fatalf("work stream has %d sources, want 2", n)
	}
	d, err := js.Stream(ctx, worker.DecisionStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.CachedInfo().Config.Subjects, " "); got != "fusion.r1.decision.> fusion.r2.decision.>" {
		t.Fatalf("decision stream subjects %q", got)
	}
}
