package fuse

import (
	"math"
	"slices"
)

// IntervalOutcome is one decision interval of a kind in an eval run:
// [T0, T1) seconds from the clip's start, and what the Decider said.
type IntervalOutcome struct {
	T0, T1     float64
	Active     bool
	HasBearing bool
	BearingDeg float64
}

// KindScore accumulates one kind's scores over clips. Precision, recall
// and F1 count decision intervals (an interval is labelled when a segment
// covers at least half of it); latency is, for each labelled segment the
// kind turned on within, from the segment's start to the end of the first
// active interval overlapping it (when the decision is made).
type KindScore struct {
	TP, FP, FN   int
	Segments     int
	Detected     int
	Latencies    []float64 // seconds
	BearingErrs  []float64 // degrees, on true-positive intervals with both bearings
	Intervals    int
	ActiveLabels int
}

// Add scores one clip's intervals of kind against its labels.
func (s *KindScore) Add(ls *Labels, kind string, out []IntervalOutcome) {
	for _, o := range out {
		l, pos := ls.At(kind, o.T0, o.T1)
		s.Intervals++
		switch {
		case pos && o.Active:
			s.TP++
			if l.HasBearing && o.HasBearing {
				s.BearingErrs = append(s.BearingErrs, math.Abs(angleDiff(o.BearingDeg, l.BearingDeg)))
			}
		case o.Active:
			s.FP++
		case pos:
			s.FN++
		}
		if pos {
			s.ActiveLabels++
		}
	}
	for _, l := range ls.Segments {
		if l.Kind != kind {
			continue
		}
		s.Segments++
		for _, o := range out {
			if o.Active && o.T1 > l.Start && o.T0 < l.End {
				s.Detected++
				s.Latencies = append(s.Latencies, max(0, o.T1-l.Start))
				break
			}
		}
	}
}

func angleDiff(a, b float64) float64 {
	d := math.Mod(a-b+540, 360) - 180
	return d
}

// Precision is TP/(TP+FP); 0 with no positive decisions.
func (s *KindScore) Precision() float64 { return ratio(s.TP, s.TP+s.FP) }

// Recall is TP/(TP+FN); 0 with no labelled intervals.
func (s *KindScore) Recall() float64 { return ratio(s.TP, s.TP+s.FN) }

// F1 is the harmonic mean of precision and recall.
func (s *KindScore) F1() float64 {
	p, r := s.Precision(), s.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Median returns the median of x (NaN when empty).
func Median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	y := slices.Clone(x)
	slices.Sort(y)
	n := len(y)
	if n%2 == 1 {
		return y[n/2]
	}
	return (y[n/2-1] + y[n/2]) / 2
}
