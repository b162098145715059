package foxglove

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the view's Prometheus metrics (fusiond_foxglove_*), read
// from its counters at scrape time, for the daemon's registry.
func (v *View) Collectors() []prometheus.Collector {
	counter := func(name, help string, f func(ViewStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "fusiond", Subsystem: "foxglove", Name: name, Help: help},
			func() float64 { return float64(f(v.Stats())) })
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "fusiond", Subsystem: "foxglove", Name: "clients",
			Help: "Foxglove viewers connected now."}, func() float64 { return float64(v.Stats().Clients) }),
		counter("dropped_total", "Messages dropped from full viewer queues (a slow viewer loses messages; the pipeline does not wait).",
			func(s ViewStats) uint64 { return s.Dropped }),
		counter("cut_off_total", "Viewers disconnected for not reading within foxglove.write_timeout.",
			func(s ViewStats) uint64 { return s.CutOff }),
		counter("bad_messages_total", "Client messages refused: malformed, unsupported, or for channels that do not exist.",
			func(s ViewStats) uint64 { return s.BadMessages }),
		counter("images_total", "JPEG images sent.", func(s ViewStats) uint64 { return s.Images }),
		counter("skipped_images_total", "Frames of a watched camera not encoded: the encoder was busy, or its viewers' queues were full.",
			func(s ViewStats) uint64 { return s.SkippedImages }),
		counter("encode_errors_total", "Frames that did not encode as JPEG.", func(s ViewStats) uint64 { return s.EncodeErrors }),
	}
}
