package source

import (
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/media"
)

// microphoneMedia plays the audio track of a media file, decoded by
// ffmpeg.
var microphoneMedia = register(&Spec{
	Modality: Microphone,
	Kind:     "media",
	Doc:      "The audio track of a video or audio file, decoded by ffmpeg, resampled to rate_hz and channels, aligned with the file's video.",
	Needs:    "ffmpeg",
	Keys: []Key{
		{Name: "file", Type: String, Required: true, Doc: "The media file.", Valid: nonEmpty},
		{Name: "pace", Type: Bool, Default: "true", Doc: "Play in real time: no chunk before the clock reaches its end (false: as fast as it decodes)."},
		{Name: "loop", Type: Bool, Default: "false", Doc: "Start over at the end, the time line continuing."},
	},
	Present: fileThere,
	Open: func(e Entry, v Values, env Env) (Source, error) {
		t, err := media.OpenTrack(media.TrackConfig{Stream: av.StreamID(e.Name), Path: v.String("file"), RateHz: e.RateHz, Channels: e.Channels,
			ChunkFrames: e.ChunkFrames(), Pace: v.Bool("pace"), Loop: v.Bool("loop")}, env.Clock)
		if err != nil {
			return failed(Microphone, e.Name, err, env), nil
		}
		env.log().Info("audio track open", "stream", e.Name, "file", v.String("file"), "offset_from_video", time.Duration(t.OffsetNS()))
		return permanent(t, e.Name, env), nil
	},
})
