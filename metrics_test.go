package fusiond

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"github.com/seed-4c364652/fusiond/sinks/metrics"
)

// startMetricsDaemon runs the daemon with metrics on a free loopback port
// and returns the metrics base URL and a stop function.
func startMetricsDaemon(t *testing.T, sets ...string) (string, func() error, *avtest.LogBuffer) {
	t.Helper()
	cfg := testenv.Config(t, sets...)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &avtest.LogBuffer{}
	addr := make(chan string, 1)
	done := make(chan error, 1)
	files := daemonFiles{ready: func(d *Daemon) { addr <- d.MetricsAddr() }}
	go func() {
		done <- runDaemon(ctx, cfg, av.NewRealClock(), files, slog.New(slog.NewTextHandler(logs, nil)))
	}()
	var a string
	select {
	case a = <-addr:
	case err := <-done:
		cancel()
		t.Fatalf("daemon stopped before its metrics were up: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("metrics not up in 30 s\n%s", logs)
	}
	if a == "" {
		cancel()
		<-done
		t.Fatalf("metrics not served\n%s", logs)
	}
	return "http://" + a, func() error { cancel(); return <-done }, logs
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// sample returns the value of the series whose line starts with series
// (name and labels exactly as exposed), or -1.
func sample(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// TestMetricsMove scrapes a running daemon twice and sees its counters and
// histograms move; every documented metric family is present.
func TestMetricsMove(t *testing.T) {
	defer goleak.VerifyNone(t)
	base, stop, logs := startMetricsDaemon(t)

	moving := []string{
		`fusiond_decisions_total{kind="activity"}`,
		`fusiond_bundles_total`,
		`fusiond_source_samples_total{stream="cam0"}`,
		`fusiond_source_samples_total{stream="mic0"}`,
		`fusiond_stage_latency_seconds_count{span="arrival_to_publish"}`,
		`fusiond_stage_latency_seconds_count{span="processing"}`,
		`fusiond_stage_latency_seconds_count{span="capture_to_publish"}`,
		`fusiond_bundle_latency_seconds_count{span="capture_to_sync"}`,
		`fusiond_sync_skew_seconds_count`,
		`fusiond_outbox_decisions_total{outcome="published"}`,
	}
	scrape := func() string {
		code, body := get(t, base+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics: %d", code)
		}
		return body
	}
	// First scrape once decisions flow, second once every series has moved.
	deadline := time.Now().Add(30 * time.Second)
	var first string
	for {
		first = scrape()
		if sample(first, moving[0]) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision counted in 30 s:\n%s\n%s", first, logs)
		}
		pollPause()
	}
	var second string
	for {
		second = scrape()
		still := ""
		for _, s := range moving {
			if !(sample(second, s) > sample(first, s)) {
				still = s
				break
			}
		}
		if still == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not move: %v then %v\n%s", still, sample(first, still), sample(second, still), second)
		}
		pollPause()
	}
	for _, name := range documentedMetrics(t) {
		if !strings.Contains(second, "\n"+name) && !strings.HasPrefix(second, name) {
			t.Errorf("documented metric %s not exposed", name)
		}
	}
	if v := sample(second, `fusiond_backend_info{backend="cpu"}`); v != 1 {
		t.Errorf("backend_info = %v", v)
	}
	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d: %s", code, body)
	} else {
		var h metrics.Health
		if err := json.Unmarshal([]byte(body), &h); err != nil || !h.OK || len(h.Sources) != 2 {
			t.Errorf("/healthz body %s (%v)", body, err)
		}
	}
	if code, body := get(t, base+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("daemon: %v\n%s", err, logs)
	}
}

// TestDropCountersStartAtZero: every drop counter that can move is
// exposed from the first scrape, before any drop, so that an alert on
// fusiond_drops_total tells "no drops" from "not scraped".
func TestDropCountersStartAtZero(t *testing.T) {
	defer goleak.VerifyNone(t)
	base, stop, logs := startMetricsDaemon(t)
	_, body := get(t, base+"/metrics")
	for _, series := range []string{
		`fusiond_drops_total{reason="queue_full",stream="cam0"}`,
		`fusiond_drops_total{reason="late",stream="mic0"}`,
		`fusiond_drops_total{reason="out_of_order",stream="cam0"}`,
		`fusiond_drops_total{reason="wrong_kind",stream="mic0"}`,
		`fusiond_drops_total{reason="shutdown",stream="cam0"}`,
		`fusiond_drops_total{reason="shutdown",stream="bundles"}`,
		`fusiond_drops_total{reason="backend_error",stream="bundles"}`,
		`fusiond_drops_total{reason="shutdown",stream="decisions"}`,
		`fusiond_drops_total{reason="head_error",stream="decisions"}`,
		`fusiond_drops_total{reason="sink_error",stream="sink:0"}`,
		`fusiond_drops_total{reason="sink_error",stream="jetstream"}`,
	} {
		if sample(body, series) < 0 {
			t.Errorf("%s not exposed", series)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
	if err := stop(); err != nil {
		t.Fatalf("daemon: %v\n%s", err, logs)
	}
}

// TestHealthzDown: a required source that cannot start makes /healthz 503
// and names it.
func TestHealthzDown(t *testing.T) {
	defer goleak.VerifyNone(t)
	base, stop, logs := startMetricsDaemon(t, "microphones.0.source=wav", "microphones.0.file=/nonexistent/mic.wav")
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get(t, base+"/healthz")
		var h metrics.Health
		_ = json.Unmarshal([]byte(body), &h)
		if code == http.StatusServiceUnavailable && len(h.Down) == 1 && h.Down[0] == "mic0" {
			// The camera is up meanwhile.
			if _, m := get(t, base+"/metrics"); sample(m, `fusiond_source_up{kind="microphone",stream="mic0"}`) != 0 {
				t.Errorf("source_up of mic0 not 0")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz %d %s", code, body)
		}
		pollPause()
	}
	// The missing file is the run's error, logged once, where it happened,
	// with its stream; fusiond run does not log it again.
	err := stop()
	if err == nil || !IsLogged(err) {
		t.Errorf("run error %v: not marked as logged", err)
	}
	if n := strings.Count(logs.String(), "nonexistent/mic.wav"); n != 1 || !strings.Contains(logs.String(), "stream=mic0") {
		t.Errorf("the missing file is logged %d times:\n%s", n, logs)
	}
}

// documentedMetrics are the metric names in docs/METRICS.md's table.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	data, err := readRepoFile("docs/METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(data, "\n") {
		if !strings.HasPrefix(line, "| `fusiond_") {
			continue
		}
		name := strings.Trim(strings.SplitN(line[2:], " ", 2)[0], "`")
		names = append(names, name)
	}
	if len(names) < 10 {
		t.Fatalf("docs/METRICS.md lists %d metrics", len(names))
	}
	return names
}

// pollPause waits a little between two polls of a deadline loop.
func pollPause() { <-time.After(20 * time.Millisecond) }

func readRepoFile(rel string) (string, error) {
	data, err := os.ReadFile(rel)
	return string(data), err
}
