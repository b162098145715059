//go:build !nosensors

package vision

import (
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Any frame header and pixel buffer: counted or measured, never a panic.
func FuzzVisionFrame(f *testing.F) {
	f.Add(uint8(64), uint8(48), uint8(0), uint8(2), int16(0), uint8(7))
	f.Add(uint8(17), uint8(16), uint8(5), uint8(1), int16(-3), uint8(0))
	f.Add(uint8(0), uint8(0), uint8(0), uint8(0), int16(0), uint8(0))
	e, err := New(Config{Width: 64, Height: 48, FaceEvery: 2})
	if err != nil {
		f.Skip(err)
	}
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, w, h, pad, format uint8, extra int16, fill uint8) {
		fr := &av.Frame{Width: int(w), Height: int(h), Format: av.PixelFormat(format % 4)}
		fr.Stride = fr.Width*max(fr.Format.BytesPerPixel(), 1) + int(pad)
		n := max(0, fr.Stride*fr.Height+int(extra))
		fr.Pix = make([]byte, n)
		for i := range fr.Pix {
			fr.Pix[i] = byte(i*int(fill) + i>>7)
		}
		v := e.Push(fr)
		if v.Has(FeatForeground) && (v.Foreground < 0 || v.Foreground > 1) {
			t.Errorf("foreground %v", v.Foreground)
		}
	})
}
