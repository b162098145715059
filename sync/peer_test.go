package sync

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

// The C++ peer, ROS message_filters ApproximateTime, lives beside the
// checkout in ../shared/peers/message_filters (see its README). Tests that
// compare against it build it once (build.sh installs the Debian packages
// it needs when run as root) and skip, saying why, where it cannot be built.

var (
	peerOnce gosync.Once
	peerPath string
	peerErr  error
)

func peerDir() string { return filepath.Join("..", "..", "shared", "peers", "message_filters") }

// peerBinary returns the path of the built peer, building it if needed.
// FUSIOND_PEER_APPROX names a prebuilt binary instead.
func peerBinary(t testing.TB) string {
	t.Helper()
	peerOnce.Do(func() {
		if p := os.Getenv("FUSIOND_PEER_APPROX"); p != "" {
			peerPath = p
			return
		}
		script := filepath.Join(peerDir(), "build.sh")
		src := filepath.Join(peerDir(), "approx.cpp")
		srcInfo, err := os.Stat(src)
		if err != nil {
			peerErr = fmt.Errorf("peer sources not found: %v", err)
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		out := filepath.Join(cache, "fusiond-peers", "message_filters")
		bin := filepath.Join(out, "approx")
		if info, err := os.Stat(bin); err == nil && info.ModTime().After(srcInfo.ModTime()) {
			peerPath = bin
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", script, out)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			peerErr = fmt.Errorf("%s: %v: %s", script, err, strings.TrimSpace(buf.String()))
			return
		}
		peerPath = bin
	})
	if peerErr != nil {
		t.Skipf("message_filters peer unavailable: %v", peerErr)
	}
	return peerPath
}

// peerSets runs the peer over tr and returns its sets file.
func peerSets(t testing.TB, tr *Trace, queue int, age float64, maxIntervalNS int64) []byte {
	t.Helper()
	bin := peerBinary(t)
	dir := t.TempDir()
	tracePath, setsPath := filepath.Join(dir, "t.trace"), filepath.Join(dir, "t.sets")
	f, err := os.Create(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	args := []string{tracePath, "--queue", strconv.Itoa(queue), "--age-penalty", strconv.FormatFloat(age, 'g', -1, 64), "--sets", setsPath}
	if maxIntervalNS > 0 {
		args = append(args, "--max-interval-ns", strconv.FormatInt(maxIntervalNS, 10))
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("peer %v: %v: %s", args, err, out)
	}
	sets, err := os.ReadFile(setsPath)
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

// ourSets runs Approx over tr and returns its sets in the peer's format.
func ourSets(t testing.TB, tr *Trace, cfg ApproxConfig) []byte {
	t.Helper()
	var out []byte
	a, err := NewApprox(cfg, func(set []Member) { out = AppendSet(out, set) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range tr.Events {
		if err := a.Add(ev.Stream, Member{TimeNS: ev.TimeNS, ID: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// firstDiff describes where two sets files part.
func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d: peer %q, ours %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("peer has %d lines, ours %d", len(la), len(lb))
}

// TestApproxMatchesPeerScenarios runs every generated scenario through the
// peer and Approx with several parameter sets.
func TestApproxMatchesPeerScenarios(t *testing.T) {
	params := []struct {
		queue int
		age   float64
		maxNS int64
	}{{10, 0.1, 0}, {3, 0.5, 0}, {2, 0, 5e6}, {20, 1, 12e6}}
	for _, sc := range ScenarioNames() {
		tr, err := GenerateTrace(sc, 7, 6000)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range params {
			t.Run(fmt.Sprintf("%s/q%d_a%g_m%d", sc, p.queue, p.age, p.maxNS), func(t *testing.T) {
				want := peerSets(t, tr, p.queue, p.age, p.maxNS)
				got := ourSets(t, tr, ApproxConfig{Streams: tr.Streams, QueueSize: p.queue, AgePenalty: p.age, MaxIntervalNS: p.maxNS})
				if !bytes.Equal(got, want) {
					t.Fatalf("sets differ: %s", firstDiff(want, got))
				}
			})
		}
	}
}

// TestApproxMatchesPeerRandom compares on random traces: 2 to 4 streams,
// random gaps (equal timestamps included), random parameters.
func TestApproxMatchesPeerRandom(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 30
	}
	for seed := range uint64(n) {
		tr, cfg := randomTrace(seed, false)
		want := peerSets(t, tr, cfg.QueueSize, cfg.AgePenalty, cfg.MaxIntervalNS)
		got := ourSets(t, tr, cfg)
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d (%+v): sets differ: %s", seed, cfg, firstDiff(want, got))
		}
	}
}
