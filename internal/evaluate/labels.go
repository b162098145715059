package evaluate

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/seed-4c364652/fusiond/fuse"
)

// Label is one labelled segment: a decision kind that holds from Start to
// End, in seconds from the first sample of the recording, with the bearing
// of a speaker where the label gives one (speaker:<bearing_deg>).
type Label struct {
	Kind       string
	Start, End float64
	HasBearing bool
	BearingDeg float64
	// Line is the label's line in its file, from 1.
	Line int
}

// Labels are one recording's labels, in the order of the file.
type Labels struct {
	// Name is the file the labels came from (for messages).
	Name     string
	Segments []Label
}

// ErrLabels is wrapped by every label-file error.
var ErrLabels = errors.New("bad labels")

// maxBearingDeg bounds a speaker's bearing (0 ahead, + right).
const maxBearingDeg = 180

// ParseLabels parses an Audacity label track (name is used in errors):
//
//	1.250000	3.500000	speech
//	0.000000	12.000000	presence
//	1.250000	3.500000	speaker:-20.5
//	\	100.000000	3000.000000
//
// One segment a line: start and end in seconds (0 ≤ start < end), a TAB
// between the three fields, the label a decision kind (speech, presence,
// motion, sound_event, speaker) or speaker:<bearing_deg> (within ±180°, 0
// ahead, + right). Lines that begin with a backslash (the frequency range
// of a spectral selection, which Audacity writes after its label) and
// blank lines are ignored. Segments of one kind must not overlap (they may
// touch). Every error names the file and line.
func ParseLabels(name string, data []byte) (*Labels, error) {
	errf := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrLabels, name, line, fmt.Sprintf(format, args...))
	}
	ls := &Labels{Name: name}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // a byte-order mark
		}
		if strings.HasPrefix(text, `\`) || strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.SplitN(text, "\t", 3)
		if len(f) != 3 {
			return nil, errf(line, "want start<TAB>end<TAB>label, got %q", text)
		}
		num := func(s, what string) (float64, error) {
			x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return 0, errf(line, "%s %q is not a finite number of seconds", what, s)
			}
			return x, nil
		}
		l := Label{Line: line}
		var err error
		if l.Start, err = num(f[0], "start"); err != nil {
			return nil, err
		}
		if l.End, err = num(f[1], "end"); err != nil {
			return nil, err
		}
		switch {
		case l.Start < 0:
			return nil, errf(line, "start %v s is negative", l.Start)
		case l.End < l.Start:
			return nil, errf(line, "end %v s is before start %v s", l.End, l.Start)
		case l.End == l.Start:
			return nil, errf(line, "%v–%v s is empty (a point label): a kind holds over a span", l.Start, l.End)
		}
		label := strings.TrimSpace(f[2])
		kind, bearing, hasBearing := strings.Cut(label, ":")
		kind = strings.TrimSpace(kind)
		if !slices.Contains(fuse.DecisionKinds, kind) {
			return nil, errf(line, "unknown label %q (want one of %s, or speaker:<bearing_deg>)", label, strings.Join(fuse.DecisionKinds, ", "))
		}
		l.Kind = kind
		if hasBearing {
			if kind != fuse.KindSpeaker {
				return nil, errf(line, "label %q: only speaker takes a bearing", label)
			}
			b, err := strconv.ParseFloat(strings.TrimSpace(bearing), 64)
			if err != nil || math.IsNaN(b) || math.IsInf(b, 0) || math.Abs(b) > maxBearingDeg {
				return nil, errf(line, "label %q: bearing %q is not a number of degrees within ±%d", label, bearing, maxBearingDeg)
			}
			l.HasBearing, l.BearingDeg = true, b
		}
		for _, o := range ls.Segments {
			if o.Kind == l.Kind && l.Start < o.End && o.Start < l.End {
				return nil, errf(line, "%s %v–%v s overlaps line %d (%v–%v s)", l.Kind, l.Start, l.End, o.Line, o.Start, o.End)
			}
		}
		ls.Segments = append(ls.Segments, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s:%d: %w", ErrLabels, name, line+1, err)
	}
	return ls, nil
}

// ReadLabels reads and parses the label file at path.
func ReadLabels(path string) (*Labels, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseLabels(path, data)
}

// WriteLabels writes ls as an Audacity label track, as Audacity exports
// one: six decimals, sorted by start (then kind).
func WriteLabels(w io.Writer, ls *Labels) error {
	segs := slices.Clone(ls.Segments)
	slices.SortStableFunc(segs, func(a, b Label) int {
		if c := cmp.Compare(a.Start, b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	var b bytes.Buffer
	for _, l := range segs {
		label := l.Kind
		if l.HasBearing {
			label += ":" + strconv.FormatFloat(l.BearingDeg, 'f', -1, 64)
		}
		fmt.Fprintf(&b, "%.6f\t%.6f\t%s\n", l.Start, l.End, label)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// At returns the segment of kind that covers most of [t0, t1) seconds, if
// it covers at least half of it, or at least half of itself lies there (a
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

// Covered returns the fraction of [t0, t1) seconds that segments of kind
// cover (0 for an empty span).
func (ls *Labels) Covered(kind string, t0, t1 float64) float64 {
	if t1 <= t0 {
		return 0
	}
	var c float64
	for _, l := range ls.Segments {
		if l.Kind == kind {
			c += max(0, min(t1, l.End)-max(t0, l.Start))
		}
	}
	return c / (t1 - t0)
}
