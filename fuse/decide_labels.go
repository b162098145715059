package fuse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Label is one labelled segment of an eval clip: a decision kind that
// holds from Start to End (seconds from the clip's start), with the bearing
// of its source where it has one.
type Label struct {
	Kind       string
	Start, End float64
	HasBearing bool
	BearingDeg float64
	Line       int
}

// Labels are an eval clip's labels.
type Labels struct {
	// Duration is the clip's length in seconds ("duration" line).
	Duration float64
	Segments []Label
}

// ErrLabels is wrapped by every labels-file error.
var ErrLabels = errors.New("fuse: bad labels")

// ParseLabels parses a labels file (name is used in errors):
//
//	# comment
//	duration 12
//	speech 1.0 3.5 -20.5
//	presence 0 6 -
//
// One segment a line: kind, start and end in seconds (start < end ≤
// duration), and the bearing in degrees (0 ahead, + right) or "-" when it
// has none. Segments of one kind must not overlap. Errors name the file and
// line.
func ParseLabels(name string, data []byte) (*Labels, error) {
	errf := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrLabels, name, line, fmt.Sprintf(format, args...))
	}
	ls := &Labels{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line, haveDuration := 0, false
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		num := func(s, what string) (float64, error) {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return 0, errf(line, "%s %q is not a finite number", what, s)
			}
			return x, nil
		}
		if f[0] == "duration" {
			if haveDuration {
				return nil, errf(line, "a second duration line")
			}
			if len(f) != 2 {
				return nil, errf(line, "want \"duration <seconds>\"")
			}
			d, err := num(f[1], "duration")
			if err != nil {
				return nil, err
			}
			if d <= 0 {
				return nil, errf(line, "duration %v is not positive", d)
			}
			ls.Duration, haveDuration = d, true
			continue
		}
		if len(f) != 4 {
			return nil, errf(line, "want \"<kind> <start> <end> <bearing|->\", got %d fields", len(f))
		}
		if !slices.Contains(DecisionKinds, f[0]) {
			return nil, errf(line, "unknown kind %q (want one of %s)", f[0], strings.Join(DecisionKinds, ", "))
		}
		if !haveDuration {
			return nil, errf(line, "segment before the duration line")
		}
		l := Label{Kind: f[0], Line: line}
		var err error
		if l.Start, err = num(f[1], "start"); err != nil {
			return nil, err
		}
		if l.End, err = num(f[2], "end"); err != nil {
			return nil, err
		}
		if l.Start < 0 || l.End <= l.Start || l.End > ls.Duration+1e-9 {
			return nil, errf(line, "segment %v–%v s is not within 0–%v s with start < end", l.Start, l.End, ls.Duration)
		}
		if f[3] != "-" {
			if l.BearingDeg, err = num(f[3], "bearing"); err != nil {
				return nil, err
			}
			if l.BearingDeg < -180 || l.BearingDeg > 180 {
				return nil, errf(line, "bearing %v° is not within ±180°", l.BearingDeg)
			}
			l.HasBearing = true
		}
		for _, o := range ls.Segments {
			if o.Kind == l.Kind && l.Start < o.End && o.Start < l.End {
				return nil, errf(line, "%s %v–%v s overlaps line %d (%v–%v s)", l.Kind, l.Start, l.End, o.Line, o.Start, o.End)
			}
		}
		ls.Segments = append(ls.Segments, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrLabels, name, err)
	}
	if !haveDuration {
		return nil, errf(max(line, 1), "no duration line")
	}
	return ls, nil
}

// At returns the segment of kind that covers most of [t0, t1), if it
// covers at least half of it, or at least half of itself lies there (a
// short sound).
func (ls *Labels) At(kind string, t0, t1 float64) (Label, bool) {
	var best Label
	bestCover, ok := 0.0, false
	for _, l := range ls.Segments {
		if l.Kind != kind {
			continue
		}
		c := min(t1, l.End) - max(t0, l.Start)
		if c > bestCover {
			best, bestCover = l, c
			ok = c >= min(t1-t0, l.End-l.Start)/2
		}
	}
	return best, ok
}
