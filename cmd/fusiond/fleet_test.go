package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/decision"
	"github.com/seed-4c364652/fusiond/sinks/fleet"
)

// TestFleetCLI: fusiond fleet against a one-node hub with one robot
// joined as a leaf node: add --discovered, list, status, tail --fleet
// (verified), remove, and the usage errors.
func TestFleetCLI(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*stream).trySetupSourceConsumer.func3"))
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
	e, err := sinks.StartEmbedded(sinks.EmbeddedConfig{Domain: "r1", LeafRemotes: []string{fmt.Sprintf("nats-leaf://127.0.0.1:%d", leafPort)}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := sinks.EnsureLog(ctx, nc, "", sinks.LogConfig{Robot: "r1"}); err != nil {
		t.Fatal(err)
	}
	kp, _ := nkeys.CreateUser()
	signer, _ := sinks.NewSigner(kp)
	sink, err := sinks.NewJetStreamSink(nc, "b1", sinks.OutboxConfig{Signer: signer, Stream: "FUSIOND_r1"})
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 3; seq++ {
		d := &av.Decision{Decision: decision.Decision{Schema: decision.Schema, Robot: "r1", Kind: "activity", Seq: seq,
			TimeNS: int64(seq) * 1e9, Confidence: 0.5, Contributions: map[string]float64{"prior": 0}, Missing: []string{}, Evidence: map[string]float64{}}}
		payload, err := sinks.EncodeDecision(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.WriteDecision(d, payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}

	url := hub.ClientURL()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		if args[0] == "fleet" {
			args = append(args, "--set", "fleet.max_bytes=33554432")
		}
		code := fusiond(args, &out, &errb)
		return code, out.String(), errb.String()
	}
	for _, bad := range [][]string{
		{"fleet"}, {"fleet", "add", "--server", url}, {"fleet", "add", "--discovered", "r1", "--server", url},
		{"fleet", "remove", "--server", url}, {"fleet", "status", "r1", "--server", url}, {"fleet", "fly", "--server", url},
		{"fleet", "add", "r.1", "--server", url}, {"fleet", "list"},
	} {
		if code, _, _ := run(bad...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
	}
	if code, _, stderr := run("fleet", "list", "--server", url); code != exitRuntime || !strings.Contains(stderr, "no hub stream yet") {
		t.Fatalf("list before add: exit %d, %s", code, stderr)
	}
	// The robot's answer to discover needs its leaf link up.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, stdout, stderr := run("fleet", "add", "--discovered", "--wait", "300ms", "--server", url)
		if code == exitOK {
			if !strings.Contains(stdout, "sourcing r1 (stream FUSIOND_r1 in domain r1)") {
				t.Fatalf("add --discovered: %s", stdout)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("add --discovered: exit %d: %s", code, stderr)
		}
	}
	if code, stdout, _ := run("fleet", "list", "--server", url); code != exitOK || !strings.Contains(stdout, "r1     r1      FUSIOND_r1") {
		t.Fatalf("list: exit %d:\n%s", code, stdout)
	}
	var st []fleet.RobotStatus
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, stdout, stderr := run("fleet", "status", "--json", "--server", url)
		if code != exitOK {
			t.Fatalf("status: exit %d: %s", code, stderr)
		}
		if err := json.Unmarshal([]byte(stdout), &st); err != nil {
			t.Fatal(err)
		}
		if len(st) == 1 && st[0].HubMsgs == 3 && st[0].LagMsgs == 0 && st[0].Reachable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status: %s", stdout)
		}
	}
	if code, stdout, _ := run("fleet", "status", "--server", url); code != exitOK || !strings.Contains(stdout, "LAST CONTACT") || !strings.Contains(stdout, "r1") {
		t.Fatalf("status: exit %d:\n%s", code, stdout)
	}
	code, stdout, stderr := run("tail", "--fleet", "--since", "1h", "--count", "3", "--json", "--verify", signer.PublicKey(), "--server", url, "--for", "20s")
	if code != exitOK || strings.Count(stdout, "\n") != 3 || strings.Contains(stdout, "rejected") {
		t.Fatalf("tail --fleet: exit %d: %s\n%s", code, stdout, stderr)
	}
	if code, stdout, _ := run("fleet", "remove", "r1", "--server", url); code != exitOK || stdout != "removed r1\n" {
		t.Fatalf("remove: exit %d: %s", code, stdout)
	}
	if code, _, stderr := run("fleet", "remove", "r1", "--server", url); code != exitRuntime || !strings.Contains(stderr, "not sourced") {
		t.Fatalf("remove again: exit %d: %s", code, stderr)
	}
}
