package fusiond

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse/offload"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/sinks/worker"
)

// TestOffloadPublishesFeatureBundles: with fuse.offload the daemon
// publishes feature bundles into the robot's tick stream, numbered from
// 1, and no decisions.
func TestOffloadPublishesFeatureBundles(t *testing.T) {
	nc, logs := startDaemon(t, daemonFiles{}, "fuse.offload=true", "fuse.decisions.enabled=true")
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var s jetstream.Stream
	avtest.Poll(t, "30 feature bundles", func() bool {
		if s == nil {
			s, _ = js.Stream(ctx, worker.TickStream("demo"))
			return false
		}
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs >= 30
	})
	kinds := map[string]int{}
	for seq := uint64(1); seq <= 30; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		b, err := offload.Decode(m.Data)
		if err != nil {
			t.Fatalf("bundle %d: %v", seq, err)
		}
		if b.Robot != "demo" || b.Seq != seq || m.Header.Get("Nats-Msg-Id") != offload.MsgID("demo", b.Boot, seq) {
			t.Fatalf("bundle %d: robot %s seq %d id %s", seq, b.Robot, b.Seq, m.Header.Get("Nats-Msg-Id"))
		}
		kinds[map[bool]string{true: "step", false: "interval"}[b.Tick.Kind == 1]]++
	}
	if kinds["step"] == 0 || kinds["interval"] == 0 {
		t.Fatalf("bundle kinds %v: want steps and intervals", kinds)
	}
	if log, err := js.Stream(ctx, "FUSIOND_demo"); err == nil {
		if info, err := log.Info(ctx); err == nil && info.State.Msgs > 0 {
			t.Fatalf("an offloading robot stored %d decisions of its own", info.State.Msgs)
		}
	}
	if !strings.Contains(logs.String(), "fusion offloaded") {
		t.Errorf("no log line says fusion is offloaded:\n%s", logs)
	}
}

func TestOffloadNeedsJetStream(t *testing.T) {
	_, err := configs.Parse("", nil, []string{"robot=r", "fuse.offload=true", "nats.jetstream.enabled=false"})
	if err == nil || !strings.Contains(err.Error(), "fuse.offload") {
		t.Fatalf("got %v", err)
	}
}
