package source

import "github.com/seed-4c364652/fusiond/ingest/camera"

// cameraFile plays a video file through OpenCV's FFmpeg backend.
var cameraFile = register(&Spec{
	Modality: Camera,
	Kind:     "file",
	Doc:      "A video file (any container and codec FFmpeg reads), through OpenCV; it delivers the frames it holds, timed by their position in the file.",
	Needs:    "OpenCV",
	WaitsInC: true,
	Keys: []Key{
		{Name: "file", Type: String, Required: true, Doc: "The video file.", Valid: nonEmpty},
		{Name: "pace", Type: Bool, Default: "true", Doc: "Play at the file's frame rate (false: as fast as it decodes)."},
		{Name: "loop", Type: Bool, Default: "false", Doc: "Start over at the end, the time line continuing."},
	},
	Present: fileThere,
	Open: func(e Entry, v Values, env Env) (Source, error) {
		c, err := openCapture(camera.File, "file", e, v, env)
		if err != nil {
			return nil, err
		}
		// A file either plays or it does not: no retries.
		return permanent(c, e.Name, env), nil
	},
})
