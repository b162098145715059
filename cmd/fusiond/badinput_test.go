package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shortRecording records the demo sources for a second and returns the
// file.
func shortRecording(t *testing.T) string {
	t.Helper()
	rec := filepath.Join(t.TempDir(), "rec.mcap")
	code, _, stderr := runFusiond(t, "record", "--out", rec, "--for", "1s",
		"--set", "cameras.0.width=64", "--set", "cameras.0.height=48", "--set", "nats.embedded.listen=")
	if code != 0 {
		t.Fatalf("record: exit %d: %s", code, stderr)
	}
	return rec
}

// runWithin runs the command line in-process and fails if it has not
// returned within d (the goroutine is then left behind: the test failed).
func runWithin(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code := fusiond(args, &stdout, &stderr)
		done <- result{code, stdout.String(), stderr.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(d):
		t.Fatalf("fusiond %s did not return within %v", strings.Join(args, " "), d)
		return 0, "", ""
	}
}

// TestReplayBadRanges: --from past the end is an error (exit 1), also with
// --loop, which must not spin over an empty pass; a file cut 1 to 8 bytes
// short replays what it holds, names the offset and exits 1.
func TestReplayBadRanges(t *testing.T) {
	rec := shortRecording(t)
	for _, args := range [][]string{
		{"replay", rec, "--from", "1h"},
		{"replay", rec, "--from", "1h", "--loop"},
	} {
		code, _, stderr := runWithin(t, 20*time.Second, args...)
		if code != exitRuntime || !strings.Contains(stderr, "past the end") {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}

	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(t.TempDir(), "whole.jsonl")
	if code, _, stderr := runFusiond(t, "replay", rec, "--decisions", whole); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	want := readLines(t, whole)
	for _, short := range []int{1, 4, 8} {
		cut := filepath.Join(t.TempDir(), "cut.mcap")
		os.WriteFile(cut, data[:len(data)-short], 0o644)
		out := filepath.Join(t.TempDir(), "cut.jsonl")
		code, _, stderr := runFusiond(t, "replay", cut, "--decisions", out)
		if code != exitRuntime || !strings.Contains(stderr, fmt.Sprintf("byte offset %d", len(data)-8)) {
			t.Fatalf("cut %d bytes short: exit %d: %s", short, code, stderr)
		}
		if got := readLines(t, out); len(got) != len(want) {
			t.Fatalf("cut %d bytes short: %d of %d decisions", short, len(got), len(want))
		}
	}
}
