package source

import (
	"fmt"
	"strings"

	"github.com/seed-4c364652/fusiond/hardware"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/mic"
	"github.com/seed-4c364652/fusiond/ingest/retry"
)

// microphonePortAudio captures a sound card input through PortAudio.
var microphonePortAudio = register(&Spec{
	Modality: Microphone,
	Kind:     "portaudio",
	Doc:      "A sound card input through PortAudio; `fusiond devices` lists them. rate_hz and channels are asked of it.",
	Needs:    "PortAudio",
	WaitsInC: true,
	Keys: []Key{
		{Name: "device", Type: String, Default: "default", Doc: "default, a device index, or a name (exact, or a unique substring).",
			Valid: func(s string) string {
				if strings.TrimSpace(s) == "" {
					return "a device is needed (default, an index or a name)"
				}
				return ""
			}},
		{Name: "sample_format", Type: String, Default: "int16", OneOf: []string{string(mic.Int16), string(mic.Float32)}, Doc: "What the device delivers."},
		{Name: "latency", Type: Duration, Default: "0s", Min: "0s", Max: "10s", Doc: "Input latency asked of the device (0s: its default); capture times are arrival minus this, then sample counts."},
		{Name: "pace", Type: Bool, Default: "true", Doc: "Deliver no chunk before the clock reaches its end: holds back a device that reads faster than real time (ALSA's file plugin). A real microphone is never delayed."},
	},
	Present: func(v Values) error {
		devs, err := hardware.AudioInputs()
		if err != nil {
			return fmt.Errorf("cannot list audio inputs: %w", err)
		}
		_, err = hardware.PickAudioInput(devs, v.String("device"))
		return err
	},
	Open: func(e Entry, v Values, env Env) (Source, error) {
		a, err := mic.New(mic.Config{Stream: av.StreamID(e.Name), Device: v.String("device"), RateHz: e.RateHz, Channels: e.Channels,
			ChunkFrames: e.ChunkFrames(), Format: mic.SampleFormat(v.String("sample_format")), LatencyNS: int64(v.Duration("latency")),
			Pace: v.Bool("pace")}, env.Clock, env.Drops, env.log())
		if err != nil {
			return nil, err
		}
		return supervised(a, e.Name, env), nil
	},
	Drops: []av.DropReason{retry.DropDeviceError, mic.DropInputOverflow},
})
