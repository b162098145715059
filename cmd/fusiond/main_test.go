package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// TestDaemonEndToEnd runs the whole daemon in-process against its embedded
// server and checks what a TCP subscriber receives.
func TestDaemonEndToEnd(t *testing.T) {
	defer goleak.VerifyNone(t)
	port := testenv.FreePort(t)
	cfg := testenv.Config(t, listenArg(port))
	jsonl := filepath.Join(t.TempDir(), "decisions.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &avtest.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runDaemon(ctx, cfg, av.NewRealClock(), daemonFiles{decisions: jsonl}, slog.New(slog.NewTextHandler(logs, nil)))
	}()

	sub := subscribe(t, port)
	msgs := sub.waitFor(t, 10, 30*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon: %v\n%s", err, logs)
	}
	sub.nc.Close()

	sch := decisionSchema(t)
	byID := map[string]string{}
	for _, m := range msgs {
		checkDecision(t, sch, m.Data)
		var d av.Decision
		if err := json.Unmarshal(m.Data, &d); err != nil {
			t.Fatal(err)
		}
		if m.Subject != "fusion.demo.decision."+d.Kind || d.Kind != "activity" && !slices.Contains(fuse.DecisionKinds, d.Kind) {
			t.Fatalf("subject %q kind %q", m.Subject, d.Kind)
		}
		id := m.Header.Get("Nats-Msg-Id")
		if !strings.HasPrefix(id, "demo-") || !strings.HasSuffix(id, "-"+strconv.FormatUint(d.Seq, 10)) {
			t.Fatalf("Nats-Msg-Id %q for seq %d", id, d.Seq)
		}
		if m.Header.Get(sinks.HeaderSchema) != decision.Schema || m.Header.Get(sinks.HeaderCaptureTime) != strconv.FormatInt(d.TimeNS, 10) {
			t.Fatalf("headers %v", m.Header)
		}
		byID[id] = string(m.Data)
	}

	// The JSONL file holds the same decisions, byte for byte, from seq 1.
	f, err := os.Open(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	var matched int
	for sc.Scan() {
		lines++
		checkDecision(t, sch, sc.Bytes())
		var d av.Decision
		json.Unmarshal(sc.Bytes(), &d)
		if d.Seq != uint64(lines) {
			t.Fatalf("line %d has seq %d", lines, d.Seq)
		}
		for _, data := range byID {
			if data == sc.Text() {
				matched++
			}
		}
	}
	if lines < len(msgs) || matched != len(msgs) {
		t.Fatalf("jsonl has %d lines, %d of the %d published decisions", lines, matched, len(msgs))
	}
}

// TestRunBinary builds fusiond and runs it as a user would, with a
// subscriber on the loopback listener.
func TestRunBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	port := testenv.FreePort(t)
	cmd := exec.Command(bin, "run", "--for", "3s", "--set", listenArg(port), "--set", "state_dir="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, port)
	subscribed := time.Now()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("fusiond run: %v\n%s", err, stderr.String())
	}
	listened := time.Since(subscribed)
	msgs := sub.decisions()
	// At least one decision per second of listening (the default interval
	// is 500 ms).
	if len(msgs) < 1 || float64(len(msgs)) < listened.Seconds() {
		t.Fatalf("received %d decisions in %v\n%s", len(msgs), listened, stderr.String())
	}
	sch := decisionSchema(t)
	for _, m := range msgs {
		checkDecision(t, sch, m.Data)
	}
	if !strings.Contains(stderr.String(), "configs/robot.yaml") {
		t.Errorf("no log line pointing at configs/robot.yaml:\n%s", stderr.String())
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fusiond")
	if out, err := exec.Command("go", "build", "-tags", testBuildTags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestSIGTERMDrains: the daemon stops cleanly on SIGTERM, after publishing
// what it had.
func TestSIGTERMDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	port := testenv.FreePort(t)
	out := filepath.Join(t.TempDir(), "d.jsonl")
	cmd := exec.Command(bin, "run", "--set", listenArg(port), "--set", "state_dir="+t.TempDir(), "--set", "fuse.decision_interval=100ms", "--decisions", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, port)
	sub.waitFor(t, 3, 20*time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "fusiond stopped") {
		t.Fatalf("no clean stop logged:\n%s", stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n < 3 {
		t.Fatalf("%d decisions written", n)
	}
}

func TestCommandLine(t *testing.T) {
	defer goleak.VerifyNone(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	good := writeFile(t, "good.yaml", "robot: r2\n")
	bad := writeFile(t, "bad.yaml", "robot: r2\nnats:\n  urll: x\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no args", nil, 2, "", "Usage: fusiond COMMAND"},
		{"help", []string{"help"}, 0, "Commands:", ""},
		{"unknown command", []string{"fly"}, 2, "", `unknown command "fly"`},
		{"version", []string{"version"}, 0, "fusiond ", ""},
		{"run help", []string{"run", "--help"}, 0, "Examples:\n  fusiond run", ""},
		{"help run", []string{"help", "run"}, 0, "--decisions", ""},
		{"tail help", []string{"tail", "--help"}, 0, "--count", ""},
		{"lint help", []string{"lint", "-h"}, 0, "Examples:", ""},
		{"bad flag", []string{"run", "--bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{"bad duration", []string{"run", "--for", "soon"}, 2, "", "invalid value"},
		{"stray argument", []string{"run", "extra"}, 2, "", `unexpected argument "extra"`},
		{"unknown key", []string{"run", "--config", bad}, 2, "", "bad.yaml:3: nats.urll: unknown key"},
		{"bad set", []string{"run", "--set", "nats.urll=x"}, 2, "", "--set nats.urll=x"},
		{"set without value", []string{"run", "--set", "robot"}, 2, "", "want path.to.key=value"},
		{"missing config", []string{"run", "--config", "/nonexistent/robot.yaml"}, 2, "", "/nonexistent/robot.yaml: no such file"},
		{"port in use", []string{"run", "--for", "1s", "--set", "nats.embedded.listen=" + busy.Addr().String()}, 1, "", "address already in use"},
		{"lint ok", []string{"lint", good}, 0, "good.yaml: ok", ""},
		{"lint bad", []string{"lint", good, bad}, 2, "good.yaml: ok", "bad.yaml:3"},
		{"lint nothing", []string{"lint"}, 2, "", "no files given"},
		{"lint unknown URL scheme", []string{"lint", "--set", "nats.url=garbage://x", good}, 2, "", `scheme "garbage"`},
		{"lint long robot id", []string{"lint", "--set", "robot=" + strings.Repeat("r", 250), good}, 2, "", "robot: 250 characters"},
		{"lint NaN", []string{"lint", "--set", "fuse.activity.motion_ref=.nan", good}, 2, "", "not a finite number"},
		{"lint source key", []string{"lint", "--set", "cameras.0.synthetic.sed=1", good}, 2, "", `cameras.0.synthetic.sed: unknown key (did you mean "seed"?)`},
		{"lint source kind", []string{"lint", "--set", "microphones.0.source=alsa", good}, 2, "", "known: media, portaudio, synthetic, wav"},
		{"tail bad robot", []string{"tail", "--robot", "a.b"}, 2, "", "bad arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := fusiond(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
			if tt.code == 2 && tt.stderr != "" && !strings.HasPrefix(tt.name, "no args") && !strings.HasPrefix(tt.name, "unknown command") {
				if n := strings.Count(strings.TrimSpace(stderr.String()), "\n"); n > 0 {
					t.Errorf("want one error line, got %d:\n%s", n+1, stderr.String())
				}
			}
		})
	}
}
