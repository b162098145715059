package main

import (
	"bytes"
	"context"
	"fmt"
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

	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/client"
)

// robotUser is the daemon's account on a test's external server: the
// admin role (clients without credentials only read).
var robotUser = []sinks.EmbeddedUser{{Name: "robot", Password: "pw", Role: sinks.RoleAdmin}}

// binDaemon is a fusiond binary running for a test.
type binDaemon struct {
	cmd       *exec.Cmd
	stderr    *bytes.Buffer
	decisions string
	exited    chan error
}

func startBinaryDaemon(t *testing.T, bin, decisions string, args ...string) *binDaemon {
	t.Helper()
	d := &binDaemon{stderr: &bytes.Buffer{}, decisions: decisions, exited: make(chan error, 1)}
	d.cmd = exec.Command(bin, append(append([]string{"run"}, args...), "--decisions", decisions)...)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.exited
		d.exited <- nil
	})
	return d
}

// lines returns the whole lines of the daemon's --decisions file.
func (d *binDaemon) lines() []string {
	b, _ := os.ReadFile(d.decisions)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return strings.Split(string(b[:i]), "\n")
	} else {
		return nil
	}
}

// waitLines waits until the daemon has written n more decisions than it had.
func (d *binDaemon) waitLines(t *testing.T, n int) {
	t.Helper()
	from := len(d.lines())
	avtest.Poll(t, fmt.Sprintf("%d more decisions in %s", n, d.decisions), func() bool { return len(d.lines()) >= from+n })
}

func (d *binDaemon) kill(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	d.exited <- nil
}

// TestChaosEveryDecisionOnce: over one run of daemons, each SIGKILLed in
// turn, the external server restarted several times (once while no daemon
// runs, once with decisions piling up in the outbox) and the stream's
// duplicate window let pass once, every decision any daemon wrote to
// --decisions is in the decision log exactly once, and no message id is
// stored twice.
func TestChaosEveryDecisionOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, runs for about 30 s")
	}
	bin := buildBinary(t)
	port := testenv.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	srv, err := sinks.StartEmbedded(sinks.EmbeddedConfig{Listen: addr, StoreDir: t.TempDir(), Users: robotUser})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	state, out := t.TempDir(), t.TempDir()
	args := []string{"--set", "nats.url=nats://" + addr, "--set", "nats.user=robot", "--set", "nats.password=pw", "--set", "state_dir=" + state,
		"--set", "fuse.decision_interval=20ms", "--set", "nats.reconnect_wait=20ms", "--set", "nats.jetstream.ack_timeout=200ms",
		"--set", "nats.control=false", "--set", "metrics.listen=", "--set", "log.format=text", "--set", "nats.lease.ttl=2s",
		"--set", "cameras.0.width=64", "--set", "cameras.0.height=48", "--set", "microphones.0.rate_hz=16000"}
	var runs []*binDaemon
	// next starts the next daemon as a supervisor (systemd's
	// Restart=always) would: a start refused while the killed one's lease
	// has not expired yet (nats.lease.ttl) is tried again.
	next := func() *binDaemon {
		path := filepath.Join(out, fmt.Sprintf("d%d.jsonl", len(runs)))
		for try := 0; ; try++ {
			d := startBinaryDaemon(t, bin, path, args...)
			refused := false
			avtest.Poll(t, "a decision or a refusal", func() bool {
				select {
				case <-d.exited:
					d.exited <- nil
					refused = true
					return true
				default:
					return len(d.lines()) > 0
				}
			})
			if !refused {
				runs = append(runs, d)
				return d
			}
			if !strings.Contains(d.stderr.String(), "holds this robot id") || try == 50 {
				t.Fatalf("daemon %d ended:\n%s", len(runs), d.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	restart := func() {
		srv.Stop()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
	}

	// 1. The server restarts under a running daemon, which is then killed.
	d := next()
	d.waitLines(t, 30)
	restart()
	d.waitLines(t, 30)
	d.kill(t)
	// 2. The server goes down; decisions pile up in the outbox; the daemon
	// is killed; the server comes back before the next daemon.
	d = next()
	d.waitLines(t, 20)
	srv.Stop()
	d.waitLines(t, 30)
	d.kill(t)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// 3. Killed with its outbox re-sending those, and acks in flight.
	d = next()
	d.waitLines(t, 25)
	d.kill(t)
	// 4. Killed; the next start comes after the duplicate window (cut
	// short here: the daemon keeps it at 2m or more): the log alone tells
	// what was stored.
	d = next()
	d.waitLines(t, 25)
	d.kill(t)
	setDuplicateWindow(t, srv, 300*time.Millisecond)
	time.Sleep(time.Second)
	// 5. The server restarts twice under the last daemon, which ends with
	// SIGTERM and every decision acked.
	d = next()
	d.waitLines(t, 20)
	restart()
	d.waitLines(t, 20)
	restart()
	d.waitLines(t, 20)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-d.exited; err != nil {
		t.Fatalf("last daemon: %v\n%s", err, d.stderr)
	}
	d.exited <- nil
	if !strings.Contains(d.stderr.String(), "every decision acked") {
		t.Fatalf("last daemon:\n%s", d.stderr)
	}

	nc, err := nats.Connect("nats://"+addr, nats.UserInfo("robot", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	payloads, ids := logPayloads(t, nc, client.StreamName("demo"))
	for id, n := range ids {
		if n != 1 {
			t.Errorf("message id %s stored %d times", id, n)
		}
	}
	written := 0
	for i, r := range runs {
		for _, line := range r.lines() {
			written++
			if n := payloads[line]; n != 1 {
				t.Errorf("run %d: decision stored %d times: %.100s…", i, n, line)
			}
		}
	}
	if written == 0 || t.Failed() {
		t.Fatalf("%d decisions written, %d stored", written, len(ids))
	}
	segs, _ := filepath.Glob(filepath.Join(state, "outbox", "seg-*.wal"))
	if len(segs) != 0 {
		t.Fatalf("outbox files left after every decision was acked: %v", segs)
	}
	t.Logf("%d decisions written by %d daemons, %d stored", written, len(runs), len(ids))
}

// setDuplicateWindow sets the demo log's duplicate window (the daemon
// itself never sets one under 2m).
func setDuplicateWindow(t *testing.T, srv *sinks.Embedded, d time.Duration) {
	t.Helper()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, client.StreamName("demo"))
	if err != nil {
		t.Fatal(err)
	}
	sc := st.CachedInfo().Config
	sc.Duplicates = d
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
}

// logPayloads reads a whole stream: how many times each payload and each
// message id is stored.
func logPayloads(t *testing.T, nc *nats.Conn, stream string) (payloads, ids map[string]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	payloads, ids = map[string]int{}, map[string]int{}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range st.CachedInfo().State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		payloads[string(m.Data())]++
		ids[m.Headers().Get(nats.MsgIdHdr)]++
	}
	return payloads, ids
}

// TestSignalEndsRunWithServerDown: with nats.url down until the outbox is
// full, SIGTERM and --for still end the process within drain_timeout and
// a second (it used to wait for outbox space forever), and what the
// outbox held is in its file for the next start.
func TestSignalEndsRunWithServerDown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	const drain = 500 * time.Millisecond
	for _, tc := range []struct {
		name   string
		args   []string
		signal bool
	}{
		{"SIGTERM", nil, true},
		{"--for", []string{"--for", "12s"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
			args := append([]string{"--set", "nats.url=nats://" + addr, "--set", "nats.user=robot", "--set", "nats.password=pw", "--set", "state_dir=" + state,
				"--set", "nats.jetstream.outbox=4", "--set", "nats.jetstream.window=2", "--set", "fuse.decision_interval=10ms",
				"--set", "pipeline.drain_timeout=" + drain.String(), "--set", "metrics.listen=", "--set", "log.format=text",
				"--set", "nats.reconnect_wait=50ms"}, tc.args...)
			start := time.Now()
			d := startBinaryDaemon(t, bin, filepath.Join(t.TempDir(), "d.jsonl"), args...)
			limit := drain + time.Second + 2*time.Second // + process start and a loaded machine
			if tc.signal {
				// The outbox is full: 4 decisions in, the pipeline blocked.
				d.waitLines(t, 4)
				time.Sleep(300 * time.Millisecond)
				start = time.Now()
				if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			} else {
				limit += 12 * time.Second
			}
			select {
			case err := <-d.exited:
				d.exited <- nil
				if err != nil {
					t.Fatalf("exit: %v\n%s", err, d.stderr)
				}
			case <-time.After(limit):
				t.Fatalf("still running %v after the stop\n%s", limit, d.stderr)
			}
			t.Logf("ended %v after the stop", time.Since(start).Round(10*time.Millisecond))
			if !strings.Contains(d.stderr.String(), "kept in") {
				t.Fatalf("no word of the decisions kept:\n%s", d.stderr)
			}
			segs, _ := filepath.Glob(filepath.Join(state, "outbox", "seg-*.wal"))
			if n := len(d.lines()); len(segs) == 0 || n != 4 {
				t.Fatalf("%d outbox files kept, %d decisions written (want the 4 the outbox holds)", len(segs), n)
			}
			if !tc.signal {
				return
			}
			// The server comes up; the next start sends what was kept.
			srv, err := sinks.StartEmbedded(sinks.EmbeddedConfig{Listen: addr, StoreDir: t.TempDir(), Users: robotUser})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Shutdown()
			d2 := startBinaryDaemon(t, bin, filepath.Join(t.TempDir(), "d2.jsonl"), append(args, "--for", "1s")...)
			if err := <-d2.exited; err != nil {
				t.Fatalf("second run: %v\n%s", err, d2.stderr)
			}
			d2.exited <- nil
			nc, err := srv.Connect()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			payloads, _ := logPayloads(t, nc, client.StreamName("demo"))
			for _, line := range d.lines() {
				if payloads[line] != 1 {
					t.Fatalf("a decision kept at SIGTERM stored %d times after the next start\n%s", payloads[line], d2.stderr)
				}
			}
		})
	}
}
