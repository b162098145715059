package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Timeline is what `fusiond plot` shows of a recording. Times are int64
// nanoseconds in the pipeline clock; the figure's x axis is seconds from
// the earliest time in it.
type Timeline struct {
	Streams []Stream
	Bundles []Bundle
	Drops   []DropCount // the recorded cumulative drop counts
	Kinds   []Kind      // one panel each, in this order
}

// Stream is one input stream's samples.
type Stream struct {
	Name       string  // the lane's label, e.g. "cam0 (video)"
	CapturesNS []int64 // capture time of each sample
	JumpsNS    []int64 // capture times after a gap in the sequence numbers
}

// Bundle is one bundle the synchroniser formed.
type Bundle struct {
	TimeNS                     int64
	MissingAudio, MissingVideo bool
}

// DropCount is the total of samples dropped so far, at a time.
type DropCount struct {
	TimeNS int64
	Total  uint64
}

// Kind is one decision kind's decisions.
type Kind struct {
	Name      string
	Decisions []Decision
}

// Decision is one decision: its time, confidence and state.
type Decision struct {
	TimeNS          int64
	Confidence      float64 // a non-finite one is left out of the line
	Active, Unknown bool
}

var (
	colSample   = color.RGBA{60, 110, 180, 255}
	colGap      = color.RGBA{230, 80, 60, 255}
	colFull     = color.RGBA{70, 170, 90, 255}
	colNoAudio  = color.RGBA{240, 160, 40, 255}
	colNoVideo  = color.RGBA{150, 90, 200, 255}
	colNone     = color.RGBA{220, 50, 50, 255}
	colLine     = color.RGBA{30, 90, 160, 255}
	colActive   = color.RGBA{190, 230, 190, 255}
	colUnknown  = color.RGBA{215, 215, 215, 255}
	bundleColor = [2][2]color.RGBA{{colFull, colNoVideo}, {colNoAudio, colNone}} // [missing audio][missing video]
)

// The timeline's size: panels of panelHeight under a key line.
const (
	timelineWidth = 720 * vg.Length(1)
	panelHeight   = 110 * vg.Length(1)
	laneHeight    = 22 * vg.Length(1)
	keyHeight     = 22 * vg.Length(1)
)

// Write draws the timeline in format f to w. A timeline with no samples,
// bundles, drop counts or decisions is an error.
func (tl *Timeline) Write(w io.Writer, f Format) error {
	origin, last, ok := tl.extent()
	if !ok {
		return errEmpty
	}
	sec := func(t int64) float64 { return Seconds(t, origin) }
	panels, heights := []*gplot.Plot{tl.lanes(sec)}, []vg.Length{max(panelHeight, laneHeight*vg.Length(len(tl.Streams)+1)+50)}
	if len(tl.Drops) > 0 {
		panels, heights = append(panels, tl.drops(sec)), append(heights, panelHeight)
	}
	for _, k := range tl.Kinds {
		p, err := kindPanel(k, sec)
		if err != nil {
			return err
		}
		panels, heights = append(panels, p), append(heights, panelHeight)
	}
	// One x range for all panels.
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, p := range panels {
		xmin, xmax = min(xmin, p.X.Min), max(xmax, p.X.Max)
	}
	for _, p := range panels {
		p.X.Min, p.X.Max = xmin, xmax
		p.X.Tick.Marker = denseTicks(10)
	}
	panels[0].Title.Text = fmt.Sprintf("fusiond recording: %.1f s", sec(last))
	panels[len(panels)-1].X.Label.Text = "time from the first event (s)"

	total := keyHeight + 10 // + write's margins
	for _, h := range heights {
		total += h
	}
	return write(w, f, timelineWidth, total, func(c draw.Canvas) {
		top := c.Max.Y - c.Min.Y - keyHeight
		drawKey(draw.Crop(c, 0, 0, top, 0))
		stack(c, panels, heights, top)
	})
}

// stack draws the panels top to bottom under the key, their data areas
// aligned left and right.
func stack(c draw.Canvas, panels []*gplot.Plot, heights []vg.Length, top vg.Length) {
	cs := make([]draw.Canvas, len(panels))
	var left, right vg.Length
	y := c.Min.Y + top
	for i, p := range panels {
		cs[i] = draw.Crop(c, 0, 0, y-heights[i]-c.Min.Y, -(c.Max.Y - y))
		y -= heights[i]
		d := p.DataCanvas(cs[i])
		left, right = max(left, d.Min.X-cs[i].Min.X), max(right, cs[i].Max.X-d.Max.X)
	}
	for i, p := range panels {
		d := p.DataCanvas(cs[i])
		p.Draw(draw.Crop(cs[i], left-(d.Min.X-cs[i].Min.X), -(right - (cs[i].Max.X - d.Max.X)), 0, 0))
	}
}

// drawKey draws the colours' meanings in one line.
func drawKey(c draw.Canvas) {
	sty := gplot.New().Legend.TextStyle
	sty.YAlign = draw.YCenter
	x, y := c.Min.X+10, c.Center().Y
	for _, e := range []struct {
		c    color.Color
		name string
	}{
		{colSample, "samples"}, {colGap, "gap, sequence jump"}, {colFull, "bundle: all"}, {colNoAudio, "no audio"},
		{colNoVideo, "no video"}, {colNone, "none"}, {colLine, "confidence"}, {colActive, "active"}, {colUnknown, "unknown"},
	} {
		c.FillPolygon(e.c, []vg.Point{{X: x, Y: y - 4}, {X: x + 10, Y: y - 4}, {X: x + 10, Y: y + 4}, {X: x, Y: y + 4}})
		c.FillText(sty, vg.Point{X: x + 13, Y: y}, e.name)
		x += 13 + sty.Width(e.name) + 10
	}
}

// lanes is the panel of stream lanes and the bundle lane at the bottom.
func (tl *Timeline) lanes(sec func(int64) float64) *gplot.Plot {
	p := gplot.New()
	n := len(tl.Streams)
	var bs bars
	var ticks gplot.ConstantTicks
	for i, s := range tl.Streams {
		y := float64(n - i)
		ticks = append(ticks, gplot.Tick{Value: y, Label: s.Name})
		rs := Runs(s.CapturesNS)
		for j, r := range rs {
			bs = append(bs, bar{sec(r[0]), sec(r[1]), y - 0.3, y + 0.2, colSample})
			if j > 0 {
				bs = append(bs, bar{sec(rs[j-1][1]), sec(r[0]), y - 0.3, y - 0.15, colGap})
			}
		}
		for _, t := range s.JumpsNS {
			bs = append(bs, bar{sec(t), sec(t), y + 0.2, y + 0.4, colGap})
		}
	}
	ticks = append(ticks, gplot.Tick{Value: 0, Label: "bundles"})
	for _, r := range BundleRuns(tl.Bundles) {
		bs = append(bs, bar{sec(r.FromNS), sec(r.ToNS), -0.3, 0.3, bundleColor[b2i(r.MissingAudio)][b2i(r.MissingVideo)]})
	}
	p.Add(bs)
	p.Y.Tick.Marker = ticks
	p.Y.Min, p.Y.Max = -0.5, float64(n)+0.5
	return p
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// drops is the panel of the cumulative drop count.
func (tl *Timeline) drops(sec func(int64) float64) *gplot.Plot {
	p := gplot.New()
	p.Y.Label.Text = "drops (total)"
	xys := make(plotter.XYs, len(tl.Drops))
	for i, d := range tl.Drops {
		xys[i] = plotter.XY{X: sec(d.TimeNS), Y: float64(d.Total)}
	}
	l, _ := plotter.NewLine(xys) // finite by construction
	l.Color, l.Width = colGap, 1.5
	p.Add(plotter.NewGrid(), l)
	p.Y.Min, p.Y.Max = 0, max(p.Y.Max, 1)
	return p
}

// kindPanel is one decision kind's confidence over its state spans.
func kindPanel(k Kind, sec func(int64) float64) (*gplot.Plot, error) {
	p := gplot.New()
	p.Title.Text, p.Y.Label.Text = k.Name, "confidence"
	p.Title.TextStyle.Font.Size = 10
	p.Title.Padding = 2
	var bs bars
	for _, s := range StateSpans(k.Decisions) {
		c := colActive
		if s.Unknown {
			c = colUnknown
		}
		bs = append(bs, bar{sec(s.FromNS), sec(s.ToNS), 0, 1, c})
	}
	p.Add(bs, plotter.NewGrid())
	var xys plotter.XYs
	for _, d := range k.Decisions {
		if finite(d.Confidence) {
			xys = append(xys, plotter.XY{X: sec(d.TimeNS), Y: d.Confidence})
		}
	}
	if len(xys) > 0 {
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("plot: kind %q: %w", k.Name, err)
		}
		l.Color, l.Width = colLine, 1.2
		s.Color, s.Shape, s.Radius = colLine, draw.CircleGlyph{}, 1.2
		p.Add(l, s)
	}
	p.Y.Min, p.Y.Max = 0, 1
	return p, nil
}

// denseTicks labels about n steps of 1, 2 or 5 times a power of ten (the
// default ticks label only three or so across a wide figure).
type denseTicks int

func (n denseTicks) Ticks(lo, hi float64) []gplot.Tick {
	step := NiceStep((hi - lo) / float64(n))
	dec := max(0, int(-math.Floor(math.Log10(step))))
	var ts []gplot.Tick
	for i := math.Ceil(lo / step); i*step <= hi && len(ts) <= 2*int(n); i++ {
		v := i*step + 0 // no -0
		label := strconv.FormatFloat(v, 'f', dec, 64)
		if math.Abs(v) >= 1e6 {
			label = strconv.FormatFloat(v, 'g', 4, 64)
		}
		ts = append(ts, gplot.Tick{Value: v, Label: label})
	}
	return ts
}

// NiceStep rounds s up to 1, 2 or 5 times a power of ten; s ≤ 0 or not
// finite gives 1.
func NiceStep(s float64) float64 {
	if !finite(s) || s <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(s)))
	for _, m := range []float64{1, 2, 5} {
		if m*p >= s {
			return m * p
		}
	}
	return 10 * p
}

// bar is a filled rectangle in data units; one of zero width is drawn a
// point wide.
type bar struct {
	x0, x1, y0, y1 float64
	c              color.Color
}

type bars []bar

func (bs bars) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, b := range bs {
		x0, x1 := trX(b.x0), trX(b.x1)
		x1 = max(x1, x0+1)
		y0, y1 := trY(b.y0), trY(b.y1)
		c.FillPolygon(b.c, c.ClipPolygonXY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}))
	}
}

func (bs bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = bs.xrange()
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for _, b := range bs {
		ymin, ymax = min(ymin, b.y0), max(ymax, b.y1)
	}
	return xmin, xmax, ymin, ymax
}

func (bs bars) xrange() (xmin, xmax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, b := range bs {
		xmin, xmax = min(xmin, b.x0), max(xmax, b.x1)
	}
	return xmin, xmax
}

// extent is the earliest and the latest time in the timeline; ok is false
// when it has no times at all.
func (tl *Timeline) extent() (first, last int64, ok bool) {
	first, last = math.MaxInt64, math.MinInt64
	see := func(t int64) { first, last, ok = min(first, t), max(last, t), true }
	for _, s := range tl.Streams {
		for _, t := range s.CapturesNS {
			see(t)
		}
		for _, t := range s.JumpsNS {
			see(t)
		}
	}
	for _, b := range tl.Bundles {
		see(b.TimeNS)
	}
	for _, d := range tl.Drops {
		see(d.TimeNS)
	}
	for _, k := range tl.Kinds {
		for _, d := range k.Decisions {
			see(d.TimeNS)
		}
	}
	return first, last, ok
}

// Seconds is t − origin in seconds, exact to the nanosecond where the
// difference fits in an int64 and in float64 past that (int64 extremes).
func Seconds(t, origin int64) float64 {
	d := t - origin
	if (t >= origin) != (d >= 0) { // overflowed
		return (float64(t) - float64(origin)) / 1e9
	}
	return float64(d) / 1e9
}

// Runs splits capture times into runs [first, last] of samples no more
// than 1.5 median intervals apart: a gap in a stream ends a run. The
// times are sorted first; with fewer than 3 there is no median and one
// run holds them all.
func Runs(ts []int64) [][2]int64 {
	if len(ts) == 0 {
		return nil
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	// Intervals in float64: those of extreme times overflow int64.
	gap := func(i int) float64 { return float64(s[i]) - float64(s[i-1]) }
	limit := math.Inf(1)
	if len(s) >= 3 {
		d := make([]float64, 0, len(s)-1)
		for i := 1; i < len(s); i++ {
			d = append(d, gap(i))
		}
		slices.Sort(d)
		limit = 1.5 * d[len(d)/2]
	}
	runs := [][2]int64{{s[0], s[0]}}
	for i := 1; i < len(s); i++ {
		if gap(i) > limit {
			runs = append(runs, [2]int64{s[i], s[i]})
		} else {
			runs[len(runs)-1][1] = s[i]
		}
	}
	return runs
}

// BundleRun is consecutive bundles with the same modalities missing, from
// the first one's time to the next run's first (the last run ends at its
// last bundle).
type BundleRun struct {
	FromNS, ToNS               int64
	MissingAudio, MissingVideo bool
}

// BundleRuns merges bundles (in time order) into runs.
func BundleRuns(bs []Bundle) []BundleRun {
	var runs []BundleRun
	for _, b := range bs {
		if k := len(runs) - 1; k >= 0 {
			runs[k].ToNS = b.TimeNS
			if runs[k].MissingAudio == b.MissingAudio && runs[k].MissingVideo == b.MissingVideo {
				continue
			}
		}
		runs = append(runs, BundleRun{b.TimeNS, b.TimeNS, b.MissingAudio, b.MissingVideo})
	}
	return runs
}

// StateSpan is a stretch of time a kind was active, or unknown.
type StateSpan struct {
	FromNS, ToNS int64
	Unknown      bool // else active
}

// StateSpans returns where a kind's decisions (in time order) were active
// or unknown (Unknown wins over Active): each span from a decision to the
// next one in another state (the last span ends at its last decision).
func StateSpans(ds []Decision) []StateSpan {
	const inactive, active, unknown = 0, 1, 2
	var spans []StateSpan
	last := inactive
	for _, d := range ds {
		st := inactive
		switch {
		case d.Unknown:
			st = unknown
		case d.Active:
			st = active
		}
		if last != inactive {
			spans[len(spans)-1].ToNS = d.TimeNS
			if st == last {
				continue
			}
		}
		if last = st; st != inactive {
			spans = append(spans, StateSpan{d.TimeNS, d.TimeNS, st == unknown})
		}
	}
	return spans
}
