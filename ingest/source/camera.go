package source

import (
	"os"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/camera"
	"github.com/seed-4c364652/fusiond/ingest/retry"
)

// Keys more than one OpenCV camera kind has.
var (
	keyLatency = Key{Name: "latency", Type: Duration, Default: "0s", Min: "0s", Max: "10s",
		Doc: "Subtracted from arrival time to give capture time where the driver gives no timestamp."}
	keyPixelFormat = Key{Name: "pixel_format", Type: String, Default: `""`, Valid: fourCC,
		Doc: "FourCC asked of the camera (MJPG, YUYV; empty: the driver's choice)."}
)

func fourCC(s string) string {
	if s != "" && len(s) != 4 {
		return quote(s) + " is not a FourCC (4 characters, e.g. MJPG)"
	}
	return ""
}

// openCapture opens an OpenCV camera (ingest/camera) of a kind whose
// target (device, URL, pipeline or file) is the key target.
func openCapture(kind camera.Kind, target string, e Entry, v Values, env Env) (*camera.Camera, error) {
	cc := camera.Config{
		Stream: av.StreamID(e.Name), Kind: kind, Target: v.String(target),
		Width: e.Width, Height: e.Height, FPS: e.FPS, Memory: env.Memory,
	}
	if _, ok := v["pixel_format"]; ok {
		cc.FourCC = v.String("pixel_format")
	}
	if _, ok := v["latency"]; ok {
		cc.LatencyNS = int64(v.Duration("latency"))
	}
	if _, ok := v["pace"]; ok {
		cc.Pace, cc.Loop = v.Bool("pace"), v.Bool("loop")
	}
	return camera.New(cc, env.Clock, env.log())
}

// openLive opens a live OpenCV camera, retried with backoff when it is
// missing or lost.
func openLive(kind camera.Kind, target string, e Entry, v Values, env Env) (Source, error) {
	c, err := openCapture(kind, target, e, v, env)
	if err != nil {
		return nil, err
	}
	return supervised(c, e.Name, env), nil
}

// fileThere is Present for a kind that reads the file named by its key
// "file".
func fileThere(v Values) error {
	_, err := os.Stat(v.String("file"))
	return err
}

// liveDrops are the drop reasons of a supervised device.
var liveDrops = []av.DropReason{retry.DropDeviceError}
