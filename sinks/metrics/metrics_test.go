package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
)

func TestServeMetricsAndHealth(t *testing.T) {
	defer goleak.VerifyNone(t)
	m := New("test", "abc123")
	var down atomic.Bool
	src := func() []sinks.SourceHealth {
		return []sinks.SourceHealth{{Stream: "cam0", Kind: "camera", Healthy: true}, {Stream: "mic0", Kind: "microphone", Healthy: !down.Load()}}
	}
	m.RegisterState(func() State {
		return State{Backend: "cpu", Sources: src(), Queues: []sinks.QueueDepth{{Name: "bundles", Len: 3, Cap: 16}},
			Drops: []sinks.DropCount{{Stream: "mic0", Reason: string(av.DropLate), Count: 4}},
			NATS:  &sinks.NATSReport{Connected: true, Events: map[string]uint64{"reconnects": 2}, Outbox: &sinks.OutboxStats{Pending: 5, Capacity: 100}}}
	})
	d := &av.Decision{}
	d.Kind = "activity"
	d.Stamps[av.StageCapture], d.Stamps[av.StageArrival], d.Stamps[av.StageSync], d.Stamps[av.StageFuse], d.Stamps[av.StagePublish] = 1e9, 1e9+5e6, 1e9+6e6, 1e9+40e6, 1e9+41e6
	b := &av.Bundle{Missing: []av.Modality{av.Audio}}
	b.Stamps = d.Stamps
	m.ObserveBundle(b, 33e6)
	// The next bundle, arriving 39 ms after the first, closes the interval.
	next := &av.Bundle{}
	next.Stamps[av.StageArrival], next.Stamps[av.StageSync] = 1e9+39e6, 1e9+39.5e6
	m.ObserveBundle(next, 33e6)
	if err := m.WriteDecision(d, nil); err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := Serve("127.0.0.1:0", m.Handler(func() Health { return CheckSources(src()) }, log), log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	_, text := get("/metrics")
	for _, want := range []string{
		`fusiond_build_info{goversion="`,
		`revision="abc123",version="test"} 1`,
		`fusiond_backend_info{backend="cpu"} 1`,
		`fusiond_decisions_total{kind="activity"} 1`,
		`fusiond_stage_latency_seconds_count{span="arrival_to_publish"} 1`,
		`fusiond_stage_latency_seconds_sum{span="arrival_to_publish"} 0.036`,
		`fusiond_stage_latency_seconds_sum{span="processing"} 0.002`,
		`fusiond_stream_missing_seconds_total{modality="audio"} 0.033`,
		`fusiond_late_samples_total{stream="mic0"} 4`,
		`fusiond_late_samples_total{stream="cam0"} 0`,
		`fusiond_queue_depth{queue="bundles"} 3`,
		`fusiond_nats_connection_events_total{event="reconnects"} 2`,
		`fusiond_outbox_depth 5`,
		`fusiond_source_up{kind="microphone",stream="mic0"} 1`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, text)
		}
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d with every source up", code)
	}
	down.Store(true)
	if code, body := get("/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"down":["mic0"]`) {
		t.Errorf("/healthz %d %s with mic0 down", code, body)
	}
	if code, _ := get("/debug/pprof/cmdline"); code != http.StatusOK {
		t.Errorf("pprof %d", code)
	}
}
