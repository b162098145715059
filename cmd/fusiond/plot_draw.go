package main

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// canvas is what a timeline is drawn on: an SVG document or a PNG image.
type canvas interface {
	rect(x, y, w, h float64, c color.RGBA)
	polyline(pts []float64, c color.RGBA)
	text(x, y float64, s string, c color.RGBA)
}

var (
	colInk     = color.RGBA{40, 40, 40, 255}
	colGrid    = color.RGBA{225, 225, 225, 255}
	colSample  = color.RGBA{60, 110, 180, 255}
	colGap     = color.RGBA{230, 80, 60, 255}
	colFull    = color.RGBA{70, 170, 90, 255}
	colNoAudio = color.RGBA{240, 160, 40, 255}
	colNoVideo = color.RGBA{150, 90, 200, 255}
	colNone    = color.RGBA{220, 50, 50, 255}
	colLine    = color.RGBA{30, 90, 160, 255}
)

const (
	plotWidth  = 1200.0
	plotLeft   = 120.0
	plotRight  = 20.0
	laneHeight = 36.0
	kindHeight = 70.0
)

// layout returns the picture's height.
func (tl *timeline) height() float64 {
	return 30 + float64(len(tl.streams)+2)*laneHeight + float64(len(tl.kinds))*kindHeight + 40
}

func (tl *timeline) draw(c canvas) {
	// In float64: the difference of extreme timestamps overflows int64.
	span := max(float64(tl.last)-float64(tl.first), 1)
	inner := plotWidth - plotLeft - plotRight
	x := func(t int64) float64 { return plotLeft + inner*(float64(t)-float64(tl.first))/span }
	col := func(t int64) int { return int(math.Round(x(t))) }
	h := tl.height()
	c.rect(0, 0, plotWidth, h, color.RGBA{255, 255, 255, 255})
	c.text(10, 18, fmt.Sprintf("fusiond recording: %.1f s", span/1e9), colInk)
	y := 30.0

	// Time grid.
	step := niceStep(span / 1e9 / 10)
	for s := 0.0; s <= span/1e9; s += step {
		gx := plotLeft + inner*s*1e9/span
		c.rect(gx, 30, 1, h-60, colGrid)
		c.text(gx-8, h-15, fmt.Sprintf("%gs", s), colInk)
	}

	for _, l := range tl.streams {
		c.text(10, y+laneHeight/2+4, fmt.Sprintf("%s (%s)", l.name, l.kind), colInk)
		drawn := map[int]bool{}
		for _, t := range l.captures {
			if px := col(t); !drawn[px] {
				drawn[px] = true
				c.rect(float64(px), y+6, 1, laneHeight-12, colSample)
			}
		}
		// Gaps: intervals well above the stream's usual one.
		if med := medianInterval(l.captures); med > 0 {
			for i := 1; i < len(l.captures); i++ {
				if d := l.captures[i] - l.captures[i-1]; float64(d) > 1.5*float64(med) {
					c.rect(x(l.captures[i-1]), y+laneHeight-8, max(x(l.captures[i])-x(l.captures[i-1]), 1), 4, colGap)
				}
			}
		}
		for _, t := range l.jumps {
			c.rect(x(t)-2, y+2, 4, 6, colGap)
		}
		y += laneHeight
	}

	c.text(10, y+laneHeight/2+4, "bundles", colInk)
	worst := map[int]color.RGBA{}
	rank := map[color.RGBA]int{colFull: 0, colNoAudio: 1, colNoVideo: 2, colNone: 3}
	var cols []int
	for _, b := range tl.bundles {
		cl := colFull
		switch {
		case slices.Contains(b.missing, av.Audio) && slices.Contains(b.missing, av.Video):
			cl = colNone
		case slices.Contains(b.missing, av.Audio):
			cl = colNoAudio
		case slices.Contains(b.missing, av.Video):
			cl = colNoVideo
		}
		px := col(b.t)
		if prev, ok := worst[px]; !ok || rank[cl] > rank[prev] {
			if !ok {
				cols = append(cols, px)
			}
			worst[px] = cl
		}
	}
	for _, px := range cols {
		c.rect(float64(px), y+6, 1, laneHeight-12, worst[px])
	}
	c.text(plotWidth-300, y+4, "green: all   orange: no audio   purple: no video", colInk)
	y += laneHeight

	c.text(10, y+laneHeight/2+4, "drops (total)", colInk)
	if n := len(tl.drops); n > 0 {
		top := tl.drops[n-1].v
		var pts []float64
		for _, p := range tl.drops {
			v := 0.0
			if top > 0 {
				v = p.v / top
			}
			pts = append(pts, x(p.t), y+laneHeight-6-v*(laneHeight-12))
		}
		c.polyline(pts, colGap)
		c.text(plotWidth-plotRight-60, y+14, fmt.Sprintf("%.0f", top), colGap)
	}
	y += laneHeight

	for _, k := range tl.kinds {
		c.text(10, y+kindHeight/2, k, colInk)
		c.text(10, y+kindHeight/2+14, "confidence", colInk)
		c.rect(plotLeft, y+kindHeight/2, inner, 1, colGrid)
		var pts []float64
		for _, p := range tl.decisions[k] {
			py := y + kindHeight - 5 - p.v*(kindHeight-10)
			pts = append(pts, x(p.t), py)
			c.rect(x(p.t)-1.5, py-1.5, 3, 3, colLine)
		}
		c.polyline(pts, colLine)
		y += kindHeight
	}
}

func medianInterval(ts []int64) int64 {
	if len(ts) < 3 {
		return 0
	}
	d := make([]int64, 0, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		d = append(d, ts[i]-ts[i-1])
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// niceStep rounds s up to 1, 2 or 5 times a power of ten.
func niceStep(s float64) float64 {
	if s <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(s)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= s {
			return m * p
		}
	}
	return 10 * p
}

// svgCanvas writes SVG elements.
type svgCanvas struct{ b strings.Builder }

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func (s *svgCanvas) rect(x, y, w, h float64, c color.RGBA) {
	fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x, y, w, h, hex(c))
}

func (s *svgCanvas) polyline(pts []float64, c color.RGBA) {
	if len(pts) < 4 {
		return
	}
	s.b.WriteString(`<polyline fill="none" stroke-width="1.5" stroke="` + hex(c) + `" points="`)
	for i := 0; i+1 < len(pts); i += 2 {
		fmt.Fprintf(&s.b, "%.1f,%.1f ", pts[i], pts[i+1])
	}
	s.b.WriteString("\"/>\n")
}

func (s *svgCanvas) text(x, y float64, t string, c color.RGBA) {
	t = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(t)
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" font-family="sans-serif" font-size="12" fill="%s">%s</text>`+"\n", x, y, hex(c), t)
}

func (tl *timeline) drawSVG(w io.Writer) error {
	s := &svgCanvas{}
	tl.draw(s)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n", plotWidth, tl.height(), plotWidth, tl.height())
	bw.WriteString(s.b.String())
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// pngCanvas draws into an image.
type pngCanvas struct{ img *image.RGBA }

func (p *pngCanvas) rect(x, y, w, h float64, c color.RGBA) {
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	x1, y1 := int(math.Ceil(x+w)), int(math.Ceil(y+h))
	for yy := max(y0, 0); yy < min(y1, p.img.Rect.Dy()); yy++ {
		for xx := max(x0, 0); xx < min(x1, p.img.Rect.Dx()); xx++ {
			p.img.SetRGBA(xx, yy, c)
		}
	}
}

func (p *pngCanvas) polyline(pts []float64, c color.RGBA) {
	for i := 0; i+3 < len(pts); i += 2 {
		// Only the part of a segment inside the image is drawn, so the
		// steps are bounded by the image's size whatever the points.
		x0, y0, x1, y1, ok := clipSegment(pts[i], pts[i+1], pts[i+2], pts[i+3],
			-1, -1, float64(p.img.Rect.Dx()+1), float64(p.img.Rect.Dy()+1))
		if !ok {
			continue
		}
		n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
		for k := 0; k <= n; k++ {
			f := float64(k) / float64(n)
			p.rect(x0+f*(x1-x0)-0.5, y0+f*(y1-y0)-0.5, 1.5, 1.5, c)
		}
	}
}

func (p *pngCanvas) text(x, y float64, s string, c color.RGBA) {
	d := font.Drawer{Dst: p.img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(int(x), int(y))}
	d.DrawString(s)
}

func (tl *timeline) drawPNG(w io.Writer) error {
	p := &pngCanvas{img: image.NewRGBA(image.Rect(0, 0, int(plotWidth), int(tl.height())))}
	tl.draw(p)
	return png.Encode(w, p.img)
}

// clipSegment clips the segment (x0,y0)–(x1,y1) to the rectangle
// [xmin,xmax]×[ymin,ymax] (Liang–Barsky); ok is false when no part of it
// is inside, or a coordinate is not finite.
func clipSegment(x0, y0, x1, y1, xmin, ymin, xmax, ymax float64) (cx0, cy0, cx1, cy1 float64, ok bool) {
	for _, v := range []float64{x0, y0, x1, y1} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, 0, 0, 0, false
		}
	}
	dx, dy := x1-x0, y1-y0
	t0, t1 := 0.0, 1.0
	for _, e := range [4][2]float64{{-dx, x0 - xmin}, {dx, xmax - x0}, {-dy, y0 - ymin}, {dy, ymax - y0}} {
		p, q := e[0], e[1]
		switch {
		case p == 0:
			if q < 0 {
				return 0, 0, 0, 0, false
			}
		case p < 0:
			t0 = max(t0, q/p)
		default:
			t1 = min(t1, q/p)
		}
	}
	if t0 > t1 {
		return 0, 0, 0, 0, false
	}
	return x0 + t0*dx, y0 + t0*dy, x0 + t1*dx, y0 + t1*dy, true
}
