package main

import (
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
)

// audioFeatures returns the audio feature configuration of fuse.features for
// the (one) microphone, or nil when audio features are off or there is no
// microphone. A microphone with fewer channels than mic_positions (a mono
// microphone under the default stereo geometry) gets no bearing.
func audioFeatures(cfg *configs.Config) *fuse.AudioConfig {
	ft := cfg.Fuse.Features
	if !ft.Audio || len(cfg.Microphones) == 0 {
		return nil
	}
	mic := cfg.Microphones[0]
	ac := &fuse.AudioConfig{RateHz: mic.RateHz, Channels: mic.Channels}
	if len(ft.MicPositions) >= 2 && len(ft.MicPositions) <= mic.Channels {
		ac.DOA = fuse.DOAConfig{SpeedOfSound: ft.SpeedOfSound}
		for _, m := range ft.MicPositions {
			ac.DOA.Mics = append(ac.DOA.Mics, [2]float64{m.X, m.Y})
		}
	}
	return ac
}
