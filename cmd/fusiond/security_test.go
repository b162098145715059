package main

import (
	"bytes"
	"context"
	"errors"
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
)

// TestForgedDecisionMarkedByTail: the daemon signs its decisions; a
// decision another client publishes (here an admin account, the only
// other kind allowed to) is marked by tail --verify, unsigned or forged,
// and tail exits 1; the daemon's own decisions print as they are.
func TestForgedDecisionMarkedByTail(t *testing.T) {
	defer goleak.VerifyNone(t)
	port := testenv.FreePort(t)
	cfg, err := configs.Parse("users.yaml", []byte("nats:\n  embedded:\n    users:\n      - {user: evil, password: evilpw, role: admin}\n      - {user: ops, password: opspw}\n"),
		[]string{"cameras.0.width=64", "cameras.0.height=48", "microphones.0.rate_hz=16000", "fuse.decision_interval=100ms",
			listenArg(port), "metrics.listen=", "nats.signing.key_file=" + filepath.Join(t.TempDir(), "k.nk"), "state_dir=" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, cfg, av.NewRealClock(), daemonFiles{}, slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	var evil *nats.Conn
	avtest.Poll(t, "the server", func() bool {
		var err error
		evil, err = nats.Connect(url, nats.UserInfo("evil", "evilpw"))
		return err == nil
	})
	defer evil.Close()
	var st sinks.StatusReport
	avtest.Poll(t, "the status", func() bool { return sinks.Request(evil, "demo", "status", nil, &st, time.Second) == nil })
	if !strings.HasPrefix(st.SigningKey, "U") {
		t.Fatalf("status has no signing key: %+v", st)
	}

	os.Setenv("NATS_PASSWORD", "opspw")
	defer os.Unsetenv("NATS_PASSWORD")
	out, errOut := &avtest.LogBuffer{}, &avtest.LogBuffer{}
	tailDone := make(chan int, 1)
	go func() {
		tailDone <- cmdTail([]string{"--server", url, "--user", "ops", "--robot", "demo", "--json", "--for", "15s", "--verify", st.SigningKey}, out, errOut)
	}()
	avtest.Poll(t, "a real decision tailed", func() bool { return strings.Contains(out.String(), `"schema":"fusiond.decision.v1"`) })
	unsigned := &nats.Msg{Subject: "fusion.demo.decision.speech", Header: nats.Header{},
		Data: []byte(`{"schema":"fusiond.decision.v1","robot":"demo","kind":"speech","seq":1,"confidence":1,"state":"active"}`)}
	forged := &nats.Msg{Subject: unsigned.Subject, Data: unsigned.Data,
		Header: nats.Header{sinks.HeaderSignature: []string{strings.Repeat("A", 86)}}}
	for _, m := range []*nats.Msg{unsigned, forged} {
		if err := evil.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	evil.Flush()
	code := <-tailDone
	got := out.String()
	if code != exitRuntime || !strings.Contains(got, `"rejected":"unsigned"`) || !strings.Contains(got, `"rejected":"forged"`) ||
		strings.Count(got, `"rejected"`) != 2 {
		t.Fatalf("tail exit %d, stdout:\n%s\nstderr:\n%s", code, got, errOut)
	}
}

// TestSecondDaemonRefused: two daemons with one robot id on one server
// (an external nats-server on loopback): the second is refused at start
// with a clear error and exit 1; once the first stops, it starts. The
// password in nats.url appears in no log, error or ctl.config answer.
func TestSecondDaemonRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	srv, err := sinks.StartEmbedded(sinks.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir(),
		Users: []sinks.EmbeddedUser{{Name: "robot", Password: "urlS3cretpw", Role: sinks.RoleAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	url := "nats://robot:urlS3cretpw@" + srv.Addr()
	start := func(runFor string) (*exec.Cmd, *avtest.LogBuffer) {
		logs := &avtest.LogBuffer{}
		cmd := exec.Command(bin, "run", "--for", runFor, "--set", "state_dir="+t.TempDir(), "--set", "nats.url="+url, "--set", "nats.embedded.listen=",
			"--set", "metrics.listen=", "--set", "fuse.decision_interval=100ms", "--set", "nats.lease.ttl=2s",
			"--set", "log.format=text")
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, logs
	}
	a, aLogs := start("60s")
	defer a.Process.Kill()
	own, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	js, _ := jetstream.New(own)
	avtest.Poll(t, "the first daemon's lease", func() bool {
		kv, err := js.KeyValue(context.Background(), sinks.LeaseBucket)
		if err != nil {
			return false
		}
		_, err = kv.Get(context.Background(), "demo")
		return err == nil
	})
	var conf bytes.Buffer
	avtest.Poll(t, "ctl.config", func() bool {
		m, err := own.Request("fusion.demo.ctl.config", nil, time.Second)
		if err == nil {
			conf.Write(m.Data)
		}
		return err == nil
	})
	if strings.Contains(conf.String(), "urlS3cretpw") || !strings.Contains(conf.String(), "[redacted]@") {
		t.Fatalf("ctl.config: %s", conf.String())
	}

	b, bLogs := start("60s")
	err = b.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitRuntime || !strings.Contains(bLogs.String(), "another fusiond holds this robot id") {
		t.Fatalf("second daemon: %v\n%s", err, bLogs)
	}

	a.Process.Signal(syscall.SIGTERM)
	if err := a.Wait(); err != nil {
		t.Fatalf("first daemon: %v\n%s", err, aLogs)
	}
	c, cLogs := start("1s")
	if err := c.Wait(); err != nil {
		t.Fatalf("after the first stopped: %v\n%s", err, cLogs)
	}
	for name, l := range map[string]string{"first": aLogs.String(), "second": bLogs.String(), "third": cLogs.String()} {
		if strings.Contains(l, "urlS3cretpw") {
			t.Errorf("the %s daemon logged the password:\n%s", name, l)
		}
	}
}
