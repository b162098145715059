package source

import (
	"strings"

	"github.com/seed-4c364652/fusiond/ingest/camera"
)

// cameraGStreamer captures a GStreamer pipeline through OpenCV.
var cameraGStreamer = register(&Spec{
	Modality: Camera,
	Kind:     "gstreamer",
	Doc:      "A GStreamer pipeline ending in appsink, through OpenCV; it delivers the frames it makes (try it with gst-launch-1.0).",
	Needs:    "OpenCV",
	WaitsInC: true,
	Keys: []Key{
		{Name: "pipeline", Type: String, Required: true, Doc: `The pipeline, e.g. "v4l2src ! videoconvert ! video/x-raw,format=BGR ! appsink".`,
			Valid: func(s string) string {
				if !strings.Contains(s, "appsink") {
					return "a GStreamer pipeline ending in appsink is needed"
				}
				return ""
			}},
		keyLatency,
	},
	Open: func(e Entry, v Values, env Env) (Source, error) {
		return openLive(camera.GStreamer, "pipeline", e, v, env)
	},
	Drops: liveDrops,
})
