package foxglove

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/seed-4c364652/fusiond/ingest/recording"
)

// appendCompressedImage appends a foxglove.CompressedImage.
func appendCompressedImage(b []byte, tsNS int64, frameID, format string, data []byte) []byte {
	b = recording.AppendTimestamp(b, 1, tsNS)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, data)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, format)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendString(b, frameID)
}

// rgba is an RGBA colour, each component in [0, 1].
type rgba struct{ R, G, B, A float64 }

// point is a position in image pixels, from the top-left corner.
type point struct{ X, Y float64 }

// The foxglove.PointsAnnotation.Type values drawn.
const (
	lineLoop  = 2
	lineStrip = 3
)

// circle, polyline and label are the shapes of an ImageAnnotations.
type circle struct {
	Center             point
	DiameterPx, LinePx float64
	Fill, Outline      rgba
}

// polyline is a polyline, polygon or point set.
type polyline struct {
	Type    int
	Points  []point
	Outline rgba
	Fill    rgba
	LinePx  float64
}

// label is a text.
type label struct {
	At         point
	Text       string
	SizePx     float64
	Color      rgba
	Background rgba
}

// imageAnnotations is a foxglove.ImageAnnotations: shapes drawn over one
// camera's image.
type imageAnnotations struct {
	Circles []circle
	Points  []polyline
	Texts   []label
}

func appendDouble(b []byte, num protowire.Number, x float64) []byte {
	if x == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(x))
}

// appendSub appends field num as the sub-message f builds.
func appendSub(b []byte, num protowire.Number, f func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, f(nil))
}

func appendPoint(b []byte, num protowire.Number, p point) []byte {
	return appendSub(b, num, func(b []byte) []byte {
		return appendDouble(appendDouble(b, 1, p.X), 2, p.Y)
	})
}

func appendColor(b []byte, num protowire.Number, c rgba) []byte {
	return appendSub(b, num, func(b []byte) []byte {
		return appendDouble(appendDouble(appendDouble(appendDouble(b, 1, c.R), 2, c.G), 3, c.B), 4, c.A)
	})
}

// appendAnnotations appends a as a foxglove.ImageAnnotations, every shape
// stamped tsNS.
func appendAnnotations(b []byte, tsNS int64, a *imageAnnotations) []byte {
	for _, c := range a.Circles {
		b = appendSub(b, 1, func(b []byte) []byte {
			b = recording.AppendTimestamp(b, 1, tsNS)
			b = appendPoint(b, 2, c.Center)
			b = appendDouble(b, 3, c.DiameterPx)
			b = appendDouble(b, 4, c.LinePx)
			b = appendColor(b, 5, c.Fill)
			return appendColor(b, 6, c.Outline)
		})
	}
	for _, p := range a.Points {
		b = appendSub(b, 2, func(b []byte) []byte {
			b = recording.AppendTimestamp(b, 1, tsNS)
			b = protowire.AppendTag(b, 2, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(p.Type))
			for _, pt := range p.Points {
				b = appendPoint(b, 3, pt)
			}
			b = appendColor(b, 4, p.Outline)
			b = appendColor(b, 6, p.Fill)
			return appendDouble(b, 7, p.LinePx)
		})
	}
	for _, t := range a.Texts {
		b = appendSub(b, 3, func(b []byte) []byte {
			b = recording.AppendTimestamp(b, 1, tsNS)
			b = appendPoint(b, 2, t.At)
			b = protowire.AppendTag(b, 3, protowire.BytesType)
			b = protowire.AppendString(b, t.Text)
			b = appendDouble(b, 4, t.SizePx)
			b = appendColor(b, 5, t.Color)
			return appendColor(b, 6, t.Background)
		})
	}
	return b
}
