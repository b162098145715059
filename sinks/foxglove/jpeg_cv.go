//go:build !nosensors

package foxglove

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// encodeJPEG appends j's pixels as a JPEG width pixels wide (the height
// keeps the aspect), through OpenCV.
func encodeJPEG(dst []byte, j *job, width, quality int) ([]byte, error) {
	typ := gocv.MatTypeCV8UC3
	if j.format == av.Gray8 {
		typ = gocv.MatTypeCV8UC1
	} else if j.format != av.BGR24 {
		return dst, fmt.Errorf("foxglove: jpeg of %v", j.format)
	}
	if j.stride != j.width*j.format.BytesPerPixel() {
		return dst, fmt.Errorf("foxglove: jpeg of padded rows (stride %d)", j.stride)
	}
	m, err := gocv.NewMatFromBytes(j.height, j.width, typ, j.pix)
	if err != nil {
		return dst, fmt.Errorf("foxglove: %w", err)
	}
	defer m.Close()
	src := m
	if width > 0 && width != j.width {
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(m, &small, image.Pt(width, max(1, j.height*width/j.width)), 0, 0, gocv.InterpolationArea)
		src = small
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, src, []int{gocv.IMWriteJpegQuality, quality})
	if err != nil {
		return dst, fmt.Errorf("foxglove: jpeg: %w", err)
	}
	defer buf.Close()
	return append(dst, buf.GetBytes()...), nil
}
