//go:build !nosensors

package mic_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/mic"
)

func ExampleMic_Run() {
	// The default PortAudio input, 16 kHz mono in 20 ms chunks. With no
	// sound card, point ALSA_CONFIG_PATH at testdata/alsa/asound.conf.
	m, err := mic.New(mic.Config{Stream: "mic0", Device: "default", RateHz: 16000, Channels: 1, ChunkFrames: 320,
		Format: mic.Int16, Frames: 16000}, av.NewRealClock(), av.NewDrops(), slog.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	q := av.NewQueue[av.Sample]("capture:mic0", 64, av.DropOldest, func(s av.Sample) { s.Release() })
	if err := m.Run(context.Background(), q, 0); err != nil {
		fmt.Println(err) // e.g. unknown device: no default input device; available: ...
		return
	}
	fmt.Println("captured chunks:", q.Len(), "overflows:", m.Overflows())
}
