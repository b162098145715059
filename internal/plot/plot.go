package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	_ "gonum.org/v1/plot/vg/vgimg" // png
	_ "gonum.org/v1/plot/vg/vgpdf" // pdf
	_ "gonum.org/v1/plot/vg/vgsvg" // svg
)

// Format is an output format: "svg", "png" or "pdf".
type Format string

// The formats figures are written in.
const (
	SVG Format = "svg"
	PNG Format = "png"
	PDF Format = "pdf"
)

// FormatOf returns the format named by path's extension.
func FormatOf(path string) (Format, error) {
	switch f := Format(strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")); f {
	case SVG, PNG, PDF:
		return f, nil
	}
	return "", fmt.Errorf("plot: %q: want a .svg, .png or .pdf file", path)
}

// Drawer is a figure: a Figure or a *Timeline.
type Drawer interface {
	Write(w io.Writer, f Format) error
}

// WriteFile draws d into path, in the format its extension names. Nothing
// is written when drawing fails.
func WriteFile(path string, d Drawer) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := d.Write(&b, f); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// Series is one named line: points (X[i], Y[i]) in the figure's units.
type Series struct {
	Name string
	X, Y []float64
}

// Figure is line series on linear axes, with a legend.
type Figure struct {
	Title, XLabel, YLabel string // the labels carry the units: "latency (ms)"
	Series                []Series
	// LegendTopLeft puts the legend at the top left (default: bottom right).
	LegendTopLeft bool
	// Points marks every point of every series (for short series).
	Points bool
	// YMax is the top of the y axis (0: from the data), e.g. 1 for a CDF.
	YMax float64
}

// figureWidth and figureHeight are a line figure's size (640×400 px in PNG).
const (
	figureWidth  = 480 * vg.Length(1)
	figureHeight = 300 * vg.Length(1)
)

// palette are the series colours, in order.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
}

// Write draws the figure in format f to w. A series with mismatched X and
// Y or a non-finite value is an error; a figure with no points is drawn
// with empty axes.
func (fig Figure) Write(w io.Writer, f Format) error {
	p := gplot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = fig.Title, fig.XLabel, fig.YLabel
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = fig.LegendTopLeft, fig.LegendTopLeft
	p.Legend.Padding, p.Legend.XOffs, p.Legend.YOffs = 2, -8, 8 // inset from the axes
	if fig.LegendTopLeft {
		p.Legend.XOffs, p.Legend.YOffs = 8, -8
	}
	p.X.Min, p.Y.Min = 0, 0
	for i, s := range fig.Series {
		xys, err := xysOf(s.X, s.Y)
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		c := palette[i%len(palette)]
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		l.Color, l.Width = c, 1.5
		p.Add(l)
		if !fig.Points {
			p.Legend.Add(s.Name, l)
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		sc.Color, sc.Shape = c, draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add(s.Name, l, sc)
	}
	if fig.YMax != 0 {
		p.Y.Max = fig.YMax
	}
	return write(w, f, figureWidth, figureHeight, func(c draw.Canvas) { p.Draw(c) })
}

func xysOf(x, y []float64) (plotter.XYs, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("%d x values, %d y values", len(x), len(y))
	}
	xys := make(plotter.XYs, len(x))
	for i := range x {
		if !finite(x[i]) || !finite(y[i]) {
			return nil, fmt.Errorf("point %d (%g, %g) is not finite", i, x[i], y[i])
		}
		xys[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	return xys, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// write draws on a w×h canvas of format f, white behind, and writes it.
func write(w io.Writer, f Format, width, height vg.Length, drawFn func(draw.Canvas)) error {
	cw, err := draw.NewFormattedCanvas(width, height, string(f))
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	c := draw.New(cw)
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	drawFn(draw.Crop(c, 5, -10, 5, -5)) // margins

	if _, err := cw.WriteTo(w); err != nil {
		return fmt.Errorf("plot: write %s: %w", f, err)
	}
	return nil
}

// CDF returns the empirical distribution of values as a line: x the
// sorted values up to cut, y the fraction of values at or below x. A
// distribution that goes on past cut ends with a point at (cut, fraction
// at or below cut), so the line stops below 1. Points within 1/400 of
// both axes of the last kept one are left out (the line looks the same,
// the file stays small). Non-finite values are left out; no values give
// no points.
func CDF(values []float64, cut float64) (x, y []float64) {
	s := make([]float64, 0, len(values))
	for _, v := range values {
		if finite(v) {
			s = append(s, v)
		}
	}
	slices.Sort(s)
	n := float64(len(s))
	for i, v := range s {
		if v > cut {
			x, y = append(x, cut), append(y, float64(i)/n)
			break
		}
		x, y = append(x, v), append(y, float64(i+1)/n)
	}
	return thin(x, y, cut/400, 1.0/400)
}

// thin leaves out the points within dx and dy of the last kept one; the
// first and the last point are always kept.
func thin(x, y []float64, dx, dy float64) (tx, ty []float64) {
	for i := range x {
		if k := len(tx) - 1; k >= 0 && i < len(x)-1 && math.Abs(x[i]-tx[k]) < dx && math.Abs(y[i]-ty[k]) < dy {
			continue
		}
		tx, ty = append(tx, x[i]), append(ty, y[i])
	}
	return tx, ty
}

// errEmpty is returned for a timeline with nothing in it.
var errEmpty = errors.New("plot: nothing to plot: no samples, bundles, drop counts or decisions")
