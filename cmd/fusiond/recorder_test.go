package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/ingest/recording"
)

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
