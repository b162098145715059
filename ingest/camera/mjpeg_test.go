//go:build !nosensors

package camera_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/camera"
)

// mjpegServer serves an HTTP MJPEG stream (multipart/x-mixed-replace, as IP
// cameras do) of n grey frames, then ends the response, as a camera that
// goes away does. The caller closes it.
func mjpegServer(t *testing.T, n int) *httptest.Server {
	t.Helper()
	var frames [][]byte
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 160, 120))
		for p := range img.Pix {
			img.Pix[p] = uint8(20 + 8*i)
		}
		img.Set(0, 0, color.Gray{Y: 255})
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, b.Bytes())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace;boundary=frame")
		for _, f := range frames {
			fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(f))
			w.Write(f)
			fmt.Fprint(w, "\r\n")
		}
	}))
	return srv
}

// TestHTTPMJPEG captures an HTTP MJPEG camera through the URL source: every
// frame, decoded to BGR, and ErrLost when the stream ends.
func TestHTTPMJPEG(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	srv := mjpegServer(t, 12)
	defer srv.Close() // before goleak's check
	frames, err := runCamera(t, camera.Config{Stream: "ipcam", Kind: camera.URL, Target: srv.URL + "/video.mjpg", LatencyNS: 50e6}, av.NewRealClock())
	if !errors.Is(err, camera.ErrLost) {
		t.Fatalf("err = %v, want ErrLost when the stream ends", err)
	}
	if len(frames) < 10 {
		t.Fatalf("%d frames, want the stream's 12", len(frames))
	}
	for i, f := range frames {
		if f.Width != 160 || f.Height != 120 || f.Format != av.BGR24 || f.CaptureNS != f.ArrivalNS-50e6 {
			t.Fatalf("frame %d: %dx%d %v capture %d arrival %d", i, f.Width, f.Height, f.Format, f.CaptureNS, f.ArrivalNS)
		}
	}
	// Grey levels rise frame to frame: the frames came in order.
	for i := 1; i < len(frames); i++ {
		if frames[i].Pix[3*500] <= frames[i-1].Pix[3*500] {
			t.Fatalf("frame %d is not brighter than frame %d", i, i-1)
		}
	}
}
