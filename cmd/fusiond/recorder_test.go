package main

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
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
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks"
)

// startDaemon runs the daemon in-process with its embedded server on a free
// port and returns a client connection; the daemon stops at cleanup.
func startDaemon(t *testing.T, files daemonFiles, sets ...string) (*nats.Conn, *avtest.LogBuffer) {
	t.Helper()
	port := freePort(t)
	cfg := testConfig(t, append([]string{listenArg(port)}, sets...)...)
	// record.* need the operator role (clients without credentials are
	// readers).
	cfg.NATS.Embedded.Users = []configs.EmbeddedUser{{User: "op", Password: "oppw", Role: "operator"}}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &avtest.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runDaemon(ctx, cfg, av.NewRealClock(), files, slog.New(slog.NewTextHandler(logs, nil)))
	}()
	var nc *nats.Conn
	avtest.Poll(t, "the server", func() bool {
		var err error
		nc, err = nats.Connect("nats://127.0.0.1:"+strconv.Itoa(port), nats.UserInfo("op", "oppw"))
		return err == nil
	})
	avtest.Poll(t, "the control plane", func() bool {
		_, err := ctlRequest(nc, "sources", "")
		return err == nil
	})
	t.Cleanup(func() {
		nc.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v\n%s", err, logs)
		}
	})
	return nc, logs
}

func ctlRequest(nc *nats.Conn, endpoint, body string) (map[string]any, error) {
	var v any
	err := sinks.Request(nc, "demo", endpoint, []byte(body), &v, 5*time.Second)
	m, _ := v.(map[string]any)
	return m, err
}

// readRecording reads a recording to its end and returns its message count
// and the error that ended the reading (nil at a clean end).
func readRecording(t *testing.T, path string) (int, error) {
	t.Helper()
	r, err := recording.Open(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// TestRecordStartIsConfined: record.start writes only new regular files
// inside record.dir; paths, .., symlinks and existing files are refused
// and touch nothing; record.max_bytes ends a recording cleanly.
func TestRecordStartIsConfined(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the daemon's cleanup
	base := t.TempDir()
	dir, outside := filepath.Join(base, "rec"), filepath.Join(base, "outside")
	os.MkdirAll(dir, 0o755)
	os.MkdirAll(outside, 0o755)
	victim := filepath.Join(outside, "victim")
	os.WriteFile(victim, []byte("keep me"), 0o644)
	os.Symlink(victim, filepath.Join(dir, "link.mcap"))
	os.WriteFile(filepath.Join(dir, "exists.mcap"), []byte("keep me"), 0o644)

	nc, logs := startDaemon(t, daemonFiles{}, "record.dir="+dir, "record.max_bytes=200000", "record.chunk_bytes=4096", "record.flush_interval=50ms")
	for _, name := range []string{"../outside/new.mcap", victim, filepath.Join(outside, "abs.mcap"), "sub/x.mcap", "..", ".", "link.mcap", "exists.mcap", "a\x00b"} {
		body := strconv.Quote(name)
		if _, err := ctlRequest(nc, "record.start", `{"path": `+body+`}`); err == nil {
			t.Fatalf("record.start %q was accepted", name)
		}
	}
	for _, p := range []string{victim, filepath.Join(dir, "exists.mcap")} {
		if data, _ := os.ReadFile(p); string(data) != "keep me" {
			t.Fatalf("%s was changed: %q", p, data)
		}
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Fatalf("files outside record.dir: %v", entries)
	}

	// A bare name records in record.dir; stop answers its stats.
	v, err := ctlRequest(nc, "record.start", `{"path": "ok.mcap"}`)
	if err != nil || v["path"] != filepath.Join(dir, "ok.mcap") {
		t.Fatalf("record.start ok.mcap: %v %v", v, err)
	}
	if _, err := ctlRequest(nc, "record.start", `{"path": "second.mcap"}`); err == nil || !strings.Contains(err.Error(), "already recording") {
		t.Fatalf("a second record.start: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // record something
	if v, err := ctlRequest(nc, "record.stop", ""); err != nil || v["messages"].(float64) == 0 {
		t.Fatalf("record.stop: %v %v", v, err)
	}
	if n, err := readRecording(t, filepath.Join(dir, "ok.mcap")); err != nil || n == 0 {
		t.Fatalf("ok.mcap: %d messages, %v", n, err)
	}

	// record.max_bytes: the recording ends by itself, whole, and says so.
	if _, err := ctlRequest(nc, "record.start", `{"path": "big.mcap"}`); err != nil {
		t.Fatal(err)
	}
	avtest.Poll(t, "the size limit", func() bool { return strings.Contains(logs.String(), "record.max_bytes reached") })
	avtest.Poll(t, "the recording's end", func() bool { return strings.Contains(logs.String(), "big.mcap messages=") })
	if _, err := ctlRequest(nc, "record.stop", ""); err == nil || !strings.Contains(err.Error(), "not recording") {
		t.Fatalf("record.stop after the limit: %v", err)
	}
	st, _ := os.Stat(filepath.Join(dir, "big.mcap"))
	if n, err := readRecording(t, filepath.Join(dir, "big.mcap")); err != nil || n == 0 || st.Size() > 200000+64<<10 {
		t.Fatalf("big.mcap: %d messages, %d bytes, %v", n, st.Size(), err)
	}
}

// TestOperatorRecordingIsNotStoppedRemotely: --record cannot be stopped or
// replaced over NATS.
func TestOperatorRecordingIsNotStoppedRemotely(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the daemon's cleanup
	dir := t.TempDir()
	op := filepath.Join(dir, "operator.mcap")
	nc, _ := startDaemon(t, daemonFiles{record: op}, "record.dir="+dir)
	if _, err := ctlRequest(nc, "record.stop", ""); err == nil || !strings.Contains(err.Error(), "--record") {
		t.Fatalf("record.stop of the operator's recording: %v", err)
	}
	if _, err := ctlRequest(nc, "record.start", `{"path": "mine.mcap"}`); err == nil || !strings.Contains(err.Error(), "operator.mcap") {
		t.Fatalf("record.start during the operator's recording: %v", err)
	}
}

// TestRecordStopWithAStuckWriter: a recording to a FIFO nobody reads;
// record.stop returns within a second, says why, and the next recording
// starts and stops.
func TestRecordStopWithAStuckWriter(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	reader, err := os.OpenFile(fifo, os.O_RDWR, 0) // a reader that never reads
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	cfg := testConfig(t, "record.dir="+dir, "record.chunk_bytes=1024")
	logs := &avtest.LogBuffer{}
	rec := newRecorder(cfg, av.NewRealClock(), slog.New(slog.NewTextHandler(logs, nil)))
	err = rec.startWith(fifo, false, func() (*os.File, error) {
		return os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	pool := av.NewFramePool(64, 48, av.BGR24, 4)
	for i := range 40 { // 9 KB each: more than the pipe holds
		f := pool.Get()
		rand.Read(f.Pix) // incompressible
		f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = "cam0", uint64(i), int64(i)*1e6, int64(i)*1e6
		rec.sample(f)
		f.Release()
	}
	avtest.Poll(t, "a full pipe", func() bool { return rec.cur.w.Size() > 32<<10 })

	start := time.Now()
	_, err = rec.StopRecording(context.Background())
	if took := time.Since(start); took > time.Second || err == nil || !strings.Contains(err.Error(), "no progress") {
		t.Fatalf("record.stop took %v: %v", took, err)
	}
	if _, err := rec.StartRecording(context.Background(), []byte(`{"path": "next.mcap"}`)); err != nil {
		t.Fatalf("the next recording: %v", err)
	}
	if _, err := rec.StopRecording(context.Background()); err != nil {
		t.Fatalf("the next record.stop: %v", err)
	}
	if n, err := readRecording(t, filepath.Join(dir, "next.mcap")); err != nil {
		t.Fatalf("next.mcap: %d messages, %v", n, err)
	}
}

// TestRecordMaxDuration: a control-plane recording ends by itself after
// record.max_duration, logged, and reads to its end.
func TestRecordMaxDuration(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	cfg := testConfig(t, "record.dir="+dir, "record.max_duration=200ms")
	logs := &avtest.LogBuffer{}
	rec := newRecorder(cfg, av.NewRealClock(), slog.New(slog.NewTextHandler(logs, nil)))
	if _, err := rec.StartRecording(context.Background(), []byte(`{"path": "short.mcap"}`)); err != nil {
		t.Fatal(err)
	}
	avtest.Poll(t, "the end of the recording", func() bool { return !rec.recording() })
	if !strings.Contains(logs.String(), "record.max_duration reached") {
		t.Fatalf("not logged:\n%s", logs)
	}
	if _, err := readRecording(t, filepath.Join(dir, "short.mcap")); err != nil {
		t.Fatal(err)
	}
}

// mountTmpfs mounts a small tmpfs (root only) or skips.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// TestDiskFull: the disk fills during --record: the error is logged once
// with the path and "no space left on device", the file ends with its
// footer at its last whole chunk, and the exit is 1; --decisions to a full
// device likewise; fusiond record stops at once.
func TestDiskFull(t *testing.T) {
	full := mountTmpfs(t, "192k")
	rec := filepath.Join(full, "run.mcap")
	code, _, stderr := runFusiond(t, "run", "--for", "4s", "--record", rec,
		"--set", "cameras.0.width=64", "--set", "cameras.0.height=48", "--set", "nats.embedded.listen=",
		"--set", "record.flush_interval=50ms", "--set", "metrics.listen=")
	if code != exitRuntime || strings.Count(stderr, "no space left on device") != 1 || !strings.Contains(stderr, rec) {
		t.Fatalf("run --record on a full disk: exit %d:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "did not keep up") {
		t.Fatalf("a full disk reported as a slow one:\n%s", stderr)
	}
	if n, err := readRecording(t, rec); err != nil || n == 0 {
		t.Fatalf("the recording: %d messages, %v", n, err)
	}
	os.Remove(rec)

	code, _, stderr = runFusiond(t, "run", "--for", "2s", "--decisions", "/dev/full",
		"--set", "cameras.0.width=64", "--set", "cameras.0.height=48", "--set", "nats.embedded.listen=",
		"--set", "fuse.decision_interval=100ms", "--set", "metrics.listen=")
	if code != exitRuntime || strings.Count(stderr, "no space left on device") != 1 || !strings.Contains(stderr, "/dev/full") {
		t.Fatalf("run --decisions /dev/full: exit %d:\n%s", code, stderr)
	}

	start := time.Now()
	code, _, stderr = runFusiond(t, "record", "--for", "30s", "--out", rec,
		"--set", "cameras.0.width=64", "--set", "cameras.0.height=48", "--set", "nats.embedded.listen=",
		"--set", "record.flush_interval=50ms")
	if code != exitRuntime || !strings.Contains(stderr, "no space left on device") || time.Since(start) > 20*time.Second {
		t.Fatalf("record on a full disk: exit %d after %v:\n%s", code, time.Since(start), stderr)
	}
}

// TestSamePathForTwoOutputs: --record and --decisions naming one file
// (also through a symlink), or replay --decisions naming the recording, are
// refused with exit 2 before anything is written.
func TestSamePathForTwoOutputs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	os.WriteFile(p, []byte("keep"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(p, link)
	rel, _ := filepath.Rel(mustGetwd(t), p)
	for _, args := range [][]string{
		{"run", "--record", p, "--decisions", p},
		{"run", "--record", p, "--decisions", link},
		{"run", "--record", rel, "--decisions", p},
		{"replay", p, "--decisions", link},
	} {
		code, _, stderr := runFusiond(t, append(args, "--for", "1s")...)
		if args[0] == "replay" {
			code, _, stderr = runFusiond(t, args...)
		}
		if code != exitUsage || !strings.Contains(stderr, "same file") && !strings.Contains(stderr, "itself") {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	if data, _ := os.ReadFile(p); string(data) != "keep" {
		t.Fatalf("the file was written: %q", data)
	}
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// TestShutdownIsBounded: SIGTERM ends the process within drain_timeout +
// 1 s, with a recording to a FIFO nobody reads, and with a decisions file
// whose writes block for good.
func TestShutdownIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name, flag, want string
		fill             bool
	}{
		{"record to a FIFO", "--record", "no progress", false},
		{"decisions to a full FIFO", "--decisions", "shutdown did not finish", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fifo := filepath.Join(dir, strings.TrimPrefix(c.flag, "--"))
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			reader, err := syscall.Open(fifo, syscall.O_RDWR|syscall.O_NONBLOCK, 0) // never reads
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Close(reader)
			if c.fill {
				for {
					if _, err := syscall.Write(reader, make([]byte, 4096)); err != nil {
						break // the pipe is full (EAGAIN)
					}
				}
			}
			cmd := exec.Command(bin, "run", c.flag, fifo, "--set", "state_dir="+t.TempDir(), "--set", "nats.embedded.listen=", "--set", "metrics.listen=",
				"--set", "pipeline.drain_timeout=500ms", "--set", "fuse.decision_interval=50ms",
				"--set", "cameras.0.width=64", "--set", "cameras.0.height=48")
			stderr := &avtest.LogBuffer{}
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			avtest.Poll(t, "the daemon running", func() bool { return strings.Contains(stderr.String(), "fusiond running") })
			time.Sleep(300 * time.Millisecond) // let it produce
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != exitRuntime || !strings.Contains(stderr.String(), c.want) {
					t.Fatalf("exit %v, want %d and %q:\n%s", err, exitRuntime, c.want, stderr)
				}
			case <-time.After(1500*time.Millisecond + time.Second): // drain + 1 s, and a second's grace
				cmd.Process.Kill()
				<-exited
				t.Fatalf("still running %v after SIGTERM:\n%s", 2500*time.Millisecond, stderr)
			}
		})
	}
}
