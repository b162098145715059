package source

import (
	"strings"

	"github.com/seed-4c364652/fusiond/ingest/camera"
)

// cameraURL captures a network stream through OpenCV's FFmpeg backend.
var cameraURL = register(&Spec{
	Modality: Camera,
	Kind:     "url",
	Doc:      "A network stream (RTSP, HTTP MJPEG, ...) through OpenCV's FFmpeg backend. width, height and fps are asked of it.",
	Needs:    "OpenCV",
	WaitsInC: true,
	Keys: []Key{
		{Name: "url", Type: String, Required: true, Doc: "The stream's URL, e.g. rtsp://cam.local/stream or http://host/video.mjpg.",
			Valid: func(s string) string {
				if !strings.Contains(s, "://") {
					return quote(s) + " is not a URL"
				}
				return ""
			}},
		keyPixelFormat,
		keyLatency,
	},
	Open: func(e Entry, v Values, env Env) (Source, error) {
		return openLive(camera.URL, "url", e, v, env)
	},
	Drops: liveDrops,
})
