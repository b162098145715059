// Package evalrun runs labelled inputs through the daemon's own stages
// for `fusiond eval` and `fusiond train`, and makes the synthetic eval
// scenes. It is no part of the daemon.
//
// An input is a media file (inputs.go: played through the daemon's file
// and media sources, merged by the time each sample would arrive live), an
// MCAP recording (replayed with its recorded config) or a synthetic scene
// (eval.go: a config of synthetic or wav sources under testdata/eval,
// sample by sample in arrival order). Env lends the daemon's stages and
// sources; cmd/fusiond fills it in, so this package imports no part of the
// daemon's wiring. Score runs an input audio-only, video-only and fused and
// scores the decisions with internal/evaluate; CollectSteps keeps the fusion
// head's input at every decision step, with the labels over it, for train.
//
// scenes.go draws the synthetic scenes (a disc moving in view, speech,
// tones and noise from one direction; every label follows from the scene's
// parameters); mix.go mixes the real-audio scenes' WAVs from Debian's
// recordings by their committed recipes. docs/DECISIONS.md describes the
// protocol.
package evalrun
