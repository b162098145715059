package evaluate

import (
	"cmp"
	"math"
	"slices"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// StepNS is the time step state timelines are compared on.
const StepNS = 10_000_000

// OnsetGraceNS extends the window an onset is looked for in past the end
// of a short segment: a segment shorter than this is detected by an onset
// up to this long after its start.
const OnsetGraceNS = 1_000_000_000

// Kinds are the decision kinds scored (activity is not).
var Kinds = fuse.DecisionKinds

// Run is one input run through the pipeline under one configuration.
type Run struct {
	Clip      string // the input's name
	Variant   string // e.g. original, frozen, noaudio (manifest); "original" when empty
	Config    string // audio, video or fused
	Composite bool   // the clip is built from real parts, not recorded whole
	// Audio and Video say which modalities the run had: configured and
	// delivered at least one sample.
	Audio, Video bool
	// OriginNS is the pipeline time of the recording's first sample (label
	// time 0); EndNS the end of its last.
	OriginNS, EndNS int64
	// Decisions are the published decisions, in publication order (any
	// kind; those of other kinds are ignored).
	Decisions []*av.Decision
	Labels    *Labels
}

// state of a kind at a step.
type state uint8

const (
	inactive state = iota
	active
	unknown
)

func stateOf(d *av.Decision) state {
	switch d.State {
	case decision.StateActive:
		return active
	case decision.StateUnknown:
		return unknown
	}
	return inactive
}

// KindResult is one kind's score in one run. Times are in steps of StepNS.
type KindResult struct {
	Kind string
	// Scored is false when the run cannot sense the kind: its labels are
	// skipped (LabelsSkipped) and only the fractions are measured.
	Scored bool
	Steps  int
	// Of the scored steps whose state is known: true and false positives,
	// false and true negatives.
	TP, FP, FN, TN int
	// Unknown steps (no claim), and of them those inside a label.
	Unknown, UnknownLabelled int
	Active                   int // steps in state active
	Labels, LabelsSkipped    int
	// OnsetsNS and EndsNS are the latencies of the segments whose onset
	// (end) was seen; Onsets / Ends count the segments looked at.
	OnsetsNS, EndsNS []int64
	Onsets, Ends     int
	// Flips: changes of state inside labels once the kind was active in
	// them (flicker: a false end and the onset after it are two), over
	// LabelledNS of labelled time.
	Flips      int
	LabelledNS int64
	// BearingErrDeg: on true-positive steps with a labelled and a decided
	// bearing, their difference (speaker only).
	BearingErrDeg []float64
}

// Result is one run's score.
type Result struct {
	Run   *Run
	Steps int
	Kinds []KindResult // in Kinds order
}

// timeline is one kind's decisions, in time order.
type timeline []*av.Decision

// at returns the index of the decision in force at t (the last with
// TimeNS ≤ t), or -1 before the first.
func (tl timeline) at(t int64) int {
	i, _ := slices.BinarySearchFunc(tl, t+1, func(d *av.Decision, t int64) int {
		switch {
		case d.TimeNS < t:
			return -1
		case d.TimeNS > t:
			return 1
		}
		return 0
	})
	return i - 1
}

// stateAt is the kind's state at t: the decision in force, or inactive
// before the first (the decider starts inactive and publishes changes).
func (tl timeline) stateAt(t int64) (state, *av.Decision) {
	i := tl.at(t)
	if i < 0 {
		return inactive, nil
	}
	return stateOf(tl[i]), tl[i]
}

// entered returns the decision that entered the state in force at t (the
// first of the run of decisions in that state up to t: a heartbeat
// repeats a state, it does not enter it), or nil before the first.
func (tl timeline) entered(t int64) *av.Decision {
	i := tl.at(t)
	if i < 0 {
		return nil
	}
	for i > 0 && stateOf(tl[i-1]) == stateOf(tl[i]) {
		i--
	}
	return tl[i]
}

// Score compares a run's decisions with its labels.
func Score(r *Run) *Result {
	steps := int(max(0, (r.EndNS-r.OriginNS+StepNS-1)/StepNS))
	res := &Result{Run: r, Steps: steps}
	for _, kind := range Kinds {
		var tl timeline
		for _, d := range r.Decisions {
			if d.Kind == kind {
				tl = append(tl, d)
			}
		}
		// Publication order is time order per kind; a stable sort keeps
		// it so for equal times (the later decision wins).
		slices.SortStableFunc(tl, func(a, b *av.Decision) int { return cmp.Compare(a.TimeNS, b.TimeNS) })
		res.Kinds = append(res.Kinds, scoreKind(r, kind, tl, steps))
	}
	return res
}

func scoreKind(r *Run, kind string, tl timeline, steps int) KindResult {
	k := KindResult{Kind: kind, Steps: steps, Scored: fuse.Sensed(kind, r.Audio, r.Video)}
	var segs []Label
	if r.Labels != nil {
		for _, l := range r.Labels.Segments {
			if l.Kind == kind {
				segs = append(segs, l)
			}
		}
	}
	if !k.Scored {
		k.LabelsSkipped = len(segs)
	} else {
		k.Labels = len(segs)
	}
	durS := float64(r.EndNS-r.OriginNS) / 1e9
	for i := range steps {
		mid := int64(i)*StepNS + StepNS/2 // from the origin
		st, d := tl.stateAt(r.OriginNS + mid)
		switch st {
		case active:
			k.Active++
		case unknown:
			k.Unknown++
		}
		if !k.Scored {
			continue
		}
		t := float64(mid) / 1e9
		var lab *Label
		for j := range segs {
			if segs[j].Start <= t && t < segs[j].End {
				lab = &segs[j]
				break
			}
		}
		switch {
		case st == unknown:
			if lab != nil {
				k.UnknownLabelled++
			}
		case st == active && lab != nil:
			k.TP++
			if b, ok := d.Evidence["bearing_deg"]; ok && lab.HasBearing && kind == fuse.KindSpeaker {
				k.BearingErrDeg = append(k.BearingErrDeg, math.Abs(angleDiff(b, lab.BearingDeg)))
			}
		case st == active:
			k.FP++
		case lab != nil:
			k.FN++
		default:
			k.TN++
		}
	}
	if !k.Scored {
		return k
	}
	for _, l := range segs {
		if l.Start >= durS {
			continue // past the end of the recording
		}
		startNS := r.OriginNS + secondsNS(l.Start)
		endNS := r.OriginNS + secondsNS(min(l.End, durS))
		// The onset: already active at the start (0, or the time from
		// the start to the publication of a decision timed before it),
		// or the first decision reporting the kind active within the
		// segment (or the grace after its start), till it was published.
		k.Onsets++
		if st, _ := tl.stateAt(startNS); st == active {
			k.OnsetsNS = append(k.OnsetsNS, max(0, published(tl.entered(startNS))-startNS))
		} else {
			until := max(endNS, startNS+OnsetGraceNS)
			for i := tl.at(startNS) + 1; i < len(tl) && tl[i].TimeNS <= until; i++ {
				if stateOf(tl[i]) == active {
					k.OnsetsNS = append(k.OnsetsNS, published(tl[i])-startNS)
					break
				}
			}
		}
		k.Flips += flips(tl, startNS, endNS)
		k.LabelledNS += endNS - startNS
		if l.End >= durS {
			continue // the recording ends with the segment: no end to see
		}
		// The end: already inactive at the labelled end (0), or the first
		// decision reporting it inactive after it, before the kind's next
		// segment starts.
		k.Ends++
		next := r.EndNS
		for _, o := range segs {
			if o.Start >= l.End {
				next = min(next, r.OriginNS+secondsNS(o.Start))
			}
		}
		if st, _ := tl.stateAt(endNS); st == inactive {
			k.EndsNS = append(k.EndsNS, max(0, published(tl.entered(endNS))-endNS))
			continue
		}
		for i := tl.at(endNS) + 1; i < len(tl) && tl[i].TimeNS < next; i++ {
			if stateOf(tl[i]) == inactive {
				k.EndsNS = append(k.EndsNS, published(tl[i])-endNS)
				break
			}
		}
	}
	return k
}

// flips counts the changes of state in tl within [startNS, endNS) after
// the kind was first active there: a steady label has none.
func flips(tl timeline, startNS, endNS int64) int {
	prev, _ := tl.stateAt(startNS)
	on, n := prev == active, 0
	for i := tl.at(startNS) + 1; i < len(tl) && tl[i].TimeNS < endNS; i++ {
		st := stateOf(tl[i])
		if st == prev {
			continue
		}
		if on {
			n++
		}
		prev, on = st, on || st == active
	}
	return n
}

// published is when d left the daemon: its capture time plus its
// measured capture-to-publish latency (0 before the first decision).
func published(d *av.Decision) int64 {
	if d == nil {
		return 0
	}
	return d.TimeNS + d.LatencyNS["capture_to_publish"]
}

func secondsNS(s float64) int64 { return int64(math.Round(s * 1e9)) }

func angleDiff(a, b float64) float64 { return math.Mod(a-b+540, 360) - 180 }
