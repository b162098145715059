// Package evaluate scores fusiond's published decisions against labels.
//
// Labels are Audacity label tracks (labels.go): one segment a line,
// start<TAB>end<TAB>label, in seconds from the first sample of the
// recording or media file, so a user labels their own robot's audio in
// Audacity (File ▸ Export ▸ Export Labels) and evaluates or trains on it.
//
// Scoring (score.go) rebuilds each decision kind's state over time from the
// decisions a run published (a decision holds from its time_ns until the
// kind's next decision) on StepNS steps and compares it with the labels:
// precision, recall and F1 over time, decisions in state unknown counted as
// "no claim" (neither hit nor false alarm) and reported separately, labels
// whose sensing modality the input lacks skipped and counted, onset and end
// latency per labelled segment, and the fraction of time each kind is
// active and unknown. Report (report.go) sums runs per variant,
// configuration (audio-only, video-only, fused) and kind, as JSON
// (docs/DECISIONS.md describes the shape) or a text table.
//
// Manifest (manifest.go) reads the real-media benchmark's manifest.tsv.
package evaluate
