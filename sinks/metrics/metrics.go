// Package metrics exposes fusiond's Prometheus metrics, its health check
// and pprof on one HTTP listener (the config's metrics.listen).
//
// Every metric is documented in docs/METRICS.md. Latency histograms are fed
// as decisions are published (Metrics is a sinks.Sink) and as bundles leave
// the synchroniser (ObserveBundle); everything else (queue depths, drops,
// source health, NATS and outbox counters, synchroniser counters) is read at
// scrape time from a State snapshot, so the hot path pays nothing for it.
package metrics

import (
	"runtime"
	"strings"
	gosync "sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
)

// Namespace prefixes every fusiond metric.
const Namespace = "fusiond"

// Span is a latency span between two stage stamps of a decision.
type Span struct {
	Name     string
	From, To av.Stage
}

// DecisionSpans are the spans observed once per published decision, from
// the stamps of the last bundle it used. A sixth, "processing", runs from
// the arrival of the bundle that closed the decision's interval (fusion
// decides an interval when the next one's first bundle comes) to publish:
// the processing latency of the targets.
var DecisionSpans = []Span{
	{"capture_to_sync", av.StageCapture, av.StageSync},
	{"sync_to_fuse", av.StageSync, av.StageFuse},
	{"fuse_to_publish", av.StageFuse, av.StagePublish},
	{"capture_to_publish", av.StageCapture, av.StagePublish},
	{"arrival_to_publish", av.StageArrival, av.StagePublish},
}

// latencyBuckets span 10 µs to about 10 s, doubling.
var latencyBuckets = prometheus.ExponentialBuckets(10e-6, 2, 21)

// Metrics holds fusiond's registry and the metrics fed on the data path.
type Metrics struct {
	Registry *prometheus.Registry

	stage         *prometheus.HistogramVec
	stageSpans    []prometheus.Observer
	bundleLatency *prometheus.HistogramVec
	bundleSync    prometheus.Observer
	bundleArrival prometheus.Observer
	skew          prometheus.Histogram
	bundles       prometheus.Counter
	missing       *prometheus.CounterVec
	decisions     *prometheus.CounterVec
	processing    prometheus.Observer

	// recent are the last bundles' sync and arrival stamps, to find the
	// bundle that closed a decision's interval (processing latency).
	mu     gosync.Mutex
	recent [64][2]int64
	next   int
}

// New returns the metrics of one daemon: build info, the Go runtime and
// process collectors, and the data-path histograms and counters.
func New(version, revision string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{Registry: reg}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the labels say which fusiond build runs."}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(version, revision, runtime.Version()).Set(1)

	m.stage = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "stage_latency_seconds",
		Help:    "Latency between two stages of the last bundle behind each published decision, by span.",
		Buckets: latencyBuckets}, []string{"span"})
	for _, s := range DecisionSpans {
		m.stageSpans = append(m.stageSpans, m.stage.WithLabelValues(s.Name))
	}
	m.processing = m.stage.WithLabelValues("processing")
	m.bundleLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "bundle_latency_seconds",
		Help:    "Latency of every bundle the synchroniser emits, by span (capture_to_sync, arrival_to_sync).",
		Buckets: latencyBuckets}, []string{"span"})
	m.bundleSync = m.bundleLatency.WithLabelValues("capture_to_sync")
	m.bundleArrival = m.bundleLatency.WithLabelValues("arrival_to_sync")
	m.skew = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "sync_skew_seconds",
		Help:    "Per bundle with a frame: arrival of the last sample it needed minus arrival of its frame (how long sync waited for the other stream).",
		Buckets: latencyBuckets})
	m.bundles = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "bundles_total",
		Help: "Bundles emitted by the synchroniser."})
	m.missing = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "stream_missing_seconds_total",
		Help: "Time covered by bundles that lacked a modality (bundles missing it × the frame period), by modality."}, []string{"modality"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "decisions_total",
		Help: "Decisions published, by kind."}, []string{"kind"})
	for _, mod := range []av.Modality{av.Video, av.Audio} {
		m.missing.WithLabelValues(string(mod)).Add(0)
	}
	reg.MustRegister(build, m.stage, m.bundleLatency, m.skew, m.bundles, m.missing, m.decisions)
	return m
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// WriteDecision implements sinks.Sink: it counts the decision and observes
// its stage latencies. The publish stamp is taken before any sink
// writes, so where it sits among the sinks does not change the figures.
func (m *Metrics) WriteDecision(d *av.Decision, _ []byte) error {
	m.decisions.WithLabelValues(d.Kind).Inc()
	s := d.Stamps
	for i, sp := range DecisionSpans {
		if s[sp.From] != 0 && s[sp.To] != 0 {
			m.stageSpans[i].Observe(seconds(s[sp.To] - s[sp.From]))
		}
	}
	if closing := m.closingArrival(s[av.StageSync]); closing != 0 && closing <= s[av.StagePublish] {
		m.processing.Observe(seconds(s[av.StagePublish] - closing))
	}
	return nil
}

// closingArrival is the arrival stamp of the bundle after the one synced
// at syncNS: the bundle whose coming closed the decision's interval (0 if
// it is no longer, or not yet, known).
func (m *Metrics) closingArrival(syncNS int64) int64 {
	if syncNS == 0 {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.recent)
	for k := 1; k < n; k++ {
		i := (m.next - 1 - k + 2*n) % n
		if m.recent[i][0] == syncNS {
			return m.recent[(i+1)%n][1]
		}
	}
	return 0
}

// ObserveBundle observes one bundle as it leaves the synchroniser:
// latencies, skew, and the time it stood for without a modality.
func (m *Metrics) ObserveBundle(b *av.Bundle, framePeriodNS int64) {
	m.bundles.Inc()
	s := b.Stamps
	m.mu.Lock()
	m.recent[m.next] = [2]int64{s[av.StageSync], s[av.StageArrival]}
	m.next = (m.next + 1) % len(m.recent)
	m.mu.Unlock()
	if s[av.StageCapture] != 0 && s[av.StageSync] != 0 {
		m.bundleSync.Observe(seconds(s[av.StageSync] - s[av.StageCapture]))
	}
	if s[av.StageArrival] != 0 && s[av.StageSync] != 0 {
		m.bundleArrival.Observe(seconds(s[av.StageSync] - s[av.StageArrival]))
	}
	if b.Frame != nil && s[av.StageArrival] != 0 && b.Frame.ArrivalNS != 0 {
		m.skew.Observe(seconds(max(s[av.StageArrival]-b.Frame.ArrivalNS, 0)))
	}
	for _, mod := range b.Missing {
		m.missing.WithLabelValues(strings.ToLower(string(mod))).Add(seconds(framePeriodNS))
	}
}

var _ sinks.Sink = (*Metrics)(nil)
