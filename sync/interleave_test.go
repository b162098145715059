package sync

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestApproxAnyInterleavingSameSets is the determinism property for the
// approximate policy: with queues large enough that nothing is evicted,
// any interleaving of the streams that keeps each in order gives the same
// sets (ApproximateTime's sets depend on timestamps only).
func TestApproxAnyInterleavingSameSets(t *testing.T) {
	for _, sc := range ScenarioNames() {
		tr, _ := GenerateTrace(sc, 2, 4000)
		per := make([][]TraceEvent, tr.Streams)
		for _, ev := range tr.Events {
			per[ev.Stream] = append(per[ev.Stream], ev)
		}
		cfg := ApproxConfig{Streams: tr.Streams, QueueSize: 5000, AgePenalty: 0.1}
		want := ourSets(t, tr, cfg)
		for seed := range uint64(20) {
			rng := rand.New(rand.NewPCG(seed, 3))
			idx := make([]int, tr.Streams)
			mix := &Trace{Streams: tr.Streams}
			for len(mix.Events) < len(tr.Events) {
				s := rng.IntN(tr.Streams)
				if idx[s] < len(per[s]) {
					mix.Events = append(mix.Events, per[s][idx[s]])
					idx[s]++
				}
			}
			got := ourSets(t, mix, cfg)
			if !bytes.Equal(got, want) {
				t.Errorf("%s seed %d: %s", sc, seed, firstDiff(want, got))
				break
			}
		}
	}
}
