package fusiond

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"github.com/seed-4c364652/fusiond/sinks"
	"go.uber.org/goleak"
)

// startDaemon runs the daemon in-process with its embedded server on a free
// port and returns a client connection; the daemon stops at cleanup.
func startDaemon(t *testing.T, files daemonFiles, sets ...string) (*nats.Conn, *avtest.LogBuffer) {
	t.Helper()
	port := testenv.FreePort(t)
	cfg := testenv.Config(t, append([]string{listenArg(port)}, sets...)...)
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
	cfg := testenv.Config(t, "record.dir="+dir, "record.chunk_bytes=1024", "pipeline.drain_timeout=500ms") // the stall bound: max(stallTimeout, drain)
	logs := &avtest.LogBuffer{}
	rec := newRecorder(cfg, av.NewRealClock(), slog.New(slog.NewTextHandler(logs, nil)), "test")
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
	cfg := testenv.Config(t, "record.dir="+dir, "record.max_duration=200ms")
	logs := &avtest.LogBuffer{}
	rec := newRecorder(cfg, av.NewRealClock(), slog.New(slog.NewTextHandler(logs, nil)), "test")
	if _, err := rec.StartRecording(context.Background(), []byte(`{"path": "short.mcap"}`)); err != nil {
		t.Fatal(err)
	}
	avtest.Poll(t, "the end of the recording", func() bool { return !rec.recording() })
	rec.wait() // the watcher finishes the file and logs after the recording stops being current
	if !strings.Contains(logs.String(), "record.max_duration reached") {
		t.Fatalf("not logged:\n%s", logs)
	}
	if _, err := readRecording(t, filepath.Join(dir, "short.mcap")); err != nil {
		t.Fatal(err)
	}
}
