package source

import (
	"fmt"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// microphoneSynthetic plays scheduled tone, noise and speech-like bursts
// (ingest/synthetic): the built-in default microphone. Open returns the
// *synthetic.Audio itself.
var microphoneSynthetic = register(&Spec{
	Modality: Microphone,
	Kind:     "synthetic",
	Doc:      "Scheduled tone, noise and speech-like bursts over background noise, deterministic from a seed.",
	Keys: []Key{
		{Name: "synthetic.seed", Type: Int, Default: "2", Min: "0", Doc: "Seed of the noise and the speech-like bursts."},
		{Name: "synthetic.noise_dbfs", Type: Float, Default: "-60", Max: "0", Unit: "dBFS", Doc: "Independent background noise per channel, RMS (-120: none)."},
		{Name: "synthetic.channel_delay", Type: Duration, Default: "250us", Min: "-10ms", Max: "10ms", Doc: "Channel c hears the sound c × this later: a direction (the default puts it at about -59° under the default geometry)."},
		{Name: "synthetic.period", Type: Duration, Default: "10s", Min: "0s", Doc: "The event schedule repeats with this period (0s: it plays once)."},
		{Name: "synthetic.events", Type: List, Doc: "The scheduled sounds.",
			Default: "[{kind: speech, at: 1s, duration: 2500ms, freq_hz: 140, level_dbfs: -14}, {kind: tone, at: 4500ms, duration: 1s, freq_hz: 880, level_dbfs: -18}, {kind: noise, at: 7s, duration: 400ms, freq_hz: 0, level_dbfs: -10}]",
			Fields: []Key{
				{Name: "kind", Type: String, Required: true, OneOf: []string{synthetic.KindTone, synthetic.KindNoise, synthetic.KindSpeech}, Doc: "What sounds."},
				{Name: "at", Type: Duration, Default: "0s", Min: "0s", Doc: "Start, from the start of each period."},
				{Name: "duration", Type: Duration, Required: true, Min: "1ns", Doc: "How long it sounds."},
				{Name: "freq_hz", Type: Float, Default: "0", Min: "0", Unit: "Hz", Doc: "A tone's frequency or speech's f0 (0: 140 Hz); noise ignores it."},
				{Name: "level_dbfs", Type: Float, Default: "0", Max: "0", Unit: "dBFS", Doc: "Peak level."},
			}},
	},
	Check: func(v Values) []Problem {
		var out []Problem
		period := v.Duration("synthetic.period")
		for j, ev := range v.List("synthetic.events") {
			if end := ev.Duration("at") + ev.Duration("duration"); period > 0 && end > period {
				out = append(out, Problem{Key: "synthetic.events", Msg: fmt.Sprintf("entry %d ends at %v, after the period %v", j, end, period)})
			}
		}
		return out
	},
	Open: func(e Entry, v Values, env Env) (Source, error) {
		var events []synthetic.AudioEvent
		for _, ev := range v.List("synthetic.events") {
			events = append(events, synthetic.AudioEvent{Kind: ev.String("kind"), At: ev.Duration("at"), Duration: ev.Duration("duration"),
				FreqHz: ev.Float("freq_hz"), LevelDBFS: ev.Float("level_dbfs")})
		}
		return synthetic.NewAudio(synthetic.AudioConfig{
			Stream: av.StreamID(e.Name), RateHz: e.RateHz, Channels: e.Channels, ChunkFrames: e.ChunkFrames(),
			Seed:         uint64(v.Int("synthetic.seed")),
			NoiseDBFS:    v.Float("synthetic.noise_dbfs"),
			ChannelDelay: v.Duration("synthetic.channel_delay"),
			Period:       v.Duration("synthetic.period"),
			Events:       events,
		}, env.Clock)
	},
})
