package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
)

// SyncStats are the synchroniser's counters, as the collector reads them.
type SyncStats struct {
	Bundles, VideoMissing, AudioMissing, Deadline, LateAudio, GapFrames uint64
	ClockResets, VideoResets                                            uint64
	DriftPPM                                                            float64
}

// State is what a scrape reads from the running daemon. Any field may be
// empty (nil): its metrics are then left out.
type State struct {
	Backend string
	Queues  []sinks.QueueDepth
	Drops   []sinks.DropCount
	Sources []sinks.SourceHealth
	Sync    *SyncStats
	// NATS is nil without a connection; NATS.Outbox nil without JetStream.
	NATS *sinks.NATSReport
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	dBackend     = desc("backend_info", "Always 1; the label names the compute backend fusion runs on.", "backend")
	dQueueLen    = desc("queue_depth", "Values queued now between two stages, by queue.", "queue")
	dQueueCap    = desc("queue_capacity", "Capacity of each queue.", "queue")
	dDrops       = desc("drops_total", "Values dropped, by stream (or stage) and reason.", "stream", "reason")
	dLate        = desc("late_samples_total", "Samples that arrived after the bundle that needed them was emitted and were dropped, by stream (drops with reason late).", "stream")
	dSourceUp    = desc("source_up", "1 while the stream delivers (a sample within 2 s or 2 × sync.max_wait), else 0.", "stream", "kind")
	dSourceN     = desc("source_samples_total", "Samples the stream delivered to sync.", "stream")
	dSourceLag   = desc("source_lag_seconds", "Now minus the capture time of the stream's last sample.", "stream")
	dSyncBundles = desc("sync_bundles_by_outcome_total", "Bundles the synchroniser emitted, by outcome: missing_video, missing_audio (coverage too low), deadline (emitted at the deadline rather than complete).", "outcome")
	dLateAudio   = desc("sync_late_audio_chunks_total", "Audio chunks that arrived carrying audio some emitted bundle needed (kept for later bundles).")
	dGapFrames   = desc("sync_gap_audio_frames_total", "Audio frames zero-filled in bundles because they never arrived.")
	dResets      = desc("sync_clock_resets_total", "Timeline discontinuities the synchroniser handled, by stream kind (audio, video).", "kind")
	dDrift       = desc("sync_audio_drift_ppm", "Estimated drift of the audio clock against the video clock, ppm.")
	dNATSUp      = desc("nats_connected", "1 while the NATS connection is up.")
	dNATSEvents  = desc("nats_connection_events_total", "NATS connection events, by event (disconnects, reconnects, errors, slow_consumers).", "event")
	dOutboxDepth = desc("outbox_depth", "Decisions in the JetStream outbox not yet acked.")
	dOutboxCap   = desc("outbox_capacity", "Capacity of the JetStream outbox.")
	dOutboxN     = desc("outbox_decisions_total", "JetStream outbox counters, by outcome (published, acked, duplicates, resent, rejected, oversize).", "outcome")
)

// stateCollector turns a State into metrics at scrape time.
type stateCollector struct{ state func() State }

// RegisterState makes every scrape read state().
func (m *Metrics) RegisterState(state func() State) {
	m.Registry.MustRegister(stateCollector{state})
}

func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dBackend, dQueueLen, dQueueCap, dDrops, dLate, dSourceUp, dSourceN, dSourceLag,
		dSyncBundles, dLateAudio, dGapFrames, dResets, dDrift, dNATSUp, dNATSEvents, dOutboxDepth, dOutboxCap, dOutboxN} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.state()
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	if st.Backend != "" {
		gauge(dBackend, 1, st.Backend)
	}
	for _, q := range st.Queues {
		gauge(dQueueLen, float64(q.Len), q.Name)
		gauge(dQueueCap, float64(q.Cap), q.Name)
	}
	late := map[string]uint64{}
	for _, s := range st.Sources {
		late[s.Stream] = 0 // every source has a late counter, 0 until it is late
	}
	for _, d := range st.Drops {
		counter(dDrops, float64(d.Count), d.Stream, d.Reason)
		if d.Reason == string(av.DropLate) {
			late[d.Stream] += d.Count
		}
	}
	for s, n := range late {
		counter(dLate, float64(n), s)
	}
	for _, s := range st.Sources {
		up := 0.0
		if s.Healthy {
			up = 1
		}
		gauge(dSourceUp, up, s.Stream, s.Kind)
		counter(dSourceN, float64(s.Samples), s.Stream)
		gauge(dSourceLag, seconds(s.LagNS), s.Stream)
	}
	if y := st.Sync; y != nil {
		counter(dSyncBundles, float64(y.VideoMissing), "missing_video")
		counter(dSyncBundles, float64(y.AudioMissing), "missing_audio")
		counter(dSyncBundles, float64(y.Deadline), "deadline")
		counter(dLateAudio, float64(y.LateAudio))
		counter(dGapFrames, float64(y.GapFrames))
		counter(dResets, float64(y.ClockResets), "audio")
		counter(dResets, float64(y.VideoResets), "video")
		gauge(dDrift, y.DriftPPM)
	}
	if n := st.NATS; n != nil {
		up := 0.0
		if n.Connected {
			up = 1
		}
		gauge(dNATSUp, up)
		for ev, v := range n.Events {
			counter(dNATSEvents, float64(v), ev)
		}
		if o := n.Outbox; o != nil {
			gauge(dOutboxDepth, float64(o.Pending))
			gauge(dOutboxCap, float64(o.Capacity))
			for _, kv := range []struct {
				k string
				v uint64
			}{{"published", o.Published}, {"acked", o.Acked}, {"duplicates", o.Duplicates}, {"resent", o.Resent}, {"rejected", o.Rejected}, {"oversize", o.Oversize}} {
				counter(dOutboxN, float64(kv.v), kv.k)
			}
		}
	}
}
