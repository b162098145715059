//go:build nosensors

package foxglove

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// encodeJPEG appends j's pixels as a JPEG width pixels wide (nearest
// neighbour), through the standard library: the build without OpenCV.
func encodeJPEG(dst []byte, j *job, width, quality int) ([]byte, error) {
	bpp := j.format.BytesPerPixel()
	if j.format != av.BGR24 && j.format != av.Gray8 {
		return dst, fmt.Errorf("foxglove: jpeg of %v", j.format)
	}
	if width <= 0 {
		width = j.width
	}
	height := max(1, j.height*width/j.width)
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := range height {
		row := j.pix[(y*j.height/height)*j.stride:]
		for x := range width {
			p := row[(x*j.width/width)*bpp:]
			if bpp == 1 {
				img.Set(x, y, color.Gray{p[0]})
			} else {
				img.Set(x, y, color.RGBA{p[2], p[1], p[0], 255})
			}
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		return dst, fmt.Errorf("foxglove: jpeg: %w", err)
	}
	return append(dst, b.Bytes()...), nil
}
