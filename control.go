package fusiond

import (
	"slices"
	"strings"
	"sync/atomic"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
)

// sourceStat counts the samples one source delivered to sync.
type sourceStat struct {
	samples   atomic.Uint64
	firstNS   atomic.Int64 // capture time of the first sample
	captureNS atomic.Int64 // capture time of the last sample
}

func (s *sourceStat) observe(m *av.Meta) {
	s.samples.Add(1)
	s.firstNS.CompareAndSwap(0, m.CaptureNS)
	s.captureNS.Store(m.CaptureNS)
}

// sourceHealth is the control plane's sources answer: per stream, samples
// delivered, their rate, the lag of the last one behind the clock, drops.
// A stream is healthy when it delivered within the last two seconds (or
// the sync deadline, if longer).
func (p *pipeline) sourceHealth() []sinks.SourceHealth {
	now := p.clock.Now()
	drops := map[string]uint64{}
	for _, d := range p.drops.Snapshot() {
		drops[string(d.Stream)] += d.Count
	}
	stale := max(int64(2e9), 2*int64(p.cfg.Sync.MaxWait))
	var out []sinks.SourceHealth
	add := func(name, kind, source string) {
		h := sinks.SourceHealth{Stream: name, Kind: kind, Source: source, Drops: drops[name]}
		if st := p.health["capture:"+name]; st != nil {
			h.Samples = st.samples.Load()
			last, first := st.captureNS.Load(), st.firstNS.Load()
			if h.Samples > 0 {
				h.LagNS = now - last
				if span := last - first; span > 0 && h.Samples > 1 {
					h.RateHz = float64(h.Samples-1) / (float64(span) / 1e9)
				}
			}
			h.Healthy = h.Samples > 0 && h.LagNS < stale
		}
		out = append(out, h)
	}
	for _, c := range p.cfg.Cameras {
		add(c.Name, "camera", c.Source)
	}
	for _, m := range p.cfg.Microphones {
		add(m.Name, "microphone", m.Source)
	}
	slices.SortFunc(out, func(a, b sinks.SourceHealth) int { return strings.Compare(a.Stream, b.Stream) })
	return out
}
