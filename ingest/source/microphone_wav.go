package source

import (
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/media"
)

// microphoneWAV plays a WAV file.
var microphoneWAV = register(&Spec{
	Modality: Microphone,
	Kind:     "wav",
	Doc:      "A WAV file (PCM); its rate and channels must match rate_hz and channels.",
	Keys: []Key{
		{Name: "file", Type: String, Required: true, Doc: "The WAV file.", Valid: nonEmpty},
		{Name: "pace", Type: Bool, Default: "true", Doc: "Play in real time: no chunk before the clock reaches its end (false: as fast as it reads)."},
		{Name: "loop", Type: Bool, Default: "false", Doc: "Start over at the end."},
	},
	Present: fileThere,
	Open: func(e Entry, v Values, env Env) (Source, error) {
		w, err := media.OpenWAV(media.WAVConfig{Stream: av.StreamID(e.Name), Path: v.String("file"), RateHz: e.RateHz, Channels: e.Channels,
			ChunkFrames: e.ChunkFrames(), Pace: v.Bool("pace"), Loop: v.Bool("loop")}, env.Clock)
		if err != nil {
			return failed(Microphone, e.Name, err, env), nil
		}
		return permanent(w, e.Name, env), nil
	},
})
