package plot

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// TimelineBuilder gathers what a timeline shows while a recording is
// replayed: it is the replay's message, sample and bundle tap and a sink
// of its decisions. Timeline is the result.
type TimelineBuilder struct {
	Timeline
	lanes map[av.StreamID]*lane
	kinds map[string]int // index in Kinds
}

// lane is a stream's place in Streams and its last sequence number.
type lane struct {
	i       int
	lastSeq uint64
	seen    bool
}

// NewTimelineBuilder starts a timeline with a lane per camera and
// microphone, in that order.
func NewTimelineBuilder(cameras, microphones []string) *TimelineBuilder {
	tl := &TimelineBuilder{lanes: map[av.StreamID]*lane{}, kinds: map[string]int{}}
	add := func(name string, kind av.Modality) {
		tl.lanes[av.StreamID(name)] = &lane{i: len(tl.Streams)}
		tl.Streams = append(tl.Streams, Stream{Name: fmt.Sprintf("%s (%s)", name, kind)})
	}
	for _, c := range cameras {
		add(c, av.Video)
	}
	for _, m := range microphones {
		add(m, av.Audio)
	}
	return tl
}

// Message takes the recording's status messages (the drops).
func (tl *TimelineBuilder) Message(m recording.Message) {
	if m.Topic != recording.TopicStatus {
		return
	}
	var st struct {
		Drops []av.DropCount `json:"drops"`
	}
	if json.Unmarshal(m.Data, &st) != nil {
		return
	}
	var total uint64
	for _, d := range st.Drops {
		total += d.Count
	}
	tl.Drops = append(tl.Drops, DropCount{TimeNS: m.LogNS, Total: total})
}

// Sample takes each replayed sample.
func (tl *TimelineBuilder) Sample(s av.Sample) {
	m := s.SampleMeta()
	l := tl.lanes[m.Stream]
	if l == nil {
		return
	}
	st := &tl.Streams[l.i]
	if l.seen && m.Seq != l.lastSeq+1 {
		st.JumpsNS = append(st.JumpsNS, m.CaptureNS)
	}
	l.lastSeq, l.seen = m.Seq, true
	st.CapturesNS = append(st.CapturesNS, m.CaptureNS)
}

// Bundle takes each bundle.
func (tl *TimelineBuilder) Bundle(b *av.Bundle) {
	tl.Bundles = append(tl.Bundles, Bundle{TimeNS: b.TimeNS,
		MissingAudio: slices.Contains(b.Missing, av.Audio), MissingVideo: slices.Contains(b.Missing, av.Video)})
}

// WriteDecision implements sinks.Sink: the replayed decisions.
func (tl *TimelineBuilder) WriteDecision(d *av.Decision, _ []byte) error {
	i, ok := tl.kinds[d.Kind]
	if !ok {
		i = len(tl.Kinds)
		tl.kinds[d.Kind] = i
		tl.Kinds = append(tl.Kinds, Kind{Name: d.Kind})
	}
	tl.Kinds[i].Decisions = append(tl.Kinds[i].Decisions, Decision{TimeNS: d.TimeNS, Confidence: d.Confidence,
		Active: d.State == decision.StateActive, Unknown: d.State == decision.StateUnknown})
	return nil
}
