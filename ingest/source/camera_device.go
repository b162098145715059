package source

import (
	"regexp"

	"github.com/seed-4c364652/fusiond/hardware"
	"github.com/seed-4c364652/fusiond/ingest/camera"
)

// videoDevice is a camera device: an index or /dev/videoN.
var videoDevice = regexp.MustCompile(`^(/dev/video)?[0-9]{1,3}$`)

// cameraDevice captures a V4L2 camera through OpenCV.
var cameraDevice = register(&Spec{
	Modality: Camera,
	Kind:     "device",
	Doc:      "A V4L2 camera, through OpenCV; `fusiond devices` lists them. width, height and fps are asked of it.",
	Needs:    "OpenCV",
	WaitsInC: true,
	Keys: []Key{
		{Name: "device", Type: String, Required: true, Doc: "The device: an index (0) or /dev/videoN.",
			Valid: func(s string) string {
				if !videoDevice.MatchString(s) {
					return quote(s) + " is not a device index or /dev/videoN"
				}
				return ""
			}},
		keyPixelFormat,
		keyLatency,
	},
	Present: func(v Values) error {
		cams, _ := hardware.Cameras()
		_, err := hardware.PickCamera(cams, v.String("device"))
		return err
	},
	Open: func(e Entry, v Values, env Env) (Source, error) {
		return openLive(camera.Device, "device", e, v, env)
	},
	Drops: liveDrops,
})
