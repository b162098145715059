package fuse

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// TickKind tells the two kinds of Tick apart.
type TickKind uint8

// Tick kinds.
const (
	// TickStep: a frame-rate decision step (its evidence and missing
	// modalities), for the decision kinds of Decider.
	TickStep TickKind = 1
	// TickInterval: a decision interval closed; the tick holds the
	// activity decision's numbers.
	TickInterval TickKind = 2
)

// Tick is where fusion splits: everything feature extraction hands the
// head and trackers for one step, or for one closed activity interval.
// Activity makes Ticks and gives them to its own Fusion; with
// ActivityConfig.Offload it hands them out instead, and a Fusion in
// another process (a fusion worker, sinks/worker) makes the same
// decisions from them.
type Tick struct {
	Kind TickKind
	// TimeNS is the capture time of the step's (the interval's last)
	// bundle.
	TimeNS  int64
	Missing []string
	// MissingStreams names the configured streams of the missing
	// modalities (decision.Decision.MissingStreams).
	MissingStreams []string
	// Evidence: the step's evidence (Decider.Observe), or the activity
	// decision's evidence.
	Evidence map[string]float64
	// Interval ticks only: the activity decision's log-odds and what each
	// modality (and "prior") contributes to it.
	Logit         float64
	Contributions map[string]float64
	// Stamps are the pipeline stage times of the bundle; they stay in the
	// process (latency_ns is measured where decisions are published).
	Stamps av.Stamps
}

// Fusion is fusion's head side: it turns Ticks into decisions through a
// Decider (its stateless Head and its Tracker) and numbers them. It is a
// pure function of the ticks given to it after NewFusion, or after
// UnmarshalState of a state MarshalState saved.
type Fusion struct {
	robot       string
	dec         *Decider // nil: no decision kinds
	seq         uint64
	out         []*av.Decision
	onHeadError func(error)
}

// NewFusion returns the head side of robot's fusion; decide nil makes no
// decision kinds (step ticks are ignored). onHeadError, when set, is told
// of every step whose head failed: that step's decision kinds are lost.
func NewFusion(robot string, decide *DecideConfig, onHeadError func(error)) (*Fusion, error) {
	if !decision.ValidToken(robot) {
		return nil, fmt.Errorf("%w: robot id %q", ErrConfig, robot)
	}
	f := &Fusion{robot: robot, onHeadError: onHeadError}
	if decide != nil {
		dec, err := NewDecider(*decide)
		if err != nil {
			return nil, err
		}
		f.dec = dec
	}
	return f, nil
}

// Apply makes t's decisions and passes each, numbered, to emit. It keeps
// nothing of t.
func (f *Fusion) Apply(t *Tick, emit func(*av.Decision)) {
	switch t.Kind {
	case TickInterval:
		f.seq++
		emit(activityDecision(f.robot, f.seq, t))
	case TickStep:
		if f.dec == nil {
			return
		}
		var err error
		f.out, err = f.dec.Observe(f.out[:0], f.robot, t.Evidence, t.Missing, t.TimeNS, t.Stamps)
		f.emitStep(t, err, emit)
	}
}

// applyScored makes the decisions of step tick t, whose head row
// (f.dec.prepare) the caller scored in a batch: score, or err when the
// head failed.
func (f *Fusion) applyScored(t *Tick, score []HeadScore, err error, emit func(*av.Decision)) {
	if err == nil {
		states := f.dec.scored(score, t.Missing, t.TimeNS)
		f.out = f.dec.transitions(f.out[:0], f.robot, t.Missing, t.TimeNS, t.Stamps, states)
	}
	f.emitStep(t, err, emit)
}

func (f *Fusion) emitStep(t *Tick, err error, emit func(*av.Decision)) {
	if err != nil {
		// A head error (a backend failure) costs this step's decision
		// kinds, never the activity decision.
		if f.onHeadError != nil {
			f.onHeadError(err)
		}
		return
	}
	for _, x := range f.out {
		x.MissingStreams = slices.Clone(t.MissingStreams)
		f.seq++
		x.Seq = f.seq
		emit(x)
	}
	clear(f.out)
}

// fusionState is what a Fusion remembers between ticks.
type fusionState struct {
	Seq     uint64          `json:"seq"`
	Tracker json.RawMessage `json:"tracker,omitempty"`
}

// MarshalState returns the Fusion's state as JSON: the decisions made so
// far and the tracker's state (TrackerState).
func (f *Fusion) MarshalState() ([]byte, error) {
	st := fusionState{Seq: f.seq}
	if f.dec != nil {
		tr, err := f.dec.Tracker().MarshalState()
		if err != nil {
			return nil, err
		}
		st.Tracker = tr
	}
	return json.Marshal(&st)
}

// UnmarshalState restores a state MarshalState returned.
func (f *Fusion) UnmarshalState(data []byte) error {
	var st fusionState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("fuse: fusion state: %w", err)
	}
	if f.dec != nil {
		if len(st.Tracker) == 0 {
			return fmt.Errorf("fuse: fusion state has no tracker state")
		}
		if err := f.dec.Tracker().UnmarshalState(st.Tracker); err != nil {
			return err
		}
	}
	f.seq = st.Seq
	return nil
}

// activityDecision is the activity decision of an interval tick.
func activityDecision(robot string, seq uint64, t *Tick) *av.Decision {
	d := &av.Decision{Decision: decision.Decision{
		Schema:         decision.Schema,
		Robot:          robot,
		Kind:           KindActivity,
		Seq:            seq,
		TimeNS:         t.TimeNS,
		Logit:          t.Logit,
		Confidence:     sigmoid(t.Logit),
		Contributions:  maps.Clone(t.Contributions),
		Missing:        slices.Clone(t.Missing),
		MissingStreams: slices.Clone(t.MissingStreams),
		Evidence:       maps.Clone(t.Evidence),
		State:          decision.StateInactive,
	}, Stamps: t.Stamps}
	if d.Missing == nil {
		d.Missing = []string{}
	}
	if d.Contributions == nil {
		d.Contributions = map[string]float64{}
	}
	if d.Evidence == nil {
		d.Evidence = map[string]float64{}
	}
	d.Degraded = len(d.Missing) > 0
	if d.Confidence >= 0.5 {
		d.State = decision.StateActive
	}
	return d
}
