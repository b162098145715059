// Package plot draws fusiond's figures on gonum.org/v1/plot: the timeline
// of a recording that `fusiond plot` writes (a lane per stream with its
// samples, gaps and sequence jumps, the bundles the synchroniser formed,
// the cumulative drop count, and each decision kind's confidence with the
// spans where it was active or unknown shaded), and the line figures of
// `fusiond bench e2e` (latency CDF, CPU scaling).
//
// Every figure is written as SVG, PNG or PDF (FormatOf picks one from a
// file name). The data transforms behind the figures (seconds from an
// origin without int64 overflow, sample runs split at gaps, state spans,
// CDF points) are plain functions with known-answer tests; input that
// cannot be drawn (nothing at all, non-finite values) is an error or is
// left out, never a loop over an unbounded pixel range.
package plot
